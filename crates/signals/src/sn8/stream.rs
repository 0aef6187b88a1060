//! The validator's WebSocket stream, frame by frame (taoshidev/vanta-network
//! `vanta_api/websocket_server.py` and `websocket_client.py`; the docs' description is in
//! `docs/validator_rest_server.md`, "WebSocket API").
//!
//! - Auth: the key goes in `Authorization: Bearer …` on the upgrade (current server); older
//!   servers read a first message `{"api_key": …, "last_sequence": -1}` instead, so both are
//!   sent. The reply is `{"status": "success", "current_sequence": 0, "tier": 100}` or
//!   `{"status": "error", "message": …, "code": "INSUFFICIENT_TIER"}` (tier below 100).
//! - Subscribe: `{"type": "subscribe", "all": true, "sender_timestamp": ms}` →
//!   `{"type": "subscription_status", "status": "success", …}`.
//! - Updates: `{"sequence": n, "timestamp": ms, "data": {"position": {…full position with its
//!   orders and miner_hotkey…}, "miner_repo_version": …}}`, or several in
//!   `{"type": "batch", "messages": [update…]}`. `data` may instead hold a subaccount
//!   `dashboard`, which only moves the sequence.
//! - `{"type": "pong", …}` answers our pings.
//!
//! Sequence numbers count every message sent to this connection; a jump means messages were
//! lost and the book must be rebuilt from REST ([`SequenceTracker`]).

use serde::Deserialize;

use super::lenient::{lenient_opt, lenient_vec, opt_i64, opt_string, sanitize_non_finite};
use super::types::Position;

/// One position update from the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamMessage {
    pub sequence: i64,
    /// When the server sent it (epoch ms).
    pub timestamp_ms: Option<i64>,
    /// The position as the validator now holds it (`None`: the message carried no position,
    /// e.g. a dashboard update).
    pub position: Option<Position>,
}

/// What one frame said.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    Authenticated {
        current_sequence: Option<i64>,
        tier: Option<i64>,
    },
    /// The server refused the key (bad key, or a tier below 100: `code = INSUFFICIENT_TIER`).
    Refused {
        message: String,
        code: Option<String>,
    },
    Subscribed,
    Update(Box<StreamMessage>),
    /// Pongs and anything else without a sequence.
    Other,
}

/// Why a frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    #[error("stream frame is not JSON: {0}")]
    Json(String),
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Frame {
    #[serde(rename = "type", deserialize_with = "opt_string")]
    kind: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    status: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    message: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    code: Option<String>,
    #[serde(deserialize_with = "opt_i64")]
    current_sequence: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    tier: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    sequence: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    timestamp: Option<i64>,
    #[serde(deserialize_with = "lenient_opt")]
    data: Option<Data>,
    #[serde(deserialize_with = "lenient_vec")]
    messages: Vec<Frame>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Data {
    #[serde(deserialize_with = "lenient_opt")]
    position: Option<Position>,
}

fn update(f: Frame) -> Option<StreamEvent> {
    let sequence = f.sequence?;
    let mut position = f.data.and_then(|d| d.position);
    if let Some(p) = &mut position {
        p.refresh_summary();
    }
    Some(StreamEvent::Update(Box::new(StreamMessage {
        sequence,
        timestamp_ms: f.timestamp,
        position,
    })))
}

/// Reads one text frame into its events (a batch gives several, in order).
pub fn parse_stream_frame(text: &str) -> Result<Vec<StreamEvent>, StreamError> {
    let clean = sanitize_non_finite(text.as_bytes());
    let f: Frame = serde_json::from_slice(&clean).map_err(|e| StreamError::Json(e.to_string()))?;
    if f.kind.as_deref() == Some("batch") {
        return Ok(f.messages.into_iter().filter_map(update).collect());
    }
    if f.sequence.is_some() {
        return Ok(update(f).into_iter().collect());
    }
    if f.kind.as_deref() == Some("subscription_status") {
        return Ok(vec![if f.status.as_deref() == Some("success") {
            StreamEvent::Subscribed
        } else {
            StreamEvent::Refused {
                message: f.message.unwrap_or_else(|| "subscription refused".into()),
                code: f.code,
            }
        }]);
    }
    Ok(vec![match f.status.as_deref() {
        Some("success") if f.kind.is_none() => StreamEvent::Authenticated {
            current_sequence: f.current_sequence,
            tier: f.tier,
        },
        Some("error") => StreamEvent::Refused {
            message: f.message.unwrap_or_else(|| "refused".into()),
            code: f.code,
        },
        _ => StreamEvent::Other,
    }])
}

/// What a sequence number means for the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceVerdict {
    /// The next one: apply it.
    Next,
    /// Already seen (a resend): ignore it.
    Duplicate,
    /// Messages were lost between `expected` and `got`: rebuild from REST.
    Gap { expected: i64, got: i64 },
}

