//! Restart without loss: the consumer's checkpoint, like Spark's `checkpointLocation`.
//!
//! At every trigger a consumer with a checkpoint folder writes one file there, holding two
//! things that belong together: how far it has read each partition (the offset of the next
//! message) and the window engine's state after that trigger (the counts, the watermark,
//! the closed windows), with the all-time totals. A consumer started again with the same
//! folder restores the counts and reads each partition from the saved offset: the messages
//! it had read after its last trigger are read again, and counted once, because the saved
//! counts do not hold them. So a restart loses nothing and counts nothing twice, as long as
//! the broker still holds those messages.
//!
//! # A checkpoint that is safe to keep
//! The folder holds what decides which messages get counted, so it is guarded like the
//! state directory ([`crate::sys::state`]):
//!
//! * **Private.** The folder is created with mode 0700, and one that another user owns, or
//!   that others may write to, or that is a symbolic link, is refused; its files are never
//!   opened through a symbolic link.
//! * **Written whole.** Each checkpoint is written into a new file with a name no other
//!   writer uses (`.checkpoint.<pid>.<n>.tmp`), flushed to disk, then renamed over
//!   [`FILE`]; the folder itself is then flushed, so the new name survives a power cut. A
//!   consumer killed while writing leaves the previous checkpoint, never half of one.
//! * **Two generations.** Before it is replaced, the current file is kept as [`PREVIOUS`].
//!   If the newest cannot be read (a damaged disk, a hand edit), the consumer goes on from
//!   the previous one, one trigger older, and says so: it reads a few more messages again
//!   and still counts each once.
//! * **One consumer per folder.** A running consumer holds a lock on [`LOCK_FILE`] (the
//!   kernel releases it when the process ends, even killed); a second one started with the
//!   same folder is refused, saying which process holds it. Two writers could otherwise
//!   interleave their checkpoints, each one's offsets with the other's counts.
//! * **One cluster.** Offsets only mean something in the log they were read from. The
//!   checkpoint records the cluster's id and, for the embedded broker (whose log lives only
//!   as long as its program), which start of it ([`ClusterIdentity`]); a consumer that finds
//!   itself on another cluster refuses to go on rather than skip, or count twice, messages
//!   of a log it never read.

use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::core::config::WindowConfig;
use crate::core::window::EngineState;
use crate::error::{Error, Result};
use crate::sys::state;

/// The newest checkpoint's name in the checkpoint folder.
pub const FILE: &str = "checkpoint.json";

/// The checkpoint before it (one trigger older), used if the newest cannot be read.
pub const PREVIOUS: &str = "checkpoint.prev.json";

/// The file a running consumer holds locked (it holds the consumer's pid).
pub const LOCK_FILE: &str = "lock";

/// What the names of the temporary files start and end with.
const TMP_PREFIX: &str = ".checkpoint.";
const TMP_SUFFIX: &str = ".tmp";

/// One checkpoint: where reading stands, and the counts up to there.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The topic read.
    pub topic: String,
    /// Per partition, the offset of the next message to read (Kafka's raw form: -2 is
    /// the partition's start, -1 its end, for partitions where nothing was read yet).
    pub offsets: BTreeMap<i32, i64>,
    /// The window engine, right after the trigger.
    pub engine: EngineState,
    /// Events counted per hashtag since the first start.
    pub all_time: Vec<(String, u64)>,
    /// Messages read since the first start.
    pub consumed: u64,
    /// The cluster whose log the offsets belong to. `None` in checkpoints written before
    /// it was recorded (they are accepted, and get one at their next save).
    #[serde(default)]
    pub cluster: Option<ClusterIdentity>,
}

/// Which log a checkpoint's offsets belong to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterIdentity {
    /// The id the cluster reports in its metadata (Kafka's `cluster.id`), if it reports
    /// one. Apache Kafka draws it when its storage is formatted; the mock cluster gets a
    /// new one at each start; Tansu reports the one it was started with.
    pub cluster_id: Option<String>,
    /// For a broker the `broker` program runs (the mock cluster, Tansu, the classroom's
    /// Kafka), which start of it: its log is new at each start, even where the cluster id
    /// is not. `None` for a broker it does not run.
    #[serde(default)]
    pub log_id: Option<String>,
}

