//! The crate's layers, checked: every `crate::` path in the library's code (not in
//! comments, not in `#[cfg(test)]` modules) must point to a lower layer, or to a file of
//! the same folder; and no files may form an import cycle. The table is the one in the
//! crate docs (`src/lib.rs`, "# Layers"); a change to one must be made to the other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each layer and the top-level modules in it, lowest first. A file may use any module
/// of a lower layer, and files of its own folder (without cycles).
const LAYERS: &[(&str, &[&str])] = &[
    ("error", &["error"]),
    ("sys", &["sys"]),
    ("core", &["core"]),
    ("kafka", &["kafka"]),
    ("lab", &["lab"]),
    ("views", &["views"]),
    ("settings", &["settings"]),
    ("notebook", &["notebook"]),
];

/// Edges that still break the rule, with the reason each is left: the list may only
/// shrink. A listed edge that no longer exists fails the test, so it is removed when
/// fixed.
const KNOWN: &[(&str, &str)] = &[];

/// The library's modules, as `a::b` paths, with their source files.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(src).unwrap().to_path_buf();
            if rel.starts_with("bin") {
                continue; // programs sit above every layer
            }
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || rel == Path::new("lib.rs") {
                continue;
            }
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let file = parts.pop().unwrap();
            if file != "mod.rs" {
                parts.push(file.trim_end_matches(".rs").to_string());
            }
            out.insert(parts.join("::"), path);
        }
    }
    out
}

/// The code of a file without comment lines and without its `#[cfg(test)]` modules
/// (which, in this crate, close every file).
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod "))
        {
            break;
        }
        if line.trim_start().starts_with("//") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Every path after `crate::` in `code`, with `{a, b::c}` groups spread out.
fn crate_paths(code: &str) -> Vec<String> {
    paths_after(code, "crate::", "")
}

/// Every path in the code of module `module` (`a::b`), as a path from the crate's root:
/// `crate::` paths as they are, `self::` and `super::` paths resolved against the module
/// (a folder's `mod.rs` is the folder's module, so its `super::` is the folder's parent).
fn module_paths(code: &str, module: &str) -> Vec<String> {
    let parts: Vec<&str> = module.split("::").collect();
    let here = parts.join("::");
    let parent = parts[..parts.len() - 1].join("::");
    let prefix = |p: &str| {
        if p.is_empty() {
            String::new()
        } else {
            format!("{p}::")
        }
    };
    let mut out = crate_paths(code);
    out.extend(paths_after(code, "self::", &prefix(&here)));
    out.extend(paths_after(code, "super::", &prefix(&parent)));
    out
}

/// Every path after `marker` in `code` (not inside a longer name), prefixed with
/// `prefix`, with `{a, b::c}` groups spread out.
fn paths_after(code: &str, marker: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(marker) {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + marker.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':') {
            continue; // `$crate::`, `super::super::`, or a longer name
        }
        spread(prefix, rest, &mut out);
    }
    out
}

/// Reads the path at the start of `s` (after `prefix`), spreading a `{...}` group.
fn spread(prefix: &str, s: &str, out: &mut Vec<String>) {
    let s = s.trim_start();
    if let Some(group) = s.strip_prefix('{') {
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    spread(prefix, &group[start..i], out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    spread(prefix, &group[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(s.len());
    let path = &s[..end];
    let full = format!("{prefix}{path}");
    if path.ends_with("::") && s[end..].starts_with('{') {
        spread(&full, &s[end..], out);
    } else if !full.is_empty() {
        out.push(full.trim_end_matches("::").to_string());
    }
}

/// The module a path points into: its longest prefix that is a module.
fn module_of(path: &str, modules: &BTreeMap<String, PathBuf>) -> Option<String> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find(|m| modules.contains_key(m))
}

/// The layer of a module (its index in [`LAYERS`]).
fn layer(module: &str) -> usize {
    let top = module.split("::").next().unwrap();
    LAYERS
        .iter()
        .position(|(_, tops)| tops.contains(&top))
        .unwrap_or_else(|| panic!("module `{module}` is in no layer: add it to LAYERS"))
}

/// Every module-to-module edge of the library's code.
fn edges() -> BTreeSet<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = modules(&src);
    let mut out = BTreeSet::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).unwrap();
        for path in module_paths(&code(&text), module) {
            if let Some(to) = module_of(&path, &modules) {
                if &to != module {
                    out.insert((module.clone(), to));
                }
            }
        }
    }
    out
}

