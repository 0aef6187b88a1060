//! The paper account on disk: a JSON snapshot plus an append-only journal of JSON lines.
//!
//! Files, all mode 0600 (they are an account's books), beside `<file>`:
//! - `<file>`: the snapshot, a [`PaperState`] whose `journal_seq` says which journal records
//!   it already holds. Replaced atomically: written to `<file>.tmp`, fsynced, renamed over,
//!   directory fsynced, so a crash leaves the old snapshot or the new one, never a torn one.
//! - `<file>.journal`: one [`PaperChange`] per line, each appended and `fdatasync`ed before
//!   the venue call that made it returns. A write costs the size of the change.
//! - `<file>.lock`: an exclusive lock held while the store lives, so a second process (or a
//!   second venue in the same process) cannot interleave its writes with ours.
//!
//! Crash safety:
//! - A record cut short by a crash (no final newline, or a last line that does not parse) was
//!   never acknowledged: its `fdatasync` had not returned. Loading ignores it and the next
//!   append first truncates the journal back to the last whole record.
//! - An append that fails (write or fsync error) leaves the record's fate unknown, so the
//!   journal is truncated back to the last record that succeeded before anything else is
//!   appended: a change the venue rolled back in memory is never replayed.
//! - Compaction writes the snapshot first, then empties the journal. A crash between the two
//!   leaves records the snapshot already holds; loading skips them by sequence number.
//! - Any other unreadable record, or a gap in the sequence, refuses to load: continuing
//!   would misstate the account.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::store::{PaperStateStore, PaperStoreError};
use super::{PaperChange, PaperState};

/// The paper account as a JSON snapshot and journal (module docs).
#[derive(Debug)]
pub struct JsonFileStore {
    path: PathBuf,
    tmp: PathBuf,
    journal_path: PathBuf,
    dir: PathBuf,
    journal: Mutex<Journal>,
    /// Holds the exclusive lock for as long as the store lives.
    _lock: File,
}

