//! The dashboard (Polars table as HTML, plotters bar and trend charts as SVG) with
//! arbitrary hashtags, straight into the window engine (past the decoder, as if it let
//! anything through): no `<` of a hashtag reaches the markup unescaped.
//!
//! The oracle is differential: the same stream with every `<` (and the other characters
//! HTML cares about) of every hashtag swapped for a distinct private-use character must
//! give markup with as many `<` as the original. An unescaped `<` from a hashtag would add
//! one.
#![no_main]

use std::time::Duration;

use helpers::core::config::WindowConfig;
use helpers::core::event::Event;
use helpers::core::time::Timestamp;
use helpers::core::window::WindowEngine;
use helpers::views::dashboard::dashboard;
use libfuzzer_sys::fuzz_target;

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

fuzz_target!(|tags: Vec<String>| {
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
});
