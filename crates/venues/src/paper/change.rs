//! One committed call's effect on the paper account: the record the journal appends.
//!
//! A record carries only what the call touched (the positions, orders and fills it wrote, and
//! the account's four running totals), so a write costs the size of the change, not of the
//! account. It is replayed mechanically by [`PaperState::apply`]: which terminal orders and
//! fills fall out of the bounded history is decided once, when the call commits, and written
//! into the record, so a replay gives exactly the state the venue had in memory whatever the
//! retention settings of the process that replays it.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tradeengine_model::{ClientOrderId, Fill, Position, Symbol};

use super::{PaperOrder, PaperState};

/// What one call changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperChange {
    /// Journal sequence: one more than the record before it; the snapshot's
    /// [`PaperState::journal_seq`] says which records it already holds.
    pub seq: u64,
    pub balance: Decimal,
    pub realised_pnl: Decimal,
    pub fees_paid: Decimal,
    pub next_order_seq: u64,
    /// Positions written, as they now stand.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub positions: Vec<Position>,
    /// Realised P&L of the symbols that realised some, as it now stands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub realised_by_symbol: Vec<(Symbol, Decimal)>,
    /// Orders placed or moved on, as they now stand.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orders: Vec<PaperOrder>,
    /// Finished orders that fall out of the recent-order index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evicted: Vec<ClientOrderId>,
    /// New fills, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fills: Vec<Fill>,
    /// How many of the oldest fills fall out of the recent-fill list once `fills` are added.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fills_dropped: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl PaperState {
    /// Replays `change` on top of this state. Refuses a record out of sequence (a gap means
    /// records were lost, and continuing would misstate the account).
    pub fn apply(&mut self, change: &PaperChange) -> Result<(), String> {
        let expected = self.journal_seq.checked_add(1);
        if Some(change.seq) != expected {
            return Err(format!(
                "journal record {} follows record {}",
                change.seq, self.journal_seq
            ));
        }
        if change.fills_dropped > self.fills.len() + change.fills.len() {
            return Err(format!(
                "journal record {} drops {} fills of {}",
                change.seq,
                change.fills_dropped,
                self.fills.len() + change.fills.len()
            ));
        }
        self.journal_seq = change.seq;
        self.balance = change.balance;
        self.realised_pnl = change.realised_pnl;
        self.fees_paid = change.fees_paid;
        self.next_order_seq = change.next_order_seq;
        for p in &change.positions {
            self.positions.insert(p.symbol.clone(), p.clone());
        }
        for (symbol, realised) in &change.realised_by_symbol {
            self.realised_by_symbol.insert(symbol.clone(), *realised);
        }
        for o in &change.orders {
            self.orders
                .insert(o.request.client_order_id.clone(), o.clone());
        }
        for id in &change.evicted {
            self.orders.remove(id);
        }
        self.fills.extend(change.fills.iter().cloned());
        self.fills.drain(..change.fills_dropped);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn change(seq: u64) -> PaperChange {
        PaperChange {
            seq,
            balance: dec!(90),
            realised_pnl: dec!(1),
            fees_paid: dec!(2),
            next_order_seq: 7,
            positions: Vec::new(),
            realised_by_symbol: Vec::new(),
            orders: Vec::new(),
            evicted: Vec::new(),
            fills: Vec::new(),
            fills_dropped: 0,
        }
    }

    #[test]
    fn records_apply_in_sequence_only() {
        let mut s = PaperState::new(dec!(100));
        s.apply(&change(1)).unwrap();
        assert_eq!(
            (s.balance, s.next_order_seq, s.journal_seq),
            (dec!(90), 7, 1)
        );
        let err = s.apply(&change(3)).unwrap_err();
        assert!(err.contains("record 3 follows record 1"), "{err}");
        assert!(s.apply(&change(1)).is_err(), "a record is applied once");
    }

    #[test]
    fn a_record_that_drops_more_fills_than_exist_is_refused() {
        let mut s = PaperState::new(dec!(100));
        let mut c = change(1);
        c.fills_dropped = 1;
        assert!(s.apply(&c).unwrap_err().contains("drops 1 fills of 0"));
        assert_eq!(s.journal_seq, 0, "nothing applied");
    }

    #[test]
    fn the_record_is_compact_json() {
        let json = serde_json::to_string(&change(1)).unwrap();
        assert_eq!(
            json,
            r#"{"seq":1,"balance":"90","realised_pnl":"1","fees_paid":"2","next_order_seq":7}"#
        );
    }
}