/// Follows one connection's sequence numbers. The first message after (re)connecting sets the
/// baseline: servers differ on whether `current_sequence` in the auth reply is the last sent or
/// the next, and every (re)connection is followed by a REST resync anyway.
#[derive(Debug, Clone, Default)]
pub struct SequenceTracker {
    last: Option<i64>,
}

impl SequenceTracker {
    pub fn reset(&mut self) {
        self.last = None;
    }

    pub fn check(&mut self, seq: i64) -> SequenceVerdict {
        match self.last {
            None => {
                self.last = Some(seq);
                SequenceVerdict::Next
            }
            Some(last) if seq <= last => SequenceVerdict::Duplicate,
            Some(last) if seq == last.saturating_add(1) => {
                self.last = Some(seq);
                SequenceVerdict::Next
            }
            Some(last) => {
                self.last = Some(seq);
                SequenceVerdict::Gap {
                    expected: last.saturating_add(1),
                    got: seq,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_refusal_subscription_updates_and_batches() {
        let ev = parse_stream_frame(
            r#"{"status": "success", "message": "Authentication successful.", "current_sequence": 0, "tier": 100}"#,
        )
        .unwrap();
        assert_eq!(
            ev,
            vec![StreamEvent::Authenticated {
                current_sequence: Some(0),
                tier: Some(100)
            }]
        );
        let ev = parse_stream_frame(
            r#"{"status": "error", "message": "WebSocket connections require tier 100 access. Please upgrade your API key.", "code": "INSUFFICIENT_TIER"}"#,
        )
        .unwrap();
        assert!(
            matches!(&ev[0], StreamEvent::Refused { code: Some(c), .. } if c == "INSUFFICIENT_TIER")
        );
        let ev = parse_stream_frame(
            r#"{"type": "subscription_status", "status": "success", "all": true, "action": "subscribe"}"#,
        )
        .unwrap();
        assert_eq!(ev, vec![StreamEvent::Subscribed]);
        let one = r#"{"sequence": 7, "timestamp": 5, "data": {"position": {"miner_hotkey": "hk", "position_uuid": "u", "trade_pair": ["BTCUSD", "BTC/USD", 0.003, 0.001, 0.5], "net_leverage": NaN, "orders": [{"order_type": "LONG", "leverage": 0.1, "price": 100, "processed_ms": 3}]}, "miner_repo_version": "8.0.0"}}"#;
        let ev = parse_stream_frame(one).unwrap();
        let StreamEvent::Update(m) = &ev[0] else {
            panic!("{ev:?}")
        };
        assert_eq!(m.sequence, 7);
        let p = m.position.as_ref().unwrap();
        assert_eq!(p.miner_hotkey.as_deref(), Some("hk"));
        assert!(p.summary.computed);
        let batch = format!(
            r#"{{"type": "batch", "messages": [{one}, 3, {{"sequence": 8, "data": {{"dashboard": {{}}}}}}]}}"#
        );
        let ev = parse_stream_frame(&batch).unwrap();
        assert_eq!(ev.len(), 2);
        assert!(
            matches!(&ev[1], StreamEvent::Update(m) if m.sequence == 8 && m.position.is_none())
        );
        assert_eq!(
            parse_stream_frame(r#"{"type": "pong", "client_timestamp": 1}"#).unwrap(),
            vec![StreamEvent::Other]
        );
        assert!(parse_stream_frame("not json").is_err());
    }

    #[test]
    fn sequence_gaps_and_duplicates() {
        let mut t = SequenceTracker::default();
        assert_eq!(t.check(41), SequenceVerdict::Next);
        assert_eq!(t.check(42), SequenceVerdict::Next);
        assert_eq!(t.check(42), SequenceVerdict::Duplicate);
        assert_eq!(
            t.check(45),
            SequenceVerdict::Gap {
                expected: 43,
                got: 45
            }
        );
        assert_eq!(t.check(46), SequenceVerdict::Next);
        t.reset();
        assert_eq!(t.check(0), SequenceVerdict::Next);
    }
}