impl ClusterIdentity {
    /// Why `self` (recorded in a checkpoint) and `now` (the cluster reached) are not the
    /// same log, if they are not. A part unknown on either side is not held against it.
    pub fn mismatch(&self, now: &ClusterIdentity) -> Option<String> {
        let differ =
            |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(a), Some(b)) if a != b);
        if differ(&self.cluster_id, &now.cluster_id) {
            return Some(format!(
                "it was written for Kafka cluster {}, but this broker belongs to cluster {}",
                show(&self.cluster_id),
                show(&now.cluster_id)
            ));
        }
        if differ(&self.log_id, &now.log_id) {
            return Some(format!(
                "it was written for another start of the broker program (log {}, this one's \
                 is {}), whose log is gone",
                show(&self.log_id),
                show(&now.log_id)
            ));
        }
        None
    }
}

/// An optional name, for a sentence.
fn show(v: &Option<String>) -> String {
    v.as_deref()
        .map_or_else(|| "?".into(), |s| format!("{s:?}"))
}

/// A checkpoint read back, and a note when it is not the newest one.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// Why the previous generation was used, if it was (for the consumer's status).
    pub note: Option<String>,
}

/// The checkpoint file in `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// The refusal of the checkpoint folder `dir` (or a file in it), with what to do.
fn refuse(dir: &Path, why: &str) -> Error {
    Error::config(
        "checkpoint",
        dir.display(),
        &format!("{why}: delete that folder, or give another one, to start counting afresh"),
    )
}

/// Checks that the folder `dir` can be trusted (see [`state::check_dir`]), said as a
/// problem with the checkpoint setting.
fn check_folder(dir: &Path) -> Result<()> {
    state::check_dir(dir).map_err(|e| match e {
        Error::UnsafeStateDir { path, problem } => Error::config(
            "checkpoint",
            path.display(),
            &format!(
                "the folder cannot be trusted: {problem}. Give a folder that only you can \
                 write"
            ),
        ),
        e => e,
    })
}

/// Creates the folder `dir` if needed (mode 0700), then checks it can be trusted.
fn ensure_folder(dir: &Path) -> Result<()> {
    state::ensure_dir(dir).map_err(|e| match e {
        Error::UnsafeStateDir { .. } => check_folder(dir).err().unwrap_or(e),
        Error::Io { path, source, .. } => Error::Io {
            context: "cannot create the checkpoint folder".into(),
            path,
            source,
        },
        e => e,
    })
}

/// Reads the checkpoint in `dir`, if there is one, and checks that it was written for
/// `topic` and `window`: counts made with other windows cannot go on with these. If the
/// newest cannot be read, the previous one is used, and a warning logged; see
/// [`load_noting`] to get that note.
pub fn load(dir: &Path, topic: &str, window: &WindowConfig) -> Result<Option<Checkpoint>> {
    Ok(load_noting(dir, topic, window)?.map(|l| {
        if let Some(note) = &l.note {
            tracing::warn!("{note}");
        }
        l.checkpoint
    }))
}

/// One generation of the checkpoint, as found in the folder.
enum Generation {
    /// Not there.
    Missing,
    /// Read and understood.
    Good(Box<Checkpoint>),
    /// There, but unreadable or not a checkpoint: why.
    Damaged(String),
}