/// The open journal and how much of it is known good.
#[derive(Debug)]
struct Journal {
    file: File,
    /// Length up to the end of the last record known durable.
    good_len: u64,
    /// The file may hold bytes past `good_len` (a torn or failed append): truncate first.
    dirty: bool,
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
        let journal_path = with_suffix(".journal");
        let existed = journal_path.exists();
        let file = private_file(
            OpenOptions::new().read(true).append(true).create(true),
            &journal_path,
        )
        .map_err(|e| io("open its journal", e))?;
        if !existed {
            sync_dir(&dir).map_err(|e| io("fsync its directory", e))?;
        }
        let good_len = file
            .metadata()
            .map_err(|e| io("read its journal's length", e))?
            .len();
        Ok(Self {
            tmp: with_suffix(".tmp"),
            path,
            journal_path,
            dir,
            journal: Mutex::new(Journal {
                file,
                good_len,
                dirty: false,
            }),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The journal file (`<file>.journal`).
    pub fn journal_path(&self) -> &Path {
        &self.journal_path
    }

    fn io(&self, action: &'static str) -> impl FnOnce(std::io::Error) -> PaperStoreError + '_ {
        move |source| PaperStoreError::Io {
            path: self.path.clone(),
            action,
            source,
        }
    }

    /// The journal; a panic elsewhere cannot leave it inconsistent (every field is written
    /// after the I/O it describes).
    fn journal(&self) -> MutexGuard<'_, Journal> {
        self.journal.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn load_snapshot(&self) -> Result<Option<PaperState>, PaperStoreError> {
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

    fn bad_journal(&self, line: usize, reason: impl Into<String>) -> PaperStoreError {
        PaperStoreError::BadJournal {
            path: self.journal_path.clone(),
            line,
            reason: reason.into(),
        }
    }
}

impl PaperStateStore for JsonFileStore {
    fn load(&self) -> Result<Option<PaperState>, PaperStoreError> {
        let snapshot = self.load_snapshot()?;
        let bytes = fs::read(&self.journal_path).map_err(self.io("read its journal"))?;
        let records = whole_records(&bytes);
        let mut state = match snapshot {
            Some(s) => s,
            None if records.lines.is_empty() => {
                let mut journal = self.journal();
                journal.good_len = 0;
                journal.dirty = records.torn_tail;
                return Ok(None);
            }
            None => return Err(self.bad_journal(1, "there is a journal but no snapshot")),
        };
        let count = records.lines.len();
        let mut good_len = 0u64;
        let mut torn = records.torn_tail;
        for (i, (end, line)) in records.lines.into_iter().enumerate() {
            let change: PaperChange = match serde_json::from_slice(line) {
                Ok(c) => c,
                // The last record may have been cut short by a crash before its fsync
                // returned: never acknowledged, so dropped.
                Err(_) if i + 1 == count => {
                    torn = true;
                    break;
                }
                Err(e) => return Err(self.bad_journal(i + 1, e.to_string())),
            };
            if change.seq > state.journal_seq {
                state
                    .apply(&change)
                    .map_err(|reason| self.bad_journal(i + 1, reason))?;
            }
            good_len = end;
        }
        let mut journal = self.journal();
        journal.good_len = good_len;
        journal.dirty = torn;
        Ok(Some(state))
    }

    fn append(&self, change: &PaperChange) -> Result<(), PaperStoreError> {
        let mut line = serde_json::to_vec(change).map_err(PaperStoreError::Encode)?;
        line.push(b'\n');
        let mut journal = self.journal();
        if journal.dirty {
            let good_len = journal.good_len;
            journal
                .file
                .set_len(good_len)
                .and_then(|()| journal.file.sync_data())
                .map_err(self.io("truncate its journal to the last good record"))?;
            journal.dirty = false;
        }
        let written = journal
            .file
            .write_all(&line)
            .and_then(|()| journal.file.sync_data());
        if let Err(e) = written {
            journal.dirty = true;
            return Err(self.io("append to its journal")(e));
        }
        journal.good_len += line.len() as u64;
        Ok(())
    }

    fn compact(&self, state: &PaperState) -> Result<(), PaperStoreError> {
        let mut bytes = serde_json::to_vec(state).map_err(PaperStoreError::Encode)?;
        bytes.push(b'\n');
        let mut journal = self.journal();
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
        sync_dir(&self.dir).map_err(self.io("fsync its directory"))?;
        // The snapshot holds every record: empty the journal. If this fails the records stay
        // and are skipped on load by their sequence numbers.
        let emptied = journal
            .file
            .set_len(0)
            .and_then(|()| journal.file.sync_data());
        match emptied {
            Ok(()) => {
                journal.good_len = 0;
                journal.dirty = false;
            }
            Err(e) => tracing::warn!(
                path = %self.journal_path.display(), error = %e,
                "paper journal not emptied after compaction; its records will be skipped on load"
            ),
        }
        Ok(())
    }
}

/// A journal's complete lines with the offset just past each, and whether bytes follow the
/// last newline (a record cut short).
struct Records<'a> {
    lines: Vec<(u64, &'a [u8])>,
    torn_tail: bool,
}

fn whole_records(bytes: &[u8]) -> Records<'_> {
    let mut lines = Vec::new();
    let mut start = 0usize;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            lines.push(((i + 1) as u64, &bytes[start..i]));
            start = i + 1;
        }
    }
    Records {
        lines,
        torn_tail: start < bytes.len(),
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

/// Makes a rename or a new file durable: on Unix a directory's entries are only on disk once
/// it is fsynced.
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

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;

    use super::*;

    fn totals(seq: u64, balance: Decimal) -> PaperChange {
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

    fn balance(store: &JsonFileStore) -> Option<Decimal> {
        store.load().unwrap().map(|s| s.balance)
    }

    #[test]
    fn snapshot_plus_journal_round_trip_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("paper.json");
        let store = JsonFileStore::open(&path).unwrap();
        assert!(store.load().unwrap().is_none());
        store.compact(&PaperState::new(dec!(1234.5))).unwrap();
        store.append(&totals(1, dec!(1000))).unwrap();
        store.append(&totals(2, dec!(900))).unwrap();
        drop(store);
        let store = JsonFileStore::open(&path).unwrap();
        let loaded = store.load().unwrap().unwrap();
        assert_eq!((loaded.balance, loaded.journal_seq), (dec!(900), 2));
        assert!(!dir.path().join("paper.json.tmp").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for name in ["paper.json", "paper.json.journal"] {
                let mode = fs::metadata(dir.path().join(name))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777;
                assert_eq!(mode, 0o600, "{name}");
            }
        }
    }

    #[test]
    fn compaction_empties_the_journal_and_stale_records_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("paper.json");
        let store = JsonFileStore::open(&path).unwrap();
        store.compact(&PaperState::new(dec!(1))).unwrap();
        store.append(&totals(1, dec!(2))).unwrap();
        let journal_before = fs::read(store.journal_path()).unwrap();
        let mut state = store.load().unwrap().unwrap();
        state.balance = dec!(2);
        store.compact(&state).unwrap();
        assert_eq!(fs::metadata(store.journal_path()).unwrap().len(), 0);
        // A crash between the snapshot's rename and the journal's truncation leaves record 1
        // beside a snapshot that holds it: skipped, not applied twice or refused.
        fs::write(store.journal_path(), &journal_before).unwrap();
        assert_eq!(balance(&store), Some(dec!(2)));
        store.append(&totals(2, dec!(3))).unwrap();
        assert_eq!(balance(&store), Some(dec!(3)));
    }

    #[test]
    fn a_torn_last_record_is_dropped_and_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("paper.json");
        let store = JsonFileStore::open(&path).unwrap();
        store.compact(&PaperState::new(dec!(1))).unwrap();
        store.append(&totals(1, dec!(2))).unwrap();
        drop(store);
        let journal = dir.path().join("paper.json.journal");
        let good = fs::read(&journal).unwrap();
        let mut torn = good.clone();
        torn.extend_from_slice(br#"{"seq":2,"balance":"#);
        fs::write(&journal, &torn).unwrap();
        let store = JsonFileStore::open(&path).unwrap();
        assert_eq!(balance(&store), Some(dec!(2)));
        // The next append replaces the torn bytes.
        store.append(&totals(2, dec!(3))).unwrap();
        let now = fs::read(&journal).unwrap();
        assert!(now.starts_with(&good));
        assert_eq!(now.iter().filter(|b| **b == b'\n').count(), 2);
        assert_eq!(balance(&store), Some(dec!(3)));
        // A last line that ends in a newline but does not parse is dropped the same way.
        drop(store);
        let mut garbled = good.clone();
        garbled.extend_from_slice(b"\0\0\0\n");
        fs::write(&journal, &garbled).unwrap();
        let store = JsonFileStore::open(&path).unwrap();
        assert_eq!(balance(&store), Some(dec!(2)));
    }

    #[test]
    fn a_bad_record_before_the_last_or_a_gap_refuses_to_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("paper.json");
        let store = JsonFileStore::open(&path).unwrap();
        store.compact(&PaperState::new(dec!(1))).unwrap();
        store.append(&totals(1, dec!(2))).unwrap();
        store.append(&totals(3, dec!(4))).unwrap();
        let err = store.load().unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot be replayed at line 2: journal record 3 follows record 1"),
            "{err}"
        );
        let journal = dir.path().join("paper.json.journal");
        let mut bytes = b"not json\n".to_vec();
        bytes.extend_from_slice(&fs::read(&journal).unwrap());
        fs::write(&journal, bytes).unwrap();
        let err = store.load().unwrap_err();
        assert!(err.to_string().contains("at line 1"), "{err}");
        // A journal without its snapshot is refused too.
        fs::remove_file(&path).unwrap();
        let err = store.load().unwrap_err();
        assert!(err.to_string().contains("no snapshot"), "{err}");
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
    fn corrupt_snapshot_is_named_not_ignored() {
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
    fn opening_in_a_missing_directory_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let err = JsonFileStore::open(dir.path().join("no/such/paper.json")).unwrap_err();
        assert!(
            err.to_string().contains("cannot create its lock file"),
            "{err}"
        );
    }
}
