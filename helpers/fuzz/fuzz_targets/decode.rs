//! The decoder never panics, and what it accepts is what the rest of the pipeline relies
//! on: a non-empty hashtag of bounded length with no control or direction character, and
//! a finite timestamp between 1970 and 2100.
#![no_main]

use helpers::core::event::{decode, MAX_HASHTAG_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = decode(data) {
        let tag = &event.hashtag_principal;
        assert!(!tag.trim().is_empty());
        assert!(tag.len() <= MAX_HASHTAG_BYTES);
        assert!(!tag.chars().any(char::is_control), "{tag:?}");
        assert!(
            !tag.chars()
                .any(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')),
            "{tag:?}"
        );
        assert!(event.timestamp.is_finite());
        assert!((0.0..=4_102_444_800.0).contains(&event.timestamp));
    }
});
