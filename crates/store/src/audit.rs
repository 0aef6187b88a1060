//! The audit chain: event shape, hashing and verification. Both backends use these helpers, so
//! a chain written by one verifies the same way as a chain written by the other.
//!
//! ## Hash of event n
//!
//! ```text
//! hash_n = BLAKE3( prev_hash_hex            64 ASCII hex bytes; genesis: 64 × '0'
//!                 ‖ seq                       i64, 8 bytes big-endian
//!                 ‖ at_ms                     i64 epoch milliseconds UTC, 8 bytes big-endian
//!                 ‖ field(kind)               snake_case name, e.g. "signal_accepted"
//!                 ‖ field(account)
//!                 ‖ field(symbol)
//!                 ‖ field(payload) )          canonical JSON (see below), exactly as stored
//! field(None)    = 0x00
//! field(Some(s)) = 0x01 ‖ len(s) as u64 big-endian ‖ UTF-8 bytes of s
//! ```
//!
//! Length prefixes make the encoding unambiguous: `account = "ab", symbol = "c"` can never hash
//! like `account = "a", symbol = "bc"`. The hash is written as lower-case hex.
//!
//! **Canonical JSON** is `serde_json` compact output with every object's keys sorted
//! (recursively). The payload is stored as that exact text and verification hashes the stored
//! text, so neither a database's JSON re-formatting nor a `serde_json` feature flag can change a
//! hash.
//!
//! ## What verification finds
//!
//! Walking events in `seq` order from 1: a changed field changes that event's hash (*edited*);
//! a removed event leaves a gap in `seq` (*deleted*); an event whose `prev_hash` is not its
//! predecessor's hash was re-linked or inserted. Removing the newest events, or rewriting every
//! hash from some event to the head, is only detectable against a copy of the head hash kept
//! elsewhere; [`AuditVerification::head`] is that value.

use serde::{Deserialize, Serialize};
use tradeengine_model::Timestamp;

/// `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an audit event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    SignalAccepted,
    SignalRefused,
    SleeveChanged,
    TargetChanged,
    PlanCreated,
    OrderStateChanged,
    Fill,
    Reconciled,
    RiskRefused,
    /// An account's portfolio risk state moved (a loss limit) or was reset by an operator.
    RiskStateChanged,
    KillSwitch,
    ConfigChanged,
    EngineStarted,
    EngineStopped,
    /// The engine found the chain broken at start, or no longer reaching its anchored head.
    AuditChainBroken,
    /// The venue refused an account's order for a business reason (margin, minimum size,
    /// reduce-only, position limit): one event when such a refusal episode begins; retries
    /// within the episode are not recorded again (the orders themselves still are).
    VenueRejected,
    /// An operator's command from outside the API and the CLI (a Telegram command: who, what,
    /// and what became of it, refused chats included).
    OperatorCommand,
}

impl AuditKind {
    pub const ALL: [Self; 17] = [
        Self::SignalAccepted,
        Self::SignalRefused,
        Self::SleeveChanged,
        Self::TargetChanged,
        Self::PlanCreated,
        Self::OrderStateChanged,
        Self::Fill,
        Self::Reconciled,
        Self::RiskRefused,
        Self::RiskStateChanged,
        Self::KillSwitch,
        Self::ConfigChanged,
        Self::EngineStarted,
        Self::EngineStopped,
        Self::AuditChainBroken,
        Self::VenueRejected,
        Self::OperatorCommand,
    ];

