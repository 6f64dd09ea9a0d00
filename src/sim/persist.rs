//! The `--state` file: the world (clusters, nodes, tasks with their due times, counters)
//! as JSON, loaded at start and rewritten after every change.
//!
//! Writes are atomic: a temporary file in the same directory is written, fsynced and
//! renamed over the old one (then the directory is fsynced), so a crash leaves either
//! the old or the new state, never half of one. A file that exists but cannot be read
//! stops the simulator instead of silently starting empty.

use crate::sim::error::{SimError, key_path};
use crate::sim::world::WorldState;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Version of the file layout; bump when `WorldState` changes incompatibly.
pub const FORMAT: u32 = 1;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileOut<'a> {
    format: u32,
    saved_at: Timestamp,
    world: &'a WorldState,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileIn {
    format: u32,
    #[allow(dead_code)]
    saved_at: Timestamp,
    world: WorldState,
}

pub fn encode(state: &WorldState, now: Timestamp) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&FileOut {
        format: FORMAT,
        saved_at: now,
        world: state,
    })
}

/// The saved state, or `None` if the file does not exist.
pub fn load(path: &Path) -> Result<Option<WorldState>, SimError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SimError::StateRead {
                path: path.to_owned(),
                source,
            });
        }
    };
    let corrupt = |location: String, message: String| SimError::StateCorrupt {
        path: path.to_owned(),
        location,
        message,
    };
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let file: FileIn = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| corrupt(key_path(e.path()), e.inner().to_string()))?;
    de.end()
        .map_err(|e| corrupt("top level".into(), format!("trailing data: {e}")))?;
    if file.format != FORMAT {
        return Err(corrupt(
            "format".into(),
            format!(
                "format {} is not supported (this simulator reads {FORMAT})",
                file.format
            ),
        ));
    }
    Ok(Some(file.world))
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `bytes` atomically (temp file, fsync, rename, fsync dir).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the state path has no file name",
        )
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // Makes the rename itself durable; not all platforms can open a directory.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Serializes writers and drops snapshots older than the last one written.
#[derive(Debug)]
pub struct Persister {
    path: PathBuf,
    written: Mutex<u64>,
}

impl Persister {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            written: Mutex::new(0),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn save(&self, version: u64, bytes: &[u8]) -> Result<(), SimError> {
        let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        if version <= *written {
            return Ok(());
        }
        write_atomic(&self.path, bytes).map_err(|source| SimError::StateWrite {
            path: self.path.clone(),
            source,
        })?;
        *written = version;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::config::SimConfig;
    use crate::sim::world::World;

    fn now() -> Timestamp {
        "2024-05-26T06:00:00Z".parse().unwrap()
    }

    #[test]
    fn round_trip_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert!(load(&path).unwrap().is_none());
        let world = World::new(&SimConfig::demo(), now());
        write_atomic(&path, &encode(world.state(), now()).unwrap()).unwrap();
        let back = load(&path).unwrap().unwrap();
        assert_eq!(&back, world.state());
        // Only the state file is left in the directory.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn corrupt_or_foreign_files_are_errors_not_empty_worlds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(
            &path,
            b"{\"format\":1,\"savedAt\":\"2024-05-26T06:00:00Z\",\"world\":{\"clusters\":7}}",
        )
        .unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("world.clusters"), "{err}");
        std::fs::write(&path, b"{\"format\":1,\"sav").unwrap();
        assert!(matches!(load(&path), Err(SimError::StateCorrupt { .. })));
        let world = World::new(&SimConfig::demo(), now());
        let mut v: serde_json::Value =
            serde_json::from_slice(&encode(world.state(), now()).unwrap()).unwrap();
        v["format"] = 99.into();
        std::fs::write(&path, v.to_string()).unwrap();
        assert!(load(&path).unwrap_err().to_string().contains("format 99"));
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomic(&path, b"old").unwrap();
        // Renaming a file over a non-empty directory fails after the temp file is written.
        let blocker = dir.path().join("blocker");
        std::fs::create_dir(&blocker).unwrap();
        std::fs::write(blocker.join("x"), b"x").unwrap();
        assert!(write_atomic(&blocker, b"new").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        let leftovers = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .count();
        assert_eq!(leftovers, 0);
    }

    #[test]
    fn older_snapshots_never_overwrite_newer_ones() {
        let dir = tempfile::tempdir().unwrap();
        let p = Persister::new(dir.path().join("s.json"));
        p.save(2, b"two").unwrap();
        p.save(1, b"one").unwrap();
        assert_eq!(std::fs::read(p.path()).unwrap(), b"two");
        p.save(3, b"three").unwrap();
        assert_eq!(std::fs::read(p.path()).unwrap(), b"three");
    }
}
