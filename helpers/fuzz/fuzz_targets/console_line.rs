//! `views::console::line` turns any text into one line that evcxr's output protocol and a
//! terminal take as plain text, and leaves harmless text alone.
#![no_main]

use helpers::views::console::line;
use libfuzzer_sys::fuzz_target;

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fuzz_target!(|text: &str| {
    let out = line(text);
    assert!(!out.contains('\n') && !out.contains('\r'), "{out:?}");
    assert!(
        !out.chars().any(|c| c.is_control() || is_bidi(c)),
        "{out:?}"
    );
    assert!(!out.contains("EVCXR_"), "{out:?}");
    let harmless = !text.chars().any(|c| c.is_control() || is_bidi(c)) && !text.contains("EVCXR_");
    if harmless {
        assert_eq!(out, text);
    }
});
