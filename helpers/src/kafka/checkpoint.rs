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
//! The file is replaced whole (written beside it, then renamed), so a consumer killed while
//! writing leaves the previous checkpoint, never half of one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::core::config::WindowConfig;
use crate::core::window::EngineState;
use crate::error::{Error, Result};

/// The file's name in the checkpoint folder.
pub const FILE: &str = "checkpoint.json";

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
}

/// The checkpoint file in `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// Reads the checkpoint in `dir`, if there is one, and checks that it was written for
/// `topic` and `window`: counts made with other windows cannot go on with these.
pub fn load(dir: &Path, topic: &str, window: &WindowConfig) -> Result<Option<Checkpoint>> {
    let file = path(dir);
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("reading the checkpoint", file, e)),
    };
    let refuse = |why: String| {
        Error::config(
            "checkpoint",
            file.display(),
            &format!("{why}: delete that folder, or give another one, to start counting afresh"),
        )
    };
    let cp: Checkpoint =
        serde_json::from_str(&text).map_err(|e| refuse(format!("it cannot be read ({e})")))?;
    if cp.topic != topic {
        return Err(refuse(format!(
            "it was written for topic {:?}, not {topic:?}",
            cp.topic
        )));
    }
    if cp.engine.config() != window {
        return Err(refuse(
            "it was written with other windows or watermark settings".into(),
        ));
    }
    Ok(Some(cp))
}

/// Writes `cp` into `dir` (created if missing), replacing the previous checkpoint whole.
pub fn save(dir: &Path, cp: &Checkpoint) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io("creating the checkpoint folder", dir, e))?;
    let file = path(dir);
    let tmp = dir.join(format!("{FILE}.tmp"));
    let write = || -> std::io::Result<()> {
        let json = serde_json::to_vec(cp).map_err(std::io::Error::other)?;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&json)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &file)
    };
    write().map_err(|e| Error::io("writing the checkpoint", &file, e))
}
