//! `views::console::line` turns any text into one line that evcxr's output protocol and a
//! terminal take as plain text, and leaves harmless text alone.
//! The oracle is in `checks.rs`, shared with the corpus replay test.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)] // each target uses one of the checks
#[path = "../checks.rs"]
mod checks;

fuzz_target!(|text: &str| checks::check_console_line(text));