    /// The stored (and hashed) name; equal to the serde name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignalAccepted => "signal_accepted",
            Self::SignalRefused => "signal_refused",
            Self::SleeveChanged => "sleeve_changed",
            Self::TargetChanged => "target_changed",
            Self::PlanCreated => "plan_created",
            Self::OrderStateChanged => "order_state_changed",
            Self::Fill => "fill",
            Self::Reconciled => "reconciled",
            Self::RiskRefused => "risk_refused",
            Self::RiskStateChanged => "risk_state_changed",
            Self::KillSwitch => "kill_switch",
            Self::ConfigChanged => "config_changed",
            Self::EngineStarted => "engine_started",
            Self::EngineStopped => "engine_stopped",
            Self::AuditChainBroken => "audit_chain_broken",
            Self::VenueRejected => "venue_rejected",
            Self::OperatorCommand => "operator_command",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One audit event, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Position in the chain, from 1.
    pub seq: i64,
    pub at: Timestamp,
    pub kind: AuditKind,
    /// Account the event concerns, if any.
    pub account: Option<String>,
    /// Symbol the event concerns, if any.
    pub symbol: Option<String>,
    /// The event's details.
    pub payload: serde_json::Value,
    /// Hex BLAKE3 of the previous event's hash and this event's fields.
    pub hash: String,
}

/// Result of walking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditVerification {
    pub events: i64,
    /// The first sequence number whose hash or link does not verify, with the reason.
    pub first_bad: Option<(i64, String)>,
    /// Hash of the last event walked (`None` for an empty chain). Keep a copy outside the
    /// database to detect truncation of the newest events, which the chain alone cannot.
    #[serde(default)]
    pub head: Option<String>,
    /// Sequence number of that last event.
    #[serde(default)]
    pub head_seq: Option<i64>,
}

impl AuditVerification {
    pub fn is_ok(&self) -> bool {
        self.first_bad.is_none()
    }
}

/// `value` as compact JSON with every object's keys in sorted order, recursively. Written
/// directly (rather than relying on `serde_json::Map` being a `BTreeMap`) so it holds even when
/// some other crate in the build enables `serde_json/preserve_order`, and without building a
/// sorted copy of the value first: audit payloads are written on every signal.
pub fn canonical_json(value: &serde_json::Value) -> String {
    fn write(value: &serde_json::Value, out: &mut Vec<u8>) {
        match value {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<(&String, &serde_json::Value)> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                out.push(b'{');
                for (i, (k, v)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    scalar(k, out);
                    out.push(b':');
                    write(v, out);
                }
                out.push(b'}');
            }
            serde_json::Value::Array(items) => {
                out.push(b'[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write(v, out);
                }
                out.push(b']');
            }
            other => scalar(other, out),
        }
    }
    /// A string, number, bool or null: `serde_json`'s own compact text for it. Writing one to
    /// a `Vec` cannot fail (keys are strings, numbers finite).
    fn scalar<T: serde::Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
        let _ = serde_json::to_writer(&mut *out, value);
    }
    let mut out = Vec::with_capacity(256);
    write(value, &mut out);
    // `serde_json` writes UTF-8 only.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The stored columns of one event, as text: what the hash covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRow {
    pub seq: i64,
    pub at_ms: i64,
    pub kind: String,
    pub account: Option<String>,
    pub symbol: Option<String>,
    /// Canonical JSON text, exactly as stored.
    pub payload: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Lower-case hex BLAKE3 of one event (see the module docs for the byte layout).
pub fn event_hash(
    prev_hash: &str,
    seq: i64,
    at_ms: i64,
    kind: &str,
    account: Option<&str>,
    symbol: Option<&str>,
    payload: &str,
) -> String {
    fn field(h: &mut blake3::Hasher, value: Option<&str>) {
        match value {
            None => {
                h.update(&[0]);
            }
            Some(s) => {
                h.update(&[1]);
                h.update(&(s.len() as u64).to_be_bytes());
                h.update(s.as_bytes());
            }
        }
    }
    let mut h = blake3::Hasher::new();
    h.update(prev_hash.as_bytes());
    h.update(&seq.to_be_bytes());
    h.update(&at_ms.to_be_bytes());
    field(&mut h, Some(kind));
    field(&mut h, account);
    field(&mut h, symbol);
    field(&mut h, Some(payload));
    h.finalize().to_hex().to_string()
}

impl ChainRow {
    /// The hash this row's fields should have.
    pub fn expected_hash(&self) -> String {
        event_hash(
            &self.prev_hash,
            self.seq,
            self.at_ms,
            &self.kind,
            self.account.as_deref(),
            self.symbol.as_deref(),
            &self.payload,
        )
    }
}

