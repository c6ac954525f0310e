//! Finding our helper programs (`broker`, `producer`, ...), building them once if absent.
//!
//! Reads four environment variables of its own, each a path or a switch about programs
//! (never about the stream): `HELPERS_BIN_DIR`, `HELPERS_NO_BUILD`, and cargo's own
//! `CARGO_TARGET_DIR` and `CARGO`. [`crate::settings::Environment`] lists them with the
//! other settings, under the same names.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::sys::{lock, validate_name};

/// The directory of the `helpers` crate (where `cargo build` can rebuild the binaries).
pub(crate) fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Only one build of the binaries at a time in this process.
static BUILD_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Finds the helper binary `name` (`broker`, `producer`, ...), building it once if absent.
///
/// Looks in `HELPERS_BIN_DIR`, next to the running program (and its parent: where test
/// binaries live), then in the crate's `target/release` and `target/debug`. If none has it,
/// runs `cargo build --release --bins` once (a few minutes the first time) and says so on
/// stderr.
pub fn binary(name: &str) -> Result<PathBuf> {
    let cargo = path_var("CARGO");
    find_binary(
        name,
        &search_dirs(),
        !switch_var("HELPERS_NO_BUILD"),
        cargo.as_deref(),
    )
}

/// A path from the environment variable `name` (unset or empty: `None`), kept as the OS
/// gave it (not made UTF-8).
fn path_var(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// A switch from the environment variable `name`, read as clap reads a flag's variable:
/// unset, empty, `0`, `false`, `f`, `no`, `n` and `off` (any case) are off, anything else on.
fn switch_var(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| {
        let v = v.to_string_lossy().trim().to_ascii_lowercase();
        !["", "0", "false", "f", "no", "n", "off"].contains(&v.as_str())
    })
}

/// Where [`binary`] looks, in order.
pub(crate) fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = path_var("HELPERS_BIN_DIR") {
        dirs.push(dir);
    }
    // Next to the running program, when it is itself a build product (a test or one of
    // our binaries): never an unrelated folder like ~/.cargo/bin.
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            let named = |d: &Path, n: &[&str]| {
                d.file_name()
                    .and_then(|f| f.to_str())
                    .is_some_and(|f| n.contains(&f))
            };
            if named(dir, &["debug", "release"]) {
                dirs.push(dir.to_path_buf());
            } else if named(dir, &["deps"]) {
                if let Some(up) = dir.parent() {
                    dirs.push(up.to_path_buf());
                }
            }
        }
    }
    let target = path_var("CARGO_TARGET_DIR").unwrap_or_else(|| crate_dir().join("target"));
    dirs.push(target.join("release"));
    dirs.push(target.join("debug"));
    dirs
}

/// Finds `name` in `dirs`; if absent and `build`, builds the binaries once (release).
pub fn find_binary(
    name: &str,
    dirs: &[PathBuf],
    build: bool,
    cargo: Option<&Path>,
) -> Result<PathBuf> {
    validate_name("binary", name)?;
    let find = |dirs: &[PathBuf]| dirs.iter().map(|d| d.join(name)).find(|p| p.is_file());
    if let Some(p) = find(dirs) {
        return Ok(p);
    }
    if !build {
        return Err(Error::MissingBinary {
            name: name.into(),
            hint: format!(
                "it is not built; run `cargo build --bins` in {}",
                crate_dir().display()
            ),
        });
    }
    let _guard = lock(&BUILD_LOCK);
    if let Some(p) = find(dirs) {
        return Ok(p);
    }
    eprintln!(
        "helpers: the `{name}` program is not built yet; building the helper programs \
         (cargo build --release --bins). The first time takes a few minutes..."
    );
    let out = Command::new(cargo.unwrap_or(Path::new("cargo")))
        .args(["build", "--release", "--bins", "--manifest-path"])
        .arg(crate_dir().join("Cargo.toml"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| Error::MissingBinary {
            name: name.into(),
            hint: format!("running cargo failed ({e}); install Rust from rustup.rs"),
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        return Err(Error::MissingBinary {
            name: name.into(),
            hint: format!(
                "`cargo build --release --bins` in {} failed: {}",
                crate_dir().display(),
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ),
        });
    }
    find(dirs).ok_or_else(|| Error::MissingBinary {
        name: name.into(),
        hint: "the build succeeded but the program is not in target/release".into(),
    })
}
