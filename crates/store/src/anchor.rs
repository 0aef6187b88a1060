//! The audit head kept outside the database, so truncation and rewriting are detected.
//!
//! The hash chain alone proves that no event in the middle was edited, deleted or inserted. It
//! cannot prove that the newest events are all there, nor that someone did not edit an event and
//! recompute every hash after it: the result is a shorter or different chain that verifies. Both
//! are caught by comparing the chain with a copy of its head (sequence and hash) taken earlier and
//! kept elsewhere:
//!
//! - the engine writes the head to `audit-anchor.json` in the data dir as the chain grows (at
//!   most a few seconds behind), atomically, `0600`, and logs it; `audit verify` checks the chain
//!   against that file by default. A chain whose events were deleted from the head ends before
//!   the anchor; a chain rewritten at or before the anchored event has another hash there.
//! - `audit verify` prints the head; an operator who keeps it elsewhere (a ticket, a log
//!   shipper, another machine) checks it later with `--expect-head SEQ:HASH`.
//!
//! What this cannot catch: someone with write access to **both** the database and the anchor
//! file (the same user on the same machine) can rewrite both consistently; events appended after
//! the last anchor write (a few seconds) and then deleted are not detected by the file either.
//! Heads kept off the machine (the log line the engine writes at each anchor, shipped elsewhere,
//! or a head noted by the operator) are the defence against that attacker; a secret key kept
//! beside the database would add nothing, since that attacker can read it too.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tradeengine_model::Timestamp;

use crate::{AuditVerification, Store, StoreError};

/// File name of the anchor in the data dir.
pub const ANCHOR_FILE_NAME: &str = "audit-anchor.json";

/// A position in the chain: event `seq` has hash `hash`. Written and parsed as `SEQ:HASH`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
}

impl std::fmt::Display for AuditHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

impl std::str::FromStr for AuditHead {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (seq, hash) = s
            .trim()
            .split_once(':')
            .ok_or_else(|| format!("{s:?} is not SEQ:HASH"))?;
        let seq: i64 = seq
            .parse()
            .map_err(|_| format!("{seq:?} is not a sequence number"))?;
        if seq < 1 {
            return Err(format!("sequence {seq} is below 1"));
        }
        let hash = hash.to_ascii_lowercase();
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("the hash must be 64 hex digits".to_string());
        }
        Ok(Self { seq, hash })
    }
}

/// The content of `audit-anchor.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditAnchor {
    pub seq: i64,
    pub hash: String,
    /// When the engine wrote it.
    pub at: Timestamp,
}

impl AuditAnchor {
    pub fn head(&self) -> AuditHead {
        AuditHead {
            seq: self.seq,
            hash: self.hash.clone(),
        }
    }
}

/// Why the anchor file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not an audit anchor: {reason}")]
    Corrupt { path: String, reason: String },
}

/// Reads the anchor in `dir`; `Ok(None)` when there is none yet.
pub fn read_anchor(dir: &Path) -> Result<Option<AuditAnchor>, AnchorError> {
    let path = dir.join(ANCHOR_FILE_NAME);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(AnchorError::Io {
                path: path.display().to_string(),
                source,
            });
        }
    };
    let anchor: AuditAnchor = serde_json::from_str(&text).map_err(|e| AnchorError::Corrupt {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    // Same checks as `--expect-head`.
    anchor
        .head()
        .to_string()
        .parse::<AuditHead>()
        .map_err(|reason| AnchorError::Corrupt {
            path: path.display().to_string(),
            reason,
        })?;
    Ok(Some(anchor))
}

/// Writes the anchor in `dir` atomically (temp file, fsync, rename), mode `0600`.
pub fn write_anchor(dir: &Path, anchor: &AuditAnchor) -> std::io::Result<()> {
    let body = serde_json::to_vec_pretty(anchor).map_err(std::io::Error::other)?;
    crate::files::write_private_atomic(&dir.join(ANCHOR_FILE_NAME), &body)
}

/// Walks the whole chain and, when it verifies, checks that it still holds `expect`: event
/// `expect.seq` exists and has hash `expect.hash`. A mismatch is reported as the chain's first
/// bad event, like any other break.
pub async fn verify_against(
    store: &dyn Store,
    expect: Option<&AuditHead>,
) -> Result<AuditVerification, StoreError> {
    let mut report = store.verify_audit().await?;
    if let (true, Some(expect)) = (report.is_ok(), expect) {
        report.first_bad = holds_head(store, expect).await?;
    }
    Ok(report)
}

/// Whether a chain already verified still holds `expect`: `None` when it does, else the
/// anchored seq and why not (deleted from the head, or rewritten).
pub async fn holds_head(
    store: &dyn Store,
    expect: &AuditHead,
) -> Result<Option<(i64, String)>, StoreError> {
    let found = store.audit_events(expect.seq.saturating_sub(1), 1).await?;
    Ok(anchor_mismatch(
        expect,
        found.first().map(|e| (e.seq, &e.hash)),
    ))
}

/// Why the event found at (or after) `expect.seq` contradicts `expect`, if it does.
pub(crate) fn anchor_mismatch(
    expect: &AuditHead,
    found: Option<(i64, &String)>,
) -> Option<(i64, String)> {
    match found {
        Some((seq, hash)) if seq == expect.seq && *hash == expect.hash => None,
        Some((seq, _)) if seq == expect.seq => Some((
            seq,
            format!(
                "event {seq} does not have the anchored hash {}: the chain was rewritten at or before it",
                expect.hash
            ),
        )),
        _ => Some((
            expect.seq,
            format!(
                "event {} was anchored but the chain no longer holds it: the newest events were deleted",
                expect.seq
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_parse_and_print() {
        let hash = "AB".repeat(32);
        let head: AuditHead = format!("12:{hash}")
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(head.seq, 12);
        assert_eq!(head.to_string(), format!("12:{}", hash.to_lowercase()));
        assert!("12".parse::<AuditHead>().is_err());
        assert!("0:aa".parse::<AuditHead>().is_err());
        assert!(format!("x:{hash}").parse::<AuditHead>().is_err());
        assert!("3:abc".parse::<AuditHead>().is_err());
    }

    #[test]
    fn anchor_round_trips_through_its_file() {
        let Ok(dir) = tempfile::tempdir() else {
            panic!("no temp dir")
        };
        assert!(matches!(read_anchor(dir.path()), Ok(None)));
        let anchor = AuditAnchor {
            seq: 7,
            hash: "cd".repeat(32),
            at: chrono::DateTime::from_timestamp_millis(1_700_000_000_000).unwrap_or_default(),
        };
        assert!(write_anchor(dir.path(), &anchor).is_ok());
        assert_eq!(read_anchor(dir.path()).ok().flatten(), Some(anchor));
        assert!(std::fs::write(dir.path().join(ANCHOR_FILE_NAME), "{}").is_ok());
        assert!(matches!(
            read_anchor(dir.path()),
            Err(AnchorError::Corrupt { .. })
        ));
    }

    #[test]
    fn mismatches_name_truncation_and_rewriting() {
        let hash = "ab".repeat(32);
        let other = "cd".repeat(32);
        let expect = AuditHead {
            seq: 5,
            hash: hash.clone(),
        };
        assert_eq!(anchor_mismatch(&expect, Some((5, &hash))), None);
        let rewritten = anchor_mismatch(&expect, Some((5, &other)));
        assert!(rewritten.is_some_and(|(s, r)| s == 5 && r.contains("rewritten")));
        let deleted = anchor_mismatch(&expect, None);
        assert!(deleted.is_some_and(|(s, r)| s == 5 && r.contains("deleted")));
    }
}
