//! The fuzz corpora (issue 10, item 10), replayed by every `cargo test`: each committed
//! input of `fuzz/corpus/<target>/` goes through the same oracle as `cargo fuzz run
//! <target>` (`fuzz/checks.rs`), turned from bytes into the target's input the way
//! libFuzzer's `arbitrary` does. Fuzzing itself (new inputs) is `fuzz/smoke.sh`, on demand.

use std::path::PathBuf;

use arbitrary::{Arbitrary, Unstructured};

#[allow(dead_code)] // the fuzz targets' copy uses one check each
#[path = "../../fuzz/checks.rs"]
mod checks;

/// Every input of one target's corpus.
fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|f| std::fs::read(f.unwrap().path()).unwrap())
        .collect();
    assert!(inputs.len() > 100, "{target}: only {} inputs", inputs.len());
    inputs.sort();
    inputs
}

/// Bytes as libFuzzer hands them to a target taking `T`.
fn take<'a, T: Arbitrary<'a>>(bytes: &'a [u8]) -> Option<T> {
    T::arbitrary_take_rest(Unstructured::new(bytes)).ok()
}

#[test]
fn the_decode_corpus_passes_its_oracle() {
    for input in corpus("decode") {
        checks::check_decode(&input);
    }
}

#[test]
fn the_console_line_corpus_passes_its_oracle() {
    for input in corpus("console_line") {
        if let Some(text) = take::<&str>(&input) {
            checks::check_console_line(text);
        }
    }
}

#[test]
fn the_html_escape_corpus_passes_its_oracle() {
    for input in corpus("html_escape") {
        if let Some(text) = take::<&str>(&input) {
            checks::check_html_escape(text);
        }
    }
}

#[test]
fn the_dashboard_corpus_passes_its_oracle() {
    let mut rendered = 0;
    for input in corpus("dashboard") {
        if let Some(tags) = take::<Vec<String>>(&input) {
            checks::check_dashboard(tags);
            rendered += 1;
        }
    }
    assert!(rendered > 100, "only {rendered} corpus inputs decoded");
}