/// Reads the file `name` of `dir`, never through a symbolic link (one is refused).
fn read_one(dir: &Path, name: &str) -> Result<Generation> {
    let file = dir.join(name);
    match state::read(&file) {
        Ok(bytes) => Ok(match serde_json::from_slice::<Checkpoint>(&bytes) {
            Ok(cp) => Generation::Good(Box::new(cp)),
            Err(e) => Generation::Damaged(format!("{name} cannot be read ({e})")),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Generation::Missing),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Err(refuse(
            dir,
            &format!("{name} is a symbolic link, which is never followed"),
        )),
        Err(e) => Ok(Generation::Damaged(format!("{name} cannot be read ({e})"))),
    }
}

/// As [`load`], saying in [`Loaded::note`] when the previous generation was used. A
/// checkpoint for another topic or other windows is refused, never replaced by the
/// previous one: both were written with the same settings.
pub fn load_noting(dir: &Path, topic: &str, window: &WindowConfig) -> Result<Option<Loaded>> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        _ => check_folder(dir)?,
    }
    // The previous generation is read only when the newest cannot be.
    let newest = read_one(dir, FILE)?;
    let previous = match newest {
        Generation::Good(_) => Generation::Missing,
        _ => read_one(dir, PREVIOUS)?,
    };
    let (cp, note) = match (newest, previous) {
        (Generation::Good(cp), _) => (cp, None),
        (Generation::Missing, Generation::Missing) => return Ok(None),
        (newest, Generation::Good(cp)) => {
            let why = match newest {
                Generation::Damaged(why) => why,
                _ => format!("{FILE} is missing"),
            };
            let note = format!(
                "checkpoint {}: {why}; went on from the previous one, {PREVIOUS} (one trigger \
                 older: what was read since is read again, and counted once)",
                dir.display()
            );
            (cp, Some(note))
        }
        (Generation::Damaged(why), Generation::Missing) => return Err(refuse(dir, &why)),
        (Generation::Missing, Generation::Damaged(why)) => {
            return Err(refuse(dir, &format!("{FILE} is missing, and {why}")))
        }
        (Generation::Damaged(why), Generation::Damaged(prev)) => {
            return Err(refuse(dir, &format!("{why}, and {prev}")))
        }
    };
    if cp.topic != topic {
        return Err(refuse(
            dir,
            &format!("it was written for topic {:?}, not {topic:?}", cp.topic),
        ));
    }
    if cp.engine.config() != window {
        return Err(refuse(
            dir,
            "it was written with other windows or watermark settings",
        ));
    }
    Ok(Some(Loaded {
        checkpoint: *cp,
        note,
    }))
}

/// A name no other writer uses, in the folder, for a file about to be renamed into place.
fn unique_tmp(dir: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    dir.join(format!(
        "{TMP_PREFIX}{}.{nanos}.{n}{TMP_SUFFIX}",
        std::process::id()
    ))
}

