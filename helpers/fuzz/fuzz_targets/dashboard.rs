//! The dashboard (Polars table as HTML, plotters bar and trend charts as SVG) with
//! arbitrary hashtags, straight into the window engine (past the decoder, as if it let
//! anything through): no `<` of a hashtag reaches the markup unescaped.
//!
//! The oracle is differential: the same stream with every `<` (and the other characters
//! HTML cares about) of every hashtag swapped for a distinct private-use character must
//! give markup with as many `<` as the original. An unescaped `<` from a hashtag would add
//! one.
//! The oracle is in `checks.rs`, shared with the corpus replay test.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)] // each target uses one of the checks
#[path = "../checks.rs"]
mod checks;

fuzz_target!(|tags: Vec<String>| checks::check_dashboard(tags));
