//! The validator's positions as the source last knows them: reset by every REST snapshot,
//! updated in between by the WebSocket stream, ranked exactly as a REST payload would be.
//!
//! A stream update carries the whole position (orders included) as the validator now holds it,
//! so applying it is an upsert by `position_uuid` within its `miner_hotkey`, kept only when it is
//! not older than what the book holds (by the position's latest order or close): applying the
//! same update twice, an update the snapshot already includes, or an update older than the
//! snapshot changes nothing. The validator rebuilds its REST output only every few seconds, so a
//! snapshot can be older than updates already streamed; the caller re-applies the updates since
//! the resync began on top of it, and this rule keeps whichever is newer. That is what makes
//! REST polling and the stream rank the same.
//!
//! Miners stay in the snapshot's order (the validator orders them by returns and the ranking's
//! tie-breaks depend on it); a miner the snapshot did not have is appended, without the returns
//! only REST carries, until the next snapshot.

use std::collections::HashMap;

use super::types::{MinerPositions, Position, PositionsDoc};

/// Why a stream update could not be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateRefused {
    /// No position in the message (a dashboard update).
    NoPosition,
    /// The position names no miner or has no uuid: it cannot be placed.
    Unplaceable,
}

/// Positions by miner, in the snapshot's order.
#[derive(Debug, Clone, Default)]
pub struct PositionBook {
    doc: PositionsDoc,
    miner_index: HashMap<String, usize>,
    /// Whether anything changed since the last [`PositionBook::take_dirty`].
    dirty: bool,
}

impl PositionBook {
    /// Replaces everything with a REST snapshot.
    pub fn reset(&mut self, doc: PositionsDoc) {
        self.miner_index = doc
            .miners
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (k.clone(), i))
            .collect();
        self.doc = doc;
        self.dirty = true;
    }

    /// Applies one streamed position.
    pub fn apply(&mut self, position: Option<Position>) -> Result<(), UpdateRefused> {
        let pos = position.ok_or(UpdateRefused::NoPosition)?;
        let (Some(hotkey), Some(uuid)) = (pos.miner_hotkey.clone(), pos.position_uuid.clone())
        else {
            return Err(UpdateRefused::Unplaceable);
        };
        let i = match self.miner_index.get(&hotkey) {
            Some(i) => *i,
            None => {
                self.doc
                    .miners
                    .push((hotkey.clone(), MinerPositions::default()));
                let i = self.doc.miners.len() - 1;
                self.miner_index.insert(hotkey, i);
                i
            }
        };
        let positions = &mut self.doc.miners[i].1.positions;
        match positions
            .iter_mut()
            .find(|p| p.position_uuid.as_deref() == Some(uuid.as_str()))
        {
            Some(slot) => {
                let older = pos.last_activity_ms() < slot.last_activity_ms();
                if !older && *slot != pos {
                    *slot = pos;
                    self.dirty = true;
                }
            }
            None => {
                positions.push(pos);
                self.dirty = true;
            }
        }
        Ok(())
    }

    /// The book as a payload.
    pub fn doc(&self) -> &PositionsDoc {
        &self.doc
    }

    /// True once after any change.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse_positions;
    use super::*;

    fn pos(hk: &str, uuid: &str, lev: f64) -> Position {
        let mut p: Position = serde_json::from_value(serde_json::json!({
            "miner_hotkey": hk, "position_uuid": uuid, "trade_pair": ["BTCUSD"],
            "orders": [{"order_type": "LONG", "leverage": lev, "price": 100.0, "processed_ms": 1}]
        }))
        .unwrap();
        p.refresh_summary();
        p
    }

    #[test]
    fn upserts_by_uuid_keep_order_and_are_idempotent() {
        let mut b = PositionBook::default();
        b.reset(parse_positions(br#"{"a": {"positions": []}, "b": {"positions": []}}"#).unwrap());
        assert!(b.take_dirty());
        b.apply(Some(pos("b", "u1", 0.1))).unwrap();
        b.apply(Some(pos("c", "u2", 0.2))).unwrap();
        assert!(b.take_dirty());
        b.apply(Some(pos("b", "u1", 0.1))).unwrap();
        assert!(!b.take_dirty(), "the same update twice changes nothing");
        let mut newer = pos("b", "u1", 0.3);
        newer.orders[0].processed_ms = Some(2);
        newer.refresh_summary();
        b.apply(Some(newer)).unwrap();
        assert!(b.take_dirty());
        // An update older than what the book holds (a stale resend) is ignored.
        b.apply(Some(pos("b", "u1", 0.1))).unwrap();
        assert!(!b.take_dirty());
        let keys: Vec<&str> = b.doc().miners.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c"]);
        assert_eq!(b.doc().miners[1].1.positions.len(), 1);
        assert_eq!(
            b.doc().miners[1].1.positions[0].orders[0].leverage,
            Some(0.3)
        );
        assert_eq!(b.apply(None), Err(UpdateRefused::NoPosition));
        let mut anon = pos("x", "u", 0.1);
        anon.miner_hotkey = None;
        assert_eq!(b.apply(Some(anon)), Err(UpdateRefused::Unplaceable));
    }
}
