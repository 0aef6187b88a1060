//! Where the paper account is persisted: the [`PaperStateStore`] contract, and
//! [`MemoryStore`] for tests (the file store is [`super::file_store::JsonFileStore`]).
//!
//! A store holds a snapshot of the [`PaperState`] and a journal of the [`PaperChange`]s
//! committed since. The venue appends one change per state-changing call and returns only once
//! the append is durable, so a `kill -9` right after a fill can lose the reply but never the
//! fill. Now and then (and at every open) it compacts: the current state becomes the snapshot
//! and the journal starts again, so loading replays at most a bounded number of records.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::{PaperChange, PaperState};

/// Loads, journals and compacts the paper account.
pub trait PaperStateStore: Send + Sync + std::fmt::Debug {
    /// The saved snapshot with every durable journal record after it applied; `Ok(None)` when
    /// nothing was ever saved.
    fn load(&self) -> Result<Option<PaperState>, PaperStoreError>;

    /// Appends one change to the journal. Returns only once it is durable. After a failure
    /// the record may or may not have reached the disk; the store makes sure it is not
    /// replayed (the next append or load starts from the last record that succeeded).
    fn append(&self, change: &PaperChange) -> Result<(), PaperStoreError>;

    /// Replaces the snapshot with `state`, which includes every appended record, and empties
    /// the journal. Returns only once the new snapshot is durable.
    fn compact(&self, state: &PaperState) -> Result<(), PaperStoreError>;
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
    #[error("paper journal {path} cannot be replayed at line {line}: {reason}")]
    BadJournal {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("paper state {path} is in use by another process (lock {lock} is held)")]
    Locked { path: PathBuf, lock: PathBuf },
    #[error("cannot encode the paper state: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("paper state save refused: {0}")]
    Refused(String),
}

/// A store in memory, for tests and throwaway demos. Clones share the same slot, so a test can
/// drop a venue and open another on the same "disk"; writes can be made to fail. Appends are
/// applied to the saved state at once, so [`MemoryStore::saved`] is what a load would return.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    slot: Arc<Mutex<Option<PaperState>>>,
    saves: Arc<AtomicUsize>,
    compactions: Arc<AtomicUsize>,
    fail: Arc<AtomicBool>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The saved state, journal included.
    pub fn saved(&self) -> Option<PaperState> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// How many writes (appends and compactions) succeeded.
    pub fn save_count(&self) -> usize {
        self.saves.load(Ordering::SeqCst)
    }

    /// How many compactions succeeded.
    pub fn compaction_count(&self) -> usize {
        self.compactions.load(Ordering::SeqCst)
    }

    /// From now on, writes fail (`true`) or succeed (`false`).
    pub fn fail_saves(&self, fail: bool) {
        self.fail.store(fail, Ordering::SeqCst);
    }
}

impl PaperStateStore for MemoryStore {
    fn load(&self) -> Result<Option<PaperState>, PaperStoreError> {
        Ok(self.saved())
    }

    fn append(&self, change: &PaperChange) -> Result<(), PaperStoreError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(PaperStoreError::Refused("saves are set to fail".into()));
        }
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        let state = slot
            .as_mut()
            .ok_or_else(|| PaperStoreError::Refused("append before any snapshot".into()))?;
        state.apply(change).map_err(PaperStoreError::Refused)?;
        self.saves.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn compact(&self, state: &PaperState) -> Result<(), PaperStoreError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(PaperStoreError::Refused("saves are set to fail".into()));
        }
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(state.clone());
        self.saves.fetch_add(1, Ordering::SeqCst);
        self.compactions.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn totals(seq: u64, balance: rust_decimal::Decimal) -> PaperChange {
        PaperChange {
            seq,
            balance,
            realised_pnl: dec!(0),
            fees_paid: dec!(0),
            next_order_seq: 1,
            positions: Vec::new(),
            realised_by_symbol: Vec::new(),
            orders: Vec::new(),
            evicted: Vec::new(),
            fills: Vec::new(),
            fills_dropped: 0,
        }
    }

    #[test]
    fn memory_store_shares_its_slot_applies_appends_and_can_fail() {
        let a = MemoryStore::new();
        let b = a.clone();
        assert!(a.append(&totals(1, dec!(5))).is_err(), "no snapshot yet");
        a.compact(&PaperState::new(dec!(1))).unwrap();
        assert_eq!(b.load().unwrap().map(|s| s.balance), Some(dec!(1)));
        a.append(&totals(1, dec!(2))).unwrap();
        assert_eq!(b.load().unwrap().map(|s| s.balance), Some(dec!(2)));
        b.fail_saves(true);
        assert!(a.append(&totals(2, dec!(3))).is_err());
        assert!(a.compact(&PaperState::new(dec!(4))).is_err());
        assert_eq!((a.save_count(), a.compaction_count()), (2, 1));
        assert_eq!(a.saved().map(|s| s.balance), Some(dec!(2)));
    }
}
