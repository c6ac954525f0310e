//! The fuzz targets' oracles, shared by the targets (`fuzz_targets/*.rs`) and by the
//! normal test that replays the committed corpora (`tests/it/fuzz_corpora.rs`), so every
//! `cargo test` checks every corpus input without building libFuzzer.

use std::time::Duration;

use helpers::core::config::WindowConfig;
use helpers::core::event::{decode, Event, MAX_HASHTAG_BYTES};
use helpers::core::time::Timestamp;
use helpers::core::window::WindowEngine;
use helpers::views::console::line;
use helpers::views::dashboard::dashboard;
use helpers::views::html::escape;

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The decoder never panics, and what it accepts is what the rest of the pipeline relies
/// on: a non-empty hashtag of bounded length with no control, direction or invisible
/// character, no field holding evcxr's marker, and a finite timestamp between 1970 and 2100.
pub fn check_decode(data: &[u8]) {
    if let Ok(event) = decode(data) {
        let tag = &event.hashtag_principal;
        assert!(!tag.trim().is_empty());
        assert!(tag.len() <= MAX_HASHTAG_BYTES);
        assert!(!tag.chars().any(char::is_control), "{tag:?}");
        assert!(!tag.chars().any(is_bidi), "{tag:?}");
        assert!(
            !tag.chars().any(helpers::core::event::is_invisible),
            "{tag:?}"
        );
        for text in [&event.hashtag_principal, &event.usuario, &event.texto] {
            assert!(!helpers::core::event::has_evcxr_marker(text), "{text:?}");
        }
        assert!(event.timestamp.is_finite());
        assert!((0.0..=4_102_444_800.0).contains(&event.timestamp));
    }
}

/// `views::console::line` turns any text into one line that evcxr's output protocol and
/// a terminal take as plain text, and leaves harmless text alone.
pub fn check_console_line(text: &str) {
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
}

/// `views::html::escape` leaves no character that could open a tag, end an attribute or
/// start an entity, and loses nothing (unescaping gives the input back).
pub fn check_html_escape(text: &str) {
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
}

/// The markup of the dashboard after one trigger over `tags` (one event per tag, in order).
fn render(tags: &[String]) -> String {
    let mut engine = WindowEngine::new(WindowConfig::tumbling(Duration::from_secs(60))).unwrap();
    let t0 = 1_733_940_000.0;
    for (i, tag) in tags.iter().enumerate() {
        let ts = t0 + i as f64;
        let event = Event {
            usuario: "@u".into(),
            texto: "".into(),
            hashtag_principal: tag.as_str().into(),
            timestamp: ts,
        };
        engine.ingest(&event, Timestamp::from_secs_f64(ts));
    }
    let snap = engine.tick(Timestamp::from_secs_f64(t0 + tags.len() as f64));
    dashboard(&snap, Duration::from_secs(60)).unwrap().markup
}

/// The dashboard (Polars table as HTML, plotters bar and trend charts as SVG) with
/// arbitrary hashtags, straight into the window engine (past the decoder, as if it let
/// anything through): no `<` of a hashtag reaches the markup unescaped.
///
/// The oracle is differential: the same stream with every `<` (and the other characters
/// HTML cares about) of every hashtag swapped for a distinct private-use character must
/// give markup with as many `<` as the original. An unescaped `<` from a hashtag would add
/// one.
pub fn check_dashboard(tags: Vec<String>) {
    let tags: Vec<String> = tags
        .into_iter()
        .filter(|t| !t.trim().is_empty())
        .take(24)
        .collect();
    // Tags that already hold the stand-ins would make the swap lose distinctions.
    if tags.is_empty()
        || tags
            .iter()
            .any(|t| t.chars().any(|c| ('\u{E000}'..='\u{E004}').contains(&c)))
    {
        return;
    }
    let defused: Vec<String> = tags
        .iter()
        .map(|t| {
            t.chars()
                .map(|c| match c {
                    '<' => '\u{E000}',
                    '>' => '\u{E001}',
                    '&' => '\u{E002}',
                    '"' => '\u{E003}',
                    '\'' => '\u{E004}',
                    c => c,
                })
                .collect()
        })
        .collect();
    let (markup, reference) = (render(&tags), render(&defused));
    assert_eq!(
        markup.matches('<').count(),
        reference.matches('<').count(),
        "a hashtag's `<` reached the markup unescaped: {tags:?}"
    );
}