/// A cycle among `edges`, if there is one, as the list of modules on it.
fn find_cycle(edges: &BTreeSet<(String, String)>) -> Option<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges {
        next.entry(a).or_default().push(b);
    }
    // Depth-first search with three colours: 0 unseen, 1 on the path, 2 done.
    fn visit<'a>(
        n: &'a str,
        next: &BTreeMap<&'a str, Vec<&'a str>>,
        colour: &mut BTreeMap<&'a str, u8>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        colour.insert(n, 1);
        path.push(n);
        for &m in next.get(n).map(Vec::as_slice).unwrap_or(&[]) {
            match colour.get(m).copied().unwrap_or(0) {
                1 => {
                    let from = path.iter().position(|p| *p == m).unwrap();
                    let mut cycle: Vec<String> =
                        path[from..].iter().map(|s| s.to_string()).collect();
                    cycle.push(m.to_string());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(m, next, colour, path) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        colour.insert(n, 2);
        None
    }
    let mut colour = BTreeMap::new();
    let starts: Vec<&str> = next.keys().copied().collect();
    for n in starts {
        if colour.get(n).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(n, &next, &mut colour, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn every_module_uses_only_lower_layers() {
    let edges = edges();
    assert!(edges.len() > 50, "too few edges found: {edges:?}");
    let known: BTreeSet<(String, String)> = KNOWN
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let wrong: Vec<String> = edges
        .iter()
        .filter(|(a, b)| a.split("::").next() != b.split("::").next() && layer(b) >= layer(a))
        .filter(|e| !known.contains(e))
        .map(|(a, b)| format!("{a} -> {b}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "these modules use a layer at or above their own (see the table in src/lib.rs): {wrong:#?}"
    );
    let stale: Vec<_> = known.difference(&edges).collect();
    assert!(stale.is_empty(), "fixed, remove from KNOWN: {stale:?}");
}

#[test]
fn no_files_form_an_import_cycle() {
    // A known wrong-way edge of KNOWN would close a cycle through the layers above; the
    // rest must have none.
    let mut edges = edges();
    for (a, b) in KNOWN {
        edges.remove(&(a.to_string(), b.to_string()));
    }
    if let Some(cycle) = find_cycle(&edges) {
        panic!("an import cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_parser_reads_groups_and_skips_comments_and_tests() {
    let text = "use crate::core::{config::X, window::{A, B}};\n\
                // crate::views::html\n\
                fn f() { crate::sys::lock(&m); let y = $crate::x; }\n\
                #[cfg(test)]\nmod tests { use crate::notebook; }\n";
    let paths = crate_paths(&code(text));
    assert_eq!(
        paths,
        [
            "core::config::X",
            "core::window::A",
            "core::window::B",
            "sys::lock"
        ]
    );
    let e: BTreeSet<(String, String)> = [("a", "b"), ("b", "c"), ("c", "a")]
        .iter()
        .map(|(x, y)| (x.to_string(), y.to_string()))
        .collect();
    assert_eq!(find_cycle(&e).unwrap(), ["a", "b", "c", "a"]);
    // `self::` and `super::` are paths too, resolved against the module.
    let text = "use super::Shared;\nuse self::read_loop::run;\n";
    assert_eq!(
        module_paths(text, "kafka::consumer::counting"),
        [
            "kafka::consumer::counting::read_loop::run",
            "kafka::consumer::Shared"
        ]
    );
}