/// Writes `cp` into `dir` (created if missing, mode 0700), replacing the previous
/// checkpoint whole and keeping the one before as [`PREVIOUS`].
pub fn save(dir: &Path, cp: &Checkpoint) -> Result<()> {
    ensure_folder(dir)?;
    let file = path(dir);
    let json = serde_json::to_vec(cp)
        .map_err(|e| Error::io("writing the checkpoint", &file, std::io::Error::other(e)))?;
    let tmp = unique_tmp(dir);
    let write = || -> std::io::Result<()> {
        let mut f = state::create_private(&tmp)?;
        f.write_all(&json)?;
        f.sync_all()?;
        // The current file becomes the previous one: a second name for it, renamed over
        // the old previous one (so there is always a whole one of each).
        let prev = unique_tmp(dir);
        match std::fs::hard_link(&file, &prev) {
            Ok(()) => {
                std::fs::rename(&prev, dir.join(PREVIOUS))?;
                // A rename between two names of one file does nothing (another writer
                // linked the same one): the second name is then removed here.
                let _ = std::fs::remove_file(&prev);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        std::fs::rename(&tmp, &file)?;
        state::sync_dir(dir)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        state::refuse_link("writing the checkpoint", &file, e)
    })
}

/// The lock a running consumer holds on its checkpoint folder; released when dropped
/// (or when the process ends, however it ends).
#[derive(Debug)]
pub struct FolderLock {
    /// The locked file, open while the lock is held.
    _file: std::fs::File,
}

/// Locks the checkpoint folder `dir` (created if missing, mode 0700) for this consumer,
/// writing our pid in the lock file; refuses if another consumer holds it. Temporary
/// files left by a writer that was killed are removed (no one else writes here now).
pub fn lock(dir: &Path) -> Result<FolderLock> {
    ensure_folder(dir)?;
    let at = dir.join(LOCK_FILE);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&at)
        .map_err(|e| state::refuse_link("opening the checkpoint's lock", &at, e))?;
    // SAFETY: flock on a file descriptor we own, open for the call's duration.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if locked != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(Error::io("locking the checkpoint folder", &at, e));
        }
        let mut text = String::new();
        let _ = file.read_to_string(&mut text);
        let who = match text.trim().parse::<u32>() {
            Ok(pid) if pid == std::process::id() => format!("pid {pid}, this very process"),
            Ok(pid) => format!("pid {pid}"),
            Err(_) => "a process that has not said its pid yet".into(),
        };
        return Err(Error::config(
            "checkpoint",
            dir.display(),
            &format!(
                "another consumer ({who}) is using this checkpoint folder: two would mix \
                 their offsets and counts. Stop it first, or give this one another folder"
            ),
        ));
    }
    let say_pid = |f: &mut std::fs::File| -> std::io::Result<()> {
        f.set_len(0)?;
        f.rewind()?;
        f.write_all(std::process::id().to_string().as_bytes())
    };
    say_pid(&mut file).map_err(|e| Error::io("writing the checkpoint's lock", &at, e))?;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(TMP_PREFIX) && name.ends_with(TMP_SUFFIX) {
                // A link is removed, never followed.
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Ok(FolderLock { _file: file })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::time::Duration;

    use super::*;
    use crate::core::window::WindowEngine;

    fn scratch(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!(
            "helpers-checkpoint-{name}-{}-{}",
            std::process::id(),
            crate::core::time::Timestamp::now().micros()
        ))
    }

    fn window() -> WindowConfig {
        WindowConfig::tumbling(Duration::from_secs(60))
    }

    fn checkpoint(consumed: u64) -> Checkpoint {
        Checkpoint {
            topic: "tweets_topic".into(),
            offsets: BTreeMap::from([(0, consumed as i64)]),
            engine: WindowEngine::new(window()).unwrap().state(),
            all_time: vec![("#Spark".into(), consumed)],
            consumed,
            cluster: Some(ClusterIdentity {
                cluster_id: Some("c1".into()),
                log_id: Some("l1".into()),
            }),
        }
    }

    fn consumed(dir: &Path) -> (u64, Option<String>) {
        let l = load_noting(dir, "tweets_topic", &window())
            .unwrap()
            .unwrap();
        (l.checkpoint.consumed, l.note)
    }

    #[test]
    fn a_new_folder_is_private_and_a_checkpoint_reads_back() {
        let dir = scratch("new").join("ckpt");
        assert!(load(&dir, "tweets_topic", &window()).unwrap().is_none());
        save(&dir, &checkpoint(1)).unwrap();
        let md = std::fs::metadata(&dir).unwrap();
        assert_eq!(md.permissions().mode() & 0o777, 0o700);
        let file = std::fs::metadata(path(&dir)).unwrap();
        assert_eq!(file.permissions().mode() & 0o777, 0o600);
        let cp = load(&dir, "tweets_topic", &window()).unwrap().unwrap();
        assert_eq!((cp.consumed, cp.cluster), (1, checkpoint(1).cluster));
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn an_old_checkpoint_without_its_cluster_is_still_read() {
        let mut json = serde_json::to_value(checkpoint(5)).unwrap();
        json.as_object_mut().unwrap().remove("cluster");
        let cp: Checkpoint = serde_json::from_value(json).unwrap();
        assert_eq!((cp.consumed, cp.cluster), (5, None));
    }

    #[test]
    fn a_cluster_or_a_log_that_differs_is_named() {
        let id = |c: Option<&str>, l: Option<&str>| ClusterIdentity {
            cluster_id: c.map(Into::into),
            log_id: l.map(Into::into),
        };
        let then = id(Some("A"), Some("1"));
        assert_eq!(then.mismatch(&id(Some("A"), Some("1"))), None);
        let why = then.mismatch(&id(Some("B"), Some("1"))).unwrap();
        assert!(
            why.contains("cluster \"A\", but this broker belongs to cluster \"B\""),
            "{why}"
        );
        // Tansu reports the same cluster id at every start: the log tells them apart.
        let why = then.mismatch(&id(Some("A"), Some("2"))).unwrap();
        assert!(why.contains("another start of the broker program"), "{why}");
        // What is not known on one side is not held against it.
        assert_eq!(then.mismatch(&id(Some("A"), None)), None);
        assert_eq!(id(None, None).mismatch(&then), None);
    }

    #[test]
    fn a_folder_or_a_file_that_is_a_link_is_refused_and_never_followed() {
        let base = scratch("links");
        let real = base.join("real");
        save(&real, &checkpoint(1)).unwrap();
        let link = base.join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        for e in [
            save(&link, &checkpoint(2)).unwrap_err(),
            load(&link, "tweets_topic", &window()).unwrap_err(),
            lock(&link).unwrap_err(),
        ] {
            let e = e.to_string();
            assert!(e.contains("it is a symbolic link"), "{e}");
            assert!(e.contains("only you can write"), "{e}");
        }
        // checkpoint.json, a link to a file elsewhere: refused when read, replaced (not
        // written through) when saved.
        let dir = base.join("dir");
        std::fs::create_dir(&dir).unwrap();
        let target = base.join("precious.json");
        std::fs::write(&target, serde_json::to_vec(&checkpoint(7)).unwrap()).unwrap();
        std::os::unix::fs::symlink(&target, path(&dir)).unwrap();
        let e = load(&dir, "tweets_topic", &window())
            .unwrap_err()
            .to_string();
        assert!(e.contains("checkpoint.json is a symbolic link"), "{e}");
        assert!(e.contains("delete that folder"), "{e}");
        save(&dir, &checkpoint(3)).unwrap();
        let precious: Checkpoint =
            serde_json::from_slice(&std::fs::read(&target).unwrap()).unwrap();
        assert_eq!(precious.consumed, 7);
        assert!(!std::fs::symlink_metadata(path(&dir)).unwrap().is_symlink());
        // The link became the previous generation, a link still: never read while the
        // newest is good, refused when it would be needed.
        assert_eq!(consumed(&dir), (3, None));
        std::fs::write(path(&dir), "damaged").unwrap();
        let e = load(&dir, "tweets_topic", &window())
            .unwrap_err()
            .to_string();
        assert!(e.contains("checkpoint.prev.json is a symbolic link"), "{e}");
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_folder_others_can_write_or_own_is_refused() {
        let dir = scratch("open");
        save(&dir, &checkpoint(1)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        for e in [
            save(&dir, &checkpoint(2)).unwrap_err(),
            load(&dir, "tweets_topic", &window()).unwrap_err(),
            lock(&dir).unwrap_err(),
        ] {
            let e = e.to_string();
            assert!(e.contains("other users can write to it (mode 777)"), "{e}");
            assert!(e.contains("invalid setting checkpoint"), "{e}");
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        // Another user's folder (only root can give one away: the test needs it).
        // SAFETY: getuid has no preconditions.
        if unsafe { libc::getuid() } == 0 {
            std::os::unix::fs::chown(&dir, Some(4242), None).unwrap();
            assert_eq!(std::fs::metadata(&dir).unwrap().uid(), 4242);
            let e = load(&dir, "tweets_topic", &window())
                .unwrap_err()
                .to_string();
            assert!(e.contains("it belongs to another user (uid 4242"), "{e}");
            std::os::unix::fs::chown(&dir, Some(0), None).unwrap();
        }
        assert_eq!(consumed(&dir).0, 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_previous_generation_is_used_when_the_newest_cannot_be_read() {
        let dir = scratch("prev");
        save(&dir, &checkpoint(1)).unwrap();
        save(&dir, &checkpoint(2)).unwrap();
        assert_eq!(consumed(&dir), (2, None));
        // Damaged: the previous one, said.
        std::fs::write(path(&dir), "{ half a checkp").unwrap();
        let (n, note) = consumed(&dir);
        assert_eq!(n, 1);
        let note = note.unwrap();
        assert!(note.contains("checkpoint.json cannot be read"), "{note}");
        assert!(note.contains("went on from the previous one"), "{note}");
        // Missing (a writer killed between its two renames, or a hand): the same.
        std::fs::remove_file(path(&dir)).unwrap();
        let (n, note) = consumed(&dir);
        assert_eq!(n, 1);
        assert!(note.unwrap().contains("checkpoint.json is missing"));
        // The next save makes a whole pair again.
        save(&dir, &checkpoint(3)).unwrap();
        save(&dir, &checkpoint(4)).unwrap();
        assert_eq!(consumed(&dir), (4, None));
        // Both damaged: refused, the files left for a look.
        std::fs::write(path(&dir), "nope").unwrap();
        std::fs::write(dir.join(PREVIOUS), "nope").unwrap();
        let e = load(&dir, "tweets_topic", &window())
            .unwrap_err()
            .to_string();
        assert!(e.contains("checkpoint.json cannot be read"), "{e}");
        assert!(e.contains("checkpoint.prev.json cannot be read"), "{e}");
        assert!(e.contains("start counting afresh"), "{e}");
        // A previous one written for another topic is refused, not used.
        let mut other = checkpoint(5);
        other.topic = "other".into();
        save(&dir, &other).unwrap();
        save(&dir, &other).unwrap();
        std::fs::write(path(&dir), "nope").unwrap();
        let e = load(&dir, "tweets_topic", &window())
            .unwrap_err()
            .to_string();
        assert!(e.contains("written for topic \"other\""), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn writers_at_once_never_leave_a_broken_file() {
        let dir = scratch("parallel");
        save(&dir, &checkpoint(0)).unwrap();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            let writers: Vec<_> = (0..2u64)
                .map(|w| {
                    let dir = &dir;
                    s.spawn(move || {
                        for i in 0..150 {
                            save(dir, &checkpoint(w * 1000 + i)).unwrap();
                        }
                    })
                })
                .collect();
            let reader = s.spawn(|| {
                let mut reads = 0;
                while !stop.load(Ordering::Relaxed) {
                    let (_, note) = consumed(&dir);
                    assert_eq!(note, None, "the newest was always whole");
                    reads += 1;
                }
                reads
            });
            for w in writers {
                w.join().unwrap();
            }
            stop.store(true, Ordering::Relaxed);
            assert!(reader.join().unwrap() > 0);
        });
        let (n, _) = consumed(&dir);
        assert!(n == 149 || n == 1149, "{n}");
        // Every temporary file was renamed into place: none is left.
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(TMP_SUFFIX))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_second_consumer_on_the_folder_is_refused_until_the_first_ends() {
        let dir = scratch("lock");
        std::fs::create_dir(&dir).unwrap();
        // A temporary file a killed writer left is cleared by the next consumer.
        let stale = dir.join(".checkpoint.1.2.3.tmp");
        std::fs::write(&stale, "half").unwrap();
        let first = lock(&dir).unwrap();
        assert!(!stale.exists());
        let pid = std::process::id();
        assert_eq!(
            std::fs::read_to_string(dir.join(LOCK_FILE)).unwrap(),
            pid.to_string()
        );
        let e = lock(&dir).unwrap_err().to_string();
        assert!(
            e.contains(&format!("another consumer (pid {pid}, this very process)")),
            "{e}"
        );
        assert!(
            e.contains("Stop it first, or give this one another folder"),
            "{e}"
        );
        // Reading it stays possible (the notebook shows a running consumer's checkpoint).
        save(&dir, &checkpoint(1)).unwrap();
        assert_eq!(consumed(&dir).0, 1);
        drop(first);
        drop(lock(&dir).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
