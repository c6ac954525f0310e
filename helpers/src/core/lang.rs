//! The language the views write their labels in: table headers and captions, chart titles
//! and axes, statuses and verdicts. English by default; a lesson's first cell sets its
//! own (`set_language("es")`), so a Spanish class reads its outputs in Spanish. Data from
//! the stream (hashtags, users, texts) and the names that map onto Spark's (`input_rows`,
//! `late_groups`) are never translated.
//!
//! One setting for the whole kernel process, kept in its environment (`STREAM_DEMO_LANG`):
//! evcxr links each cell with its own copy of this crate's statics, so a static set by the
//! first cell would not be seen by the next ones, while the process's environment is one.
//! The same variable set before Jupyter starts picks the language too.

use std::cell::Cell;

use crate::error::{Error, Result};

/// A language the labels exist in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English (the default).
    #[default]
    En,
    /// Spanish.
    Es,
}

/// The environment variable that holds the kernel's language (`en` or `es`).
pub const LANG_VAR: &str = "STREAM_DEMO_LANG";

thread_local! {
    /// A language for this thread only (see [`with`]).
    static OVERRIDE: Cell<Option<Lang>> = const { Cell::new(None) };
}

impl std::str::FromStr for Lang {
    type Err = Error;
    fn from_str(s: &str) -> Result<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" | "english" => Ok(Lang::En),
            "es" | "spanish" | "español" | "espanol" => Ok(Lang::Es),
            _ => Err(Error::config("language", s, "use \"en\" or \"es\"")),
        }
    }
}

/// Sets the labels' language for this kernel (its process).
pub fn set(lang: Lang) {
    let code = match lang {
        Lang::En => "en",
        Lang::Es => "es",
    };
    std::env::set_var(LANG_VAR, code);
}

/// The labels' language now: this thread's (inside [`with`]), else the kernel's.
pub fn current() -> Lang {
    OVERRIDE.with(Cell::get).unwrap_or_else(|| {
        std::env::var(LANG_VAR)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_default()
    })
}

/// Runs `f` with the labels in `lang` on this thread only (the tests use it: they run in
/// parallel, and one test's language must not leak into another's).
pub fn with<T>(lang: Lang, f: impl FnOnce() -> T) -> T {
    let before = OVERRIDE.with(|o| o.replace(Some(lang)));
    let out = f();
    OVERRIDE.with(|o| o.set(before));
    out
}

/// `en` or `es`, whichever the labels' language is now.
pub fn tr<'a>(en: &'a str, es: &'a str) -> &'a str {
    match current() {
        Lang::En => en,
        Lang::Es => es,
    }
}

/// A yes-or-no answer in the labels' language.
pub fn yes_no(b: bool) -> &'static str {
    if b {
        tr("yes", "sí")
    } else {
        "no"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_s_language_stays_on_that_thread() {
        assert_eq!("es".parse::<Lang>().unwrap(), Lang::Es);
        assert_eq!(" English ".parse::<Lang>().unwrap(), Lang::En);
        assert!("fr".parse::<Lang>().is_err());
        let inside = with(Lang::Es, || {
            let other = std::thread::spawn(current).join().unwrap();
            (tr("window", "ventana"), yes_no(true), other)
        });
        // The other thread reads the kernel's language (English here: no test sets it).
        assert_eq!(inside, ("ventana", "sí", Lang::En));
        assert_eq!(tr("window", "ventana"), "window");
    }
}
