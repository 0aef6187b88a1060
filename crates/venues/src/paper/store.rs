//! Where the paper account is persisted.
//!
//! The venue saves the whole [`PaperState`] before any state-changing call returns, so a
//! `kill -9` right after a fill can lose the reply but never the fill. [`JsonFileStore`] makes
//! each save atomic: write a temporary file in the same directory, fsync it, rename it over the
//! state file, fsync the directory. A crash leaves either the old state or the new one, never a
//! torn file. The file is created with mode 0600 (it is an account's books).
//!
//! One process per state file: [`JsonFileStore::open`] takes an exclusive lock on
//! `<file>.lock`, held until the store is dropped, so a second process (or a second venue in the
//! same process) cannot interleave its saves with ours.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::PaperState;

/// Loads and saves the paper account.
pub trait PaperStateStore: Send + Sync + std::fmt::Debug {
    /// The saved state; `Ok(None)` when nothing was ever saved.
    fn load(&self) -> Result<Option<PaperState>, PaperStoreError>;

    /// Replaces the saved state. Returns only once the state is durable.
    fn save(&self, state: &PaperState) -> Result<(), PaperStoreError>;
}

/// A failed load or save. Names the file; never contains account data.
#[derive(Debug, thiserror::Error)]
pub enum PaperStoreError {
    #[error("paper state {path}: cannot {action}: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("paper state {path} is not a valid paper state: {source}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("paper state {path} is in use by another process (lock {lock} is held)")]
    Locked { path: PathBuf, lock: PathBuf },
    #[error("cannot encode the paper state: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("paper state save refused: {0}")]
    Refused(String),
}

/// The paper account as one JSON file, saved atomically.
#[derive(Debug)]
pub struct JsonFileStore {
    path: PathBuf,
    tmp: PathBuf,
    dir: PathBuf,
    /// Holds the exclusive lock for as long as the store lives.
    _lock: File,
}

impl JsonFileStore {
    /// Locks `path` for this process. The file itself need not exist yet; its directory must.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, PaperStoreError> {
        let path: PathBuf = path.into();
        let with_suffix = |suffix: &str| {
            let mut p = path.clone().into_os_string();
            p.push(suffix);
            PathBuf::from(p)
        };
        let lock_path = with_suffix(".lock");
        let io = |action, source| PaperStoreError::Io {
            path: path.clone(),
            action,
            source,
        };
        let lock = private_file(OpenOptions::new().write(true).create(true), &lock_path)
            .map_err(|e| io("create its lock file", e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(PaperStoreError::Locked {
                    path,
                    lock: lock_path,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io("lock", e)),
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok(Self {
            tmp: with_suffix(".tmp"),
            path,
            dir,
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, action: &'static str) -> impl FnOnce(std::io::Error) -> PaperStoreError + '_ {
        move |source| PaperStoreError::Io {
            path: self.path.clone(),
            action,
            source,
        }
    }
}

impl PaperStateStore for JsonFileStore {
    fn load(&self) -> Result<Option<PaperState>, PaperStoreError> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io("read")(e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| PaperStoreError::Corrupt {
                path: self.path.clone(),
                source,
            })
    }

    fn save(&self, state: &PaperState) -> Result<(), PaperStoreError> {
        let mut bytes = serde_json::to_vec_pretty(state).map_err(PaperStoreError::Encode)?;
        bytes.push(b'\n');
        // The temporary name is fixed: the lock guarantees we are its only writer.
        let mut f = private_file(
            OpenOptions::new().write(true).create(true).truncate(true),
            &self.tmp,
        )
        .map_err(self.io("create the temporary file"))?;
        f.write_all(&bytes)
            .map_err(self.io("write the temporary file"))?;
        f.sync_all().map_err(self.io("fsync the temporary file"))?;
        drop(f);
        fs::rename(&self.tmp, &self.path).map_err(self.io("rename the temporary file"))?;
        sync_dir(&self.dir).map_err(self.io("fsync its directory"))
    }
}

/// Opens with mode 0600 on Unix, and forces 0600 on a file left by an earlier run.
fn private_file(options: &mut OpenOptions, path: &Path) -> std::io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let f = options.mode(0o600).open(path)?;
        f.set_permissions(fs::Permissions::from_mode(0o600))?;
        Ok(f)
    }
    #[cfg(not(unix))]
    {
        options.open(path)
    }
}

/// Makes a rename durable: on Unix a directory's entries are only on disk once it is fsynced.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// A store in memory, for tests and throwaway demos. Clones share the same slot, so a test can
/// drop a venue and open another on the same "disk"; saves can be made to fail.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    slot: Arc<Mutex<Option<PaperState>>>,
    saves: Arc<AtomicUsize>,
    fail: Arc<AtomicBool>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The last saved state.
    pub fn saved(&self) -> Option<PaperState> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// How many saves succeeded.
    pub fn save_count(&self) -> usize {
        self.saves.load(Ordering::SeqCst)
    }

    /// From now on, saves fail (`true`) or succeed (`false`).
    pub fn fail_saves(&self, fail: bool) {
        self.fail.store(fail, Ordering::SeqCst);
    }
}

impl PaperStateStore for MemoryStore {
    fn load(&self) -> Result<Option<PaperState>, PaperStoreError> {
        Ok(self.saved())
    }

    fn save(&self, state: &PaperState) -> Result<(), PaperStoreError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(PaperStoreError::Refused("saves are set to fail".into()));
        }
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(state.clone());
        self.saves.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn file_round_trip_is_private_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("paper.json");
        let store = JsonFileStore::open(&path).unwrap();
        assert!(store.load().unwrap().is_none());
        let mut s = PaperState::new(dec!(1234.5));
        store.save(&s).unwrap();
        s.balance = dec!(1000);
        store.save(&s).unwrap();
        assert_eq!(store.load().unwrap(), Some(s));
        assert!(!dir.path().join("paper.json.tmp").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn a_second_opener_is_locked_out_until_the_first_drops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("paper.json");
        let first = JsonFileStore::open(&path).unwrap();
        let err = JsonFileStore::open(&path).unwrap_err();
        assert!(matches!(err, PaperStoreError::Locked { .. }), "{err}");
        assert!(err.to_string().contains("in use by another process"));
        drop(first);
        assert!(JsonFileStore::open(&path).is_ok());
    }

    #[test]
    fn corrupt_file_is_named_not_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("paper.json");
        fs::write(&path, b"{\"version\": 1, \"bal").unwrap();
        let err = JsonFileStore::open(&path).unwrap().load().unwrap_err();
        assert!(
            err.to_string()
                .contains("paper.json is not a valid paper state"),
            "{err}"
        );
    }

    #[test]
    fn save_into_a_missing_directory_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let err = JsonFileStore::open(dir.path().join("no/such/paper.json")).unwrap_err();
        assert!(
            err.to_string().contains("cannot create its lock file"),
            "{err}"
        );
    }

    #[test]
    fn memory_store_shares_its_slot_and_can_fail() {
        let a = MemoryStore::new();
        let b = a.clone();
        a.save(&PaperState::new(dec!(1))).unwrap();
        assert_eq!(b.load().unwrap().map(|s| s.balance), Some(dec!(1)));
        b.fail_saves(true);
        assert!(a.save(&PaperState::new(dec!(2))).is_err());
        assert_eq!(a.save_count(), 1);
        assert_eq!(a.saved().map(|s| s.balance), Some(dec!(1)));
    }
}
