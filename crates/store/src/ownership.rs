//! One engine per data dir: an OS lock held for the process's life.
//!
//! Two engines started in the same folder both traded the same account: one bought, the other
//! sold it back, every cycle, paying fees each time. [`DataDirLock`] takes an exclusive `flock`
//! on `<data dir>/engine.lock` and keeps the file open until dropped. The kernel releases the
//! lock when the process exits for any reason (`kill -9` included), so a crash never leaves a
//! stale lock behind and a restart needs no clean-up. The file's content is the holder (host,
//! pid, since when), written after the lock is taken, so a refused engine can name who holds it.
//!
//! The lock covers what lives in the data dir: the SQLite store, the paper venues' state, the
//! kill switch. A PostgreSQL store can be shared by engines on several machines, which a local
//! lock cannot see: its accounts are guarded by leases in the database as well ([`crate::lease`]).

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tradeengine_model::Timestamp;

/// File name of the lock in the data dir.
pub const LOCK_FILE_NAME: &str = "engine.lock";

/// Who holds a lock or a lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
    /// When it took the lock or lease.
    pub since: Timestamp,
}

impl Holder {
    /// This process, taking the lock at `now`.
    pub fn this_process(now: Timestamp) -> Self {
        Self {
            host: hostname(),
            pid: std::process::id(),
            since: now,
        }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on host {} since {}",
            self.pid,
            self.host,
            self.since
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    }
}

/// The machine's host name (Linux: `/proc/sys/kernel/hostname`), else `$HOSTNAME`, else
/// `unknown`.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Why the data dir could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it. `holder` is `None` when its holder file could not be read
    /// (it was being written at that instant, or by an older version).
    #[error("another engine holds {}: {}", path.display(), holder.as_ref().map_or_else(|| "holder unknown".to_string(), ToString::to_string))]
    Held {
        path: PathBuf,
        holder: Option<Holder>,
    },
    #[error("cannot lock {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The data dir's lock, held until dropped.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    path: PathBuf,
    holder: Holder,
}

impl DataDirLock {
    /// Takes the lock on `<dir>/engine.lock` without waiting, and records `holder` in it.
    pub fn acquire(dir: &Path, holder: Holder) -> Result<Self, LockError> {
        Self::acquire_file(dir.join(LOCK_FILE_NAME), holder)
    }

    /// Takes the lock on the file `path` (created if missing) without waiting, and records
    /// `holder` in it: [`Self::acquire`] for a lock that is not in a data dir (the one beside a
    /// SQLite database, [`database_lock_path`]).
    pub fn acquire_file(path: PathBuf, holder: Holder) -> Result<Self, LockError> {
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(crate::files::FILE_MODE)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    holder: read_holder(&mut file),
                    path,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let body = serde_json::to_vec(&holder).map_err(|e| io(std::io::Error::other(e)))?;
        (|| {
            file.set_len(0)?;
            file.rewind()?;
            file.write_all(&body)?;
            file.sync_data()
        })()
        .map_err(io)?;
        Ok(Self {
            _file: file,
            path,
            holder,
        })
    }

    /// Who holds the lock on `dir` now, if anyone (a read-only look: takes nothing).
    pub fn holder_of(dir: &Path) -> Option<Holder> {
        let mut file = File::open(dir.join(LOCK_FILE_NAME)).ok()?;
        match file.try_lock_shared() {
            // Nobody holds it: whatever the file says is history.
            Ok(()) => None,
            Err(_) => read_holder(&mut file),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn holder(&self) -> &Holder {
        &self.holder
    }
}

/// The lock file beside a SQLite database: `<database>.engine-lock`. Two engines with different
/// data dirs given the same database file (`--database-url`) would otherwise both trade from
/// it, each taking the other's orders for its own.
pub fn database_lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".engine-lock");
    PathBuf::from(name)
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.take(4096).read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_first_and_freed_on_drop() {
        let Ok(dir) = tempfile::tempdir() else {
            panic!("no temp dir")
        };
        let now = chrono::Utc::now();
        let first = DataDirLock::acquire(dir.path(), Holder::this_process(now));
        assert!(first.is_ok());
        match DataDirLock::acquire(dir.path(), Holder::this_process(now)) {
            Err(LockError::Held { holder, .. }) => {
                let holder = holder.unwrap_or_else(|| panic!("holder not named"));
                assert_eq!(holder.pid, std::process::id());
                assert_eq!(holder.host, hostname());
            }
            other => panic!("second lock: {other:?}"),
        }
        assert_eq!(
            DataDirLock::holder_of(dir.path()).map(|h| h.pid),
            Some(std::process::id())
        );
        drop(first);
        assert_eq!(DataDirLock::holder_of(dir.path()), None);
        assert!(DataDirLock::acquire(dir.path(), Holder::this_process(now)).is_ok());
    }
}
