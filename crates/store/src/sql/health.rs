//! Noticing a lost database: the file deleted or replaced under the engine, or writes failing.
//!
//! SQLite keeps working on a file that was deleted (`rm tradeengine.sqlite`): the engine kept
//! answering webhooks "accepted" while writing to a file no one could ever open again. So the
//! engine calls [`crate::Store::check_health`] every second or so, which
//!
//! 1. compares the file at the configured path with the one opened (device and inode): gone or
//!    different is **fatal** — from then on every write is refused with
//!    [`StoreError::Unavailable`] (nothing more can be planned or sent) until a restart, after
//!    the operator has looked;
//! 2. writes a probe row (one small transaction, fsynced like any other): a failure (disk full,
//!    read-only file system, database unreachable) is reported until a probe succeeds again, so
//!    a lock held for a few seconds by another process does not stop the engine for good.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use crate::StoreError;

/// The SQLite file as opened.
#[derive(Debug, Clone)]
pub(crate) struct FileGuard {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl FileGuard {
    pub(crate) fn of(path: PathBuf) -> std::io::Result<Self> {
        let meta = std::fs::metadata(&path)?;
        Ok(Self {
            dev: meta.dev(),
            ino: meta.ino(),
            path,
        })
    }

    /// Why the file at the path is no longer the one opened, if it is not.
    pub(crate) fn changed(&self) -> Option<String> {
        match std::fs::metadata(&self.path) {
            Ok(m) if m.dev() == self.dev && m.ino() == self.ino => None,
            Ok(_) => Some(format!(
                "the database file {} was replaced by another file while the engine had it open",
                self.path.display()
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(format!(
                "the database file {} was deleted while the engine had it open",
                self.path.display()
            )),
            Err(e) => Some(format!(
                "the database file {} cannot be examined: {e}",
                self.path.display()
            )),
        }
    }
}

/// What the store knows of its own health.
#[derive(Debug, Default)]
pub(crate) struct Health {
    /// Set once, never cleared: the file is gone or replaced.
    fatal: std::sync::RwLock<Option<String>>,
    /// The last write probe failed, with this reason; cleared by a probe that succeeds.
    failing: std::sync::RwLock<Option<String>>,
}

impl Health {
    pub(crate) fn fatal(&self) -> Option<String> {
        self.fatal
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn fault(&self) -> Option<String> {
        self.fatal().or_else(|| {
            self.failing
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
        })
    }

    pub(crate) fn set_fatal(&self, reason: &str) {
        let mut fatal = self
            .fatal
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if fatal.is_none() {
            *fatal = Some(reason.to_string());
        }
    }

    pub(crate) fn set_probe(&self, result: Result<(), String>) {
        *self
            .failing
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = result.err();
    }

    /// Refuses a write once the database is known to be lost.
    pub(crate) fn check_write(&self) -> Result<(), StoreError> {
        match self.fatal() {
            Some(reason) => Err(StoreError::Unavailable(reason)),
            None => Ok(()),
        }
    }
}
