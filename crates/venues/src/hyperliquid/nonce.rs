//! Nonces for one signer: milliseconds, strictly increasing, also across restarts.
//!
//! The exchange keeps the 100 highest nonces of each signer and accepts a new one only if it is
//! larger than the smallest of them, was never used, and lies within (T − 2 days, T + 1 day)
//! of the block time T
//! (<https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/nonces-and-api-wallets>).
//! Each nonce is `max(last + 1, now)`. Two things keep a restart from going back:
//! - the counter may lead the wall clock by at most [`MAX_LEAD_MS`] (a burst beyond one order
//!   per millisecond waits instead), so a process that restarts after that long starts above
//!   every nonce it used;
//! - with a state file, a high-water mark is written before any nonce above the last one
//!   written is handed out (in blocks of [`RESERVE_BLOCK_MS`], so not every order writes), and
//!   the next process starts above it whatever its clock says.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How far ahead of the wall clock the counter may run.
pub const MAX_LEAD_MS: u64 = 1_000;

/// How much of the future one write of the state file reserves.
pub const RESERVE_BLOCK_MS: u64 = 10_000;

/// Why no nonce was handed out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NonceError {
    /// More than one nonce per millisecond for [`MAX_LEAD_MS`]: wait this long and ask again.
    #[error("nonces are {0} ms ahead of the clock; wait before signing more")]
    TooFarAhead(u64),
    #[error("nonce state file {path}: {message}")]
    State { path: String, message: String },
}

#[derive(Debug)]
struct State {
    last: u64,
    /// Where the state file said the previous process stopped (0 without a file).
    floor: u64,
    /// Every nonce up to this one is covered by the state file (0 without a file).
    reserved: u64,
}

/// The nonce source of one signer (one API wallet). Share it between every request the signer
/// signs.
#[derive(Debug)]
pub struct Nonces {
    state: Mutex<State>,
    file: Option<PathBuf>,
}

impl Nonces {
    /// Without a state file: safe across restarts that take longer than [`MAX_LEAD_MS`].
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State {
                last: 0,
                floor: 0,
                reserved: 0,
            }),
            file: None,
        }
    }

    /// With a state file holding the high-water mark (created when missing). A file that
    /// exists but cannot be read is an error: starting from zero could reuse nonces.
    pub fn with_file(path: &Path) -> Result<Self, NonceError> {
        let floor = match std::fs::read_to_string(path) {
            Ok(text) => text.trim().parse::<u64>().map_err(|_| NonceError::State {
                path: path.display().to_string(),
                message: "not a whole number".into(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => {
                return Err(NonceError::State {
                    path: path.display().to_string(),
                    message: e.to_string(),
                });
            }
        };
        Ok(Self {
            state: Mutex::new(State {
                last: floor,
                floor,
                reserved: floor,
            }),
            file: Some(path.to_path_buf()),
        })
    }

    /// The next nonce at wall-clock time `now_ms`.
    pub fn next(&self, now_ms: u64) -> Result<u64, NonceError> {
        let mut state = match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        let nonce = (state.last + 1).max(now_ms);
        let lead = nonce.saturating_sub(now_ms);
        // The floor from the state file may sit ahead of a clock that went back; the lead limit
        // is for our own bursts, so it counts only what we added beyond that floor.
        if lead > MAX_LEAD_MS && nonce > state.floor.max(now_ms) + MAX_LEAD_MS {
            return Err(NonceError::TooFarAhead(lead));
        }
        if let Some(path) = &self.file
            && nonce > state.reserved
        {
            let reserve = nonce + RESERVE_BLOCK_MS;
            write_atomically(path, reserve)?;
            state.reserved = reserve;
        }
        state.last = nonce;
        Ok(nonce)
    }
}

impl Default for Nonces {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes `value` to a temporary file beside `path`, syncs it and renames it over `path`, so a
/// crash leaves the old mark or the new one, never a torn file.
fn write_atomically(path: &Path, value: u64) -> Result<(), NonceError> {
    use std::io::Write;
    let err = |e: std::io::Error| NonceError::State {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(err)?;
    f.write_all(value.to_string().as_bytes()).map_err(err)?;
    f.sync_all().map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_follow_the_clock_and_never_repeat() {
        let n = Nonces::new();
        assert_eq!(n.next(1_000_000), Ok(1_000_000));
        // Same millisecond: one more.
        assert_eq!(n.next(1_000_000), Ok(1_000_001));
        // Clock went back a little: still above the last.
        assert_eq!(n.next(999_900), Ok(1_000_002));
        // Back by more than the lead: nothing is signed until the clock catches up, rather
        // than run further ahead of it.
        assert_eq!(n.next(990_000), Err(NonceError::TooFarAhead(10_003)));
        // Clock moved on: the clock.
        assert_eq!(n.next(2_000_000), Ok(2_000_000));
    }

    #[test]
    fn a_burst_cannot_run_more_than_the_lead_ahead_of_the_clock() {
        let n = Nonces::new();
        let now = 5_000_000;
        let mut last = 0;
        for _ in 0..=MAX_LEAD_MS {
            last = n.next(now).unwrap_or_default();
        }
        assert_eq!(last, now + MAX_LEAD_MS);
        assert_eq!(n.next(now), Err(NonceError::TooFarAhead(MAX_LEAD_MS + 1)));
        // A millisecond later there is room again.
        assert_eq!(n.next(now + 2), Ok(now + MAX_LEAD_MS + 1));
    }

    #[test]
    fn a_restart_with_the_state_file_starts_above_every_nonce_handed_out() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("agent.nonce");
        let first = Nonces::with_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let used: Vec<u64> = (0..5)
            .map(|_| first.next(7_000_000).unwrap_or_default())
            .collect();
        assert_eq!(
            used,
            [7_000_000, 7_000_001, 7_000_002, 7_000_003, 7_000_004]
        );
        drop(first);
        // The next process's clock is behind (NTP step, another host): it still goes up.
        let second = Nonces::with_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let next = second.next(6_000_000).unwrap_or_default();
        assert!(next > 7_000_004, "{next}");
        assert_eq!(next, 7_000_000 + RESERVE_BLOCK_MS + 1);
    }

    #[test]
    fn an_unreadable_state_file_is_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("agent.nonce");
        std::fs::write(&path, "garbage").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            Nonces::with_file(&path),
            Err(NonceError::State { .. })
        ));
    }
}
