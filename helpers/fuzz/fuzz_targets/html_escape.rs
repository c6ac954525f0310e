//! `views::html::escape` leaves no character that could open a tag, end an attribute or
//! start an entity, and loses nothing (unescaping gives the input back).
#![no_main]

use helpers::views::html::escape;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let out = escape(text);
    assert!(!out.contains(['<', '>', '"', '\'']), "{out:?}");
    // Every `&` starts one of the five entities we write.
    let mut rest = out.as_str();
    while let Some(i) = rest.find('&') {
        rest = &rest[i..];
        let known = ["&lt;", "&gt;", "&amp;", "&quot;", "&#39;"]
            .iter()
            .find(|e| rest.starts_with(**e))
            .unwrap_or_else(|| panic!("stray & in {out:?}"));
        rest = &rest[known.len()..];
    }
    let back = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    assert_eq!(back, text);
});
