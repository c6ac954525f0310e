//! Text for standard output: every line we print from stream data goes through [`line()`].
//!
//! A notebook cell's standard output is not only text. evcxr reads it line by line and
//! treats any line that contains `EVCXR_BEGIN_CONTENT <mime>` as the start of rich output
//! (HTML, JavaScript...) that lasts until a line `EVCXR_END_CONTENT`; other lines that
//! start with `EVCXR_` steer the kernel too (panics, input requests). So a hashtag printed
//! raw could put the sender's HTML and script into the Jupyter page, and in a terminal an
//! escape character could rewrite the screen. [`line()`] makes any text one harmless line:
//!
//! * control characters (C0, DEL, C1) and Unicode direction controls become visible
//!   escapes (`\n`, `\u{1b}`, `\u{202e}`): the text stays on one line and shows what it
//!   holds;
//! * every `EVCXR_` becomes `EVCXR\_`, which evcxr does not recognise.
//!
//! The decoder already rejects such hashtags ([`crate::core::event::Rejection`]); this is
//! the second wall, for anything else that reaches a print: error messages, names in a
//! configuration, data from a future decoder.

use std::fmt::Write as _;

/// The prefix of every marker of evcxr's output protocol.
const EVCXR_MARKER: &str = "EVCXR_";

/// What replaces [`EVCXR_MARKER`] in printed text.
const EVCXR_NEUTRAL: &str = "EVCXR\\_";

/// `text` as one line that is safe to print on a notebook's or a terminal's standard
/// output (no line break, no control character, no evcxr marker). Text without any of
/// these comes back unchanged.
pub fn line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || crate::core::event::is_bidi_control(c) {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                _ => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
            }
        } else {
            out.push(c);
        }
    }
    if out.contains(EVCXR_MARKER) {
        out = out.replace(EVCXR_MARKER, EVCXR_NEUTRAL);
    }
    out
}

/// Writes `text` to `out` as one safe line (see [`line()`]), followed by a newline.
pub fn write_line(out: &mut impl std::io::Write, text: &str) -> std::io::Result<()> {
    writeln!(out, "{}", line(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_becomes_one_harmless_line() {
        let cases = [
            ("#Spark 12  #IA 3", "#Spark 12  #IA 3"),
            (
                "#x\nEVCXR_BEGIN_CONTENT text/html\n<img src=x>\nEVCXR_END_CONTENT",
                "#x\\nEVCXR\\_BEGIN_CONTENT text/html\\n<img src=x>\\nEVCXR\\_END_CONTENT",
            ),
            ("EVCXR_END_CONTENT", "EVCXR\\_END_CONTENT"),
            (
                "a #EVCXR_BEGIN_CONTENT text/html b",
                "a #EVCXR\\_BEGIN_CONTENT text/html b",
            ),
            (
                "\u{1b}[2J\r\t\u{7f}\u{85}",
                "\\u{1b}[2J\\r\\t\\u{7f}\\u{85}",
            ),
            ("#\u{202e}krapS\u{2069}", "#\\u{202e}krapS\\u{2069}"),
            ("EVCXR\n_X", "EVCXR\\n_X"),
            ("#مرحبا 🚀", "#مرحبا 🚀"),
        ];
        for (raw, want) in cases {
            assert_eq!(line(raw), want, "{raw:?}");
        }
        let mut out = Vec::new();
        write_line(&mut out, "a\nb").unwrap();
        assert_eq!(out, b"a\\nb\n");
    }
}
