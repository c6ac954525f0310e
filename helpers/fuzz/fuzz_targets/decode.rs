//! The decoder never panics, and what it accepts is what the rest of the pipeline relies
//! on: a non-empty hashtag of bounded length with no control or direction character, and
//! a finite timestamp between 1970 and 2100.
//! The oracle is in `checks.rs`, shared with the corpus replay test.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)] // each target uses one of the checks
#[path = "../checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::check_decode(data));