/// Walks a chain fed in `seq` order, in batches, and remembers the first break.
#[derive(Debug)]
pub struct ChainWalker {
    events: i64,
    last_seq: i64,
    last_hash: String,
    first_bad: Option<(i64, String)>,
}

impl Default for ChainWalker {
    fn default() -> Self {
        Self {
            events: 0,
            last_seq: 0,
            last_hash: GENESIS_HASH.to_string(),
            first_bad: None,
        }
    }
}

impl ChainWalker {
    /// A walker that continues after event `seq` whose hash is `hash` (a verified anchor), so a
    /// chain that grew since can be checked from there without walking it all again.
    pub fn resume(seq: i64, hash: &str) -> Self {
        Self {
            events: 0,
            last_seq: seq,
            last_hash: hash.to_string(),
            first_bad: None,
        }
    }

    /// Checks the next row. Returns `false` once a break has been found (walking can stop).
    pub fn push(&mut self, row: &ChainRow) -> bool {
        if self.first_bad.is_some() {
            return false;
        }
        self.events += 1;
        let expected_seq = self.last_seq.saturating_add(1);
        let bad = if row.seq != expected_seq {
            Some((
                expected_seq,
                format!(
                    "event {expected_seq} is missing (next stored event is {}): events were deleted",
                    row.seq
                ),
            ))
        } else if row.prev_hash != self.last_hash {
            Some((
                row.seq,
                format!(
                    "prev_hash does not match the hash of event {}: an event was inserted or re-linked",
                    self.last_seq
                ),
            ))
        } else if row.expected_hash() != row.hash {
            Some((
                row.seq,
                "hash does not match the event's fields: the event was edited".to_string(),
            ))
        } else if serde_json::from_str::<serde_json::Value>(&row.payload).is_err() {
            // Unreachable unless the hash was recomputed over a broken payload; still refuse it.
            Some((row.seq, "payload is not JSON".to_string()))
        } else if AuditKind::parse(&row.kind).is_none() {
            Some((row.seq, format!("unknown kind {:?}", row.kind)))
        } else {
            None
        };
        self.last_seq = row.seq;
        self.last_hash = row.hash.clone();
        if bad.is_some() {
            self.first_bad = bad;
            return false;
        }
        true
    }

    /// Seq of the last row pushed (0 before any), the keyset cursor for the next batch.
    pub fn last_seq(&self) -> i64 {
        self.last_seq
    }

    pub fn finish(self) -> AuditVerification {
        AuditVerification {
            events: self.events,
            head: (self.last_seq > 0).then_some(self.last_hash),
            head_seq: (self.last_seq > 0).then_some(self.last_seq),
            first_bad: self.first_bad,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<ChainRow> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let payload = canonical_json(&serde_json::json!({ "n": seq }));
                let hash = event_hash(
                    &prev,
                    seq,
                    1_000 * seq,
                    "fill",
                    Some("acct"),
                    None,
                    &payload,
                );
                let row = ChainRow {
                    seq,
                    at_ms: 1_000 * seq,
                    kind: "fill".into(),
                    account: Some("acct".into()),
                    symbol: None,
                    payload,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                row
            })
            .collect()
    }

    fn walk(rows: &[ChainRow]) -> AuditVerification {
        let mut w = ChainWalker::default();
        for r in rows {
            if !w.push(r) {
                break;
            }
        }
        w.finish()
    }

    #[test]
    fn canonical_json_sorts_keys_recursively() {
        let v = serde_json::json!({"b": 1, "a": {"d": [ {"z": 1, "y": 2} ], "c": null}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}"#
        );
    }

