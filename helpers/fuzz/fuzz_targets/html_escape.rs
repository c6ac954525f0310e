//! `views::html::escape` leaves no character that could open a tag, end an attribute or
//! start an entity, and loses nothing (unescaping gives the input back).
//! The oracle is in `checks.rs`, shared with the corpus replay test.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)] // each target uses one of the checks
#[path = "../checks.rs"]
mod checks;

fuzz_target!(|text: &str| checks::check_html_escape(text));
