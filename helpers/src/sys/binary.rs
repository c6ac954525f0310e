//! Finding our helper programs (`broker`, `producer`, ...), building them once if absent.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::kafka::client::validate_name;
use crate::settings::Environment;
use crate::sys::lock;

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
    let env = Environment::current();
    find_binary(
        name,
        &search_dirs(&env),
        !env.no_build,
        env.cargo.as_deref(),
    )
}

/// Where [`binary`] looks, in order.
pub(crate) fn search_dirs(env: &Environment) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = &env.bin_dir {
        dirs.push(dir.clone());
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
    let target = env
        .cargo_target_dir
        .clone()
        .unwrap_or_else(|| crate_dir().join("target"));
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