    /// The previous implementation: a sorted copy, then `to_string`. Stored chains were
    /// written with it, so the direct writer must produce the same bytes.
    fn canonical_by_copy(value: &serde_json::Value) -> String {
        fn sorted(value: &serde_json::Value) -> serde_json::Value {
            match value {
                serde_json::Value::Object(map) => {
                    let mut entries: Vec<(&String, &serde_json::Value)> = map.iter().collect();
                    entries.sort_by(|a, b| a.0.cmp(b.0));
                    let mut out = serde_json::Map::new();
                    for (k, v) in entries {
                        out.insert(k.clone(), sorted(v));
                    }
                    serde_json::Value::Object(out)
                }
                serde_json::Value::Array(items) => {
                    serde_json::Value::Array(items.iter().map(sorted).collect())
                }
                other => other.clone(),
            }
        }
        sorted(value).to_string()
    }

    #[test]
    fn canonical_json_matches_the_sorted_copy_byte_for_byte() {
        let values = [
            serde_json::json!(null),
            serde_json::json!(true),
            serde_json::json!(-12),
            serde_json::json!(18446744073709551615u64),
            serde_json::json!(1.5e-7),
            serde_json::json!("quote \" backslash \\ newline \n tab \t nul \u{0} é ✓ 𝄞"),
            serde_json::json!([]),
            serde_json::json!({}),
            serde_json::json!({"z": [], "a": {}, "m": [{"b": 1, "a": [null, false]}], "é": "x"}),
            serde_json::json!({"source": "tv", "raw": {"secret_free": true, "size": "1/2",
                "nested": {"k2": 0.1, "k1": -0.0, "K0": "upper first"}}}),
        ];
        for v in values {
            assert_eq!(canonical_json(&v), canonical_by_copy(&v), "{v}");
        }
    }

    #[test]
    fn hash_fields_are_length_prefixed() {
        let a = event_hash(GENESIS_HASH, 1, 0, "fill", Some("ab"), Some("c"), "{}");
        let b = event_hash(GENESIS_HASH, 1, 0, "fill", Some("a"), Some("bc"), "{}");
        let c = event_hash(GENESIS_HASH, 1, 0, "fill", None, Some("abc"), "{}");
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 64);
        // Stable across releases: a stored chain must keep verifying.
        assert_eq!(
            event_hash(GENESIS_HASH, 1, 0, "fill", None, None, "{}"),
            event_hash(GENESIS_HASH, 1, 0, "fill", None, None, "{}")
        );
    }

    #[test]
    fn intact_chain_verifies() {
        let v = walk(&chain(5));
        assert_eq!(v.events, 5);
        assert!(v.is_ok());
        assert_eq!(v.head.as_deref(), chain(5).last().map(|r| r.hash.as_str()));
    }

    #[test]
    fn edited_event_is_named() {
        let mut rows = chain(5);
        rows[2].payload = r#"{"n":999}"#.into();
        assert_eq!(walk(&rows).first_bad.map(|b| b.0), Some(3));
    }

    #[test]
    fn edited_then_rehashed_event_breaks_the_next_link() {
        let mut rows = chain(5);
        rows[2].payload = r#"{"n":999}"#.into();
        rows[2].hash = rows[2].expected_hash();
        let bad = walk(&rows).first_bad;
        assert_eq!(bad.as_ref().map(|b| b.0), Some(4));
        assert!(bad.is_some_and(|b| b.1.contains("prev_hash")));
    }

    #[test]
    fn deleted_event_is_named_as_a_gap() {
        let mut rows = chain(5);
        rows.remove(1);
        let bad = walk(&rows).first_bad;
        assert_eq!(bad.as_ref().map(|b| b.0), Some(2));
        assert!(bad.is_some_and(|b| b.1.contains("missing")));
    }

    #[test]
    fn deleted_first_event_is_named() {
        let mut rows = chain(3);
        rows.remove(0);
        assert_eq!(walk(&rows).first_bad.map(|b| b.0), Some(1));
    }

    #[test]
    fn kind_names_match_serde() {
        for k in AuditKind::ALL {
            let json = serde_json::to_value(k).ok();
            assert_eq!(json.as_ref().and_then(|v| v.as_str()), Some(k.as_str()));
            assert_eq!(AuditKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(AuditKind::parse("nope"), None);
    }
}
