//! The state directory: where the running pieces publish their addresses, pids, stats
//! and logs (`<tmp>/streaming-demo-<uid>`, or `STREAM_DEMO_DIR`), and how files there are
//! read and written.
//!
//! `/tmp` is shared by every user of the machine, so nothing found there is trusted as
//! is: the directory is created private (mode 0700), and one that is not a directory of
//! ours that only we can write is refused with a sentence saying what to do ([`check_dir`]).
//! Files in it are opened without following symbolic links (a link planted in the
//! directory could otherwise make us append our log to, or read an address from, a file
//! we never meant), and written whole through a fresh temporary file and a rename, so a
//! reader never sees half of one.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where the running pieces publish their addresses, pids, stats and logs.
///
/// `STREAM_DEMO_DIR` if set, else `<tmp>/streaming-demo-<uid>`.
/// This layer reads that one variable itself, as the OS gave it (not made UTF-8);
/// [`crate::settings::Environment`] lists it with the other settings.
pub fn default_state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("STREAM_DEMO_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    std::env::temp_dir().join(format!("streaming-demo-{}", uid()))
}

/// Our user id.
fn uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// Creates `dir` if needed (its parents as usual, `dir` itself with mode 0700), then
/// checks it can be trusted ([`check_dir`]).
pub(crate) fn ensure_dir(dir: &Path) -> Result<()> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)
            .map_err(|e| Error::io("cannot create the state directory", dir, e))?;
    }
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io("cannot create the state directory", dir, e)),
    }
    check_dir(dir)
}

/// Checks that `dir` is a directory (not a symbolic link), owned by us, and not writable
/// by group or others: only then may what we find in it be believed.
pub fn check_dir(dir: &Path) -> Result<()> {
    let md = fs::symlink_metadata(dir)
        .map_err(|e| Error::io("cannot read the state directory", dir, e))?;
    let problem = if md.file_type().is_symlink() {
        "it is a symbolic link".to_string()
    } else if !md.is_dir() {
        "it is not a directory".to_string()
    } else if md.uid() != uid() {
        format!(
            "it belongs to another user (uid {}, you are {})",
            md.uid(),
            uid()
        )
    } else if md.mode() & 0o022 != 0 {
        format!(
            "other users can write to it (mode {:o}); `chmod 700` it if it is yours",
            md.mode() & 0o7777
        )
    } else {
        return Ok(());
    };
    Err(Error::UnsafeStateDir {
        path: dir.to_path_buf(),
        problem,
    })
}

/// Opens `path` for reading without following a symbolic link.
pub(crate) fn open_nofollow(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Reads a whole file of the state directory, refusing a symbolic link.
pub(crate) fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    std::io::Read::read_to_end(&mut open_nofollow(path)?, &mut buf)?;
    Ok(buf)
}

/// Reads a file of the state directory `dir` (by `name`) if the directory can be trusted
/// ([`check_dir`]); `None` if not, or if the file is absent, a link, or unreadable.
pub(crate) fn read_trusted(dir: &Path, name: &str) -> Option<Vec<u8>> {
    if let Err(e) = check_dir(dir) {
        tracing::warn!("{e}");
        return None;
    }
    read(&dir.join(name)).ok()
}

/// Opens (creating it, mode 0600) a log file to append to, refusing a symbolic link.
pub(crate) fn open_log(path: &Path) -> Result<fs::File> {
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| refuse_link("cannot open the log file", path, e))
}

/// An I/O error about `path`, said plainly when it is a symbolic link we refused.
pub(crate) fn refuse_link(context: &str, path: &Path, e: std::io::Error) -> Error {
    if e.raw_os_error() == Some(libc::ELOOP) {
        Error::UnsafeStateDir {
            path: path.to_path_buf(),
            problem: "it is a symbolic link, which we never follow there".into(),
        }
    } else {
        Error::io(context, path, e)
    }
}

/// Writes `contents` to `path` atomically: into a new temporary file (created exclusively,
/// never through a link, mode 0600), then renamed over `path` (a rename replaces a link
/// itself, never its target). A reader never sees half a file.
pub(crate) fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    // A temporary file left by a crash: remove it (a link is removed, not followed).
    let _ = fs::remove_file(&tmp);
    let mut file = create_private(&tmp).map_err(|e| refuse_link("cannot write", &tmp, e))?;
    file.write_all(contents)
        .map_err(|e| Error::io("cannot write", &tmp, e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| Error::io("cannot rename into place", path, e))
}

/// Creates `path` for writing: a new file (never one already there, never through a
/// symbolic link), readable by us alone (mode 0600).
pub(crate) fn create_private(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Flushes the directory `dir` itself to disk: after a rename in it, the new name survives
/// a power cut (the file's own `sync_all` does not promise that).
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(dir)?
        .sync_all()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "helpers-state-{name}-{}-{}",
            std::process::id(),
            crate::core::time::Timestamp::now().micros()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_new_state_dir_is_private() {
        let dir = scratch("new");
        ensure_dir(&dir).unwrap();
        let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        ensure_dir(&dir).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_state_dir_others_can_write_is_refused() {
        let dir = scratch("open");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let err = ensure_dir(&dir).unwrap_err().to_string();
        assert!(
            err.contains("other users can write to it (mode 777)"),
            "{err}"
        );
        assert!(err.contains(&dir.display().to_string()), "{err}");
        assert!(err.contains("STREAM_DEMO_DIR"), "{err}");
        // Nothing read from it is believed.
        fs::write(dir.join("broker.json"), "{}").unwrap();
        assert!(read_trusted(&dir, "broker.json").is_none());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_state_dir_that_is_a_link_is_refused() {
        let real = scratch("real");
        fs::create_dir(&real).unwrap();
        let link = scratch("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = ensure_dir(&link).unwrap_err().to_string();
        assert!(err.contains("it is a symbolic link"), "{err}");
        fs::remove_file(&link).unwrap();
        fs::remove_dir_all(&real).unwrap();
    }

    #[test]
    fn links_in_the_state_dir_are_never_followed() {
        let dir = scratch("links");
        ensure_dir(&dir).unwrap();
        let target = dir.join("target.txt");
        fs::write(&target, "precious").unwrap();
        let link = dir.join("producer.log");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = open_log(&link).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        assert!(read(&link).is_err());
        // A link at the temporary name or at the destination is replaced, not written through.
        let tmp = link.with_extension(format!("tmp{}", std::process::id()));
        std::os::unix::fs::symlink(&target, &tmp).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "precious");
        assert_eq!(read(&link).unwrap(), b"new");
        fs::remove_dir_all(&dir).unwrap();
    }
}
