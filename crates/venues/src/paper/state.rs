//! The paper account as persisted: everything needed for a restart to continue exactly where
//! the last call left off.
//!
//! Money fields are serialised as decimal strings (never JSON floats), so a round trip is exact.
//!
//! The state is bounded: positions and realised P&L per configured symbol, open orders, and a
//! window of recent finished orders and fills (retention in [`super::PaperConfig`]). The full
//! order and fill history is the engine's store's job: it records every order's outcome and
//! fill when the call returns.

use std::collections::{BTreeMap, VecDeque};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tradeengine_model::{
    ClientOrderId, Fill, Instrument, OrderRequest, OrderStatus, Position, Symbol,
};

/// Format version of [`PaperState`]; a file with another version is refused, not guessed at.
/// Version 2 added `journal_seq`; a version 1 file (one JSON snapshot rewritten on every
/// change, no journal) is read as a version 2 snapshot with no journal records applied.
pub const STATE_VERSION: u32 = 2;

/// The oldest format version that can still be read.
const OLDEST_READABLE_VERSION: u32 = 1;

/// One paper account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperState {
    pub version: u32,
    /// Wallet balance, USDT: starting balance + realised P&L − fees. Excludes unrealised P&L.
    pub balance: Decimal,
    /// Σ realised P&L since the account was created, USDT.
    pub realised_pnl: Decimal,
    /// Σ fees paid since the account was created, USDT (rebates negative).
    pub fees_paid: Decimal,
    /// Per symbol ever traded or configured: size, average entry, leverage, margin mode. Flat
    /// entries stay, to keep their leverage and margin mode.
    pub positions: BTreeMap<Symbol, Position>,
    /// Realised P&L per symbol, USDT.
    pub realised_by_symbol: BTreeMap<Symbol, Decimal>,
    /// Open orders, and the most recent finished ones, by client order id: the index that
    /// makes placement idempotent and answers `order_by_client_id`.
    pub orders: BTreeMap<ClientOrderId, PaperOrder>,
    /// The most recent executions, oldest first.
    pub fills: VecDeque<Fill>,
    /// Sequence of the next accepted order; makes venue order ids and sweep order stable.
    pub next_order_seq: u64,
    /// The last journal record this state includes (0: none).
    #[serde(default)]
    pub journal_seq: u64,
}

/// One accepted order: what was asked and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperOrder {
    pub seq: u64,
    pub request: OrderRequest,
    pub status: OrderStatus,
    /// Why the venue itself cancelled a resting order (it would have increased a position
    /// despite reduce-only, or margin ran out by the time the price crossed).
    pub note: Option<String>,
}

impl PaperState {
    /// A new account holding `balance` USDT and nothing else.
    pub fn new(balance: Decimal) -> Self {
        Self {
            version: STATE_VERSION,
            balance,
            realised_pnl: Decimal::ZERO,
            fees_paid: Decimal::ZERO,
            positions: BTreeMap::new(),
            realised_by_symbol: BTreeMap::new(),
            orders: BTreeMap::new(),
            fills: VecDeque::new(),
            next_order_seq: 1,
            journal_seq: 0,
        }
    }

    /// Refuses a loaded state that this venue cannot continue from: another format version,
    /// keys that disagree with their values, symbols the configuration no longer trades, or
    /// positions whose size and entry price contradict each other.
    pub fn check(&self, instruments: &BTreeMap<Symbol, Instrument>) -> Result<(), String> {
        if !(OLDEST_READABLE_VERSION..=STATE_VERSION).contains(&self.version) {
            return Err(format!(
                "format version {} is not one of the supported {OLDEST_READABLE_VERSION} to \
                 {STATE_VERSION}",
                self.version
            ));
        }
        let known = |symbol: &Symbol, what: &str| {
            if instruments.contains_key(symbol) {
                Ok(())
            } else {
                Err(format!(
                    "{what} in {symbol}, which the configuration has no instrument for"
                ))
            }
        };
        for (symbol, p) in &self.positions {
            if *symbol != p.symbol {
                return Err(format!("position keyed {symbol} is for {}", p.symbol));
            }
            if p.size.is_zero() != p.entry_price.is_none() {
                return Err(format!(
                    "position {symbol} has size {} but entry price {:?}",
                    p.size, p.entry_price
                ));
            }
            if p.leverage < Decimal::ONE {
                return Err(format!(
                    "position {symbol} has leverage {} below 1",
                    p.leverage
                ));
            }
            if !p.size.is_zero() {
                known(symbol, "a position")?;
            }
        }
        for (id, o) in &self.orders {
            if *id != o.status.client_order_id || *id != o.request.client_order_id {
                return Err(format!("order keyed {id} holds another client order id"));
            }
            if o.seq >= self.next_order_seq {
                return Err(format!(
                    "order {id} has sequence {} but the next sequence is {}",
                    o.seq, self.next_order_seq
                ));
            }
            if !o.status.state.is_terminal() {
                known(&o.request.symbol, "an open order")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use tradeengine_model::{Price, Quantity};

    use super::*;

    fn instruments() -> BTreeMap<Symbol, Instrument> {
        crate::paper::default_instruments()
            .into_iter()
            .map(|i| (i.symbol.clone(), i))
            .collect()
    }

    #[test]
    fn json_round_trip_is_exact_and_uses_strings() {
        let mut s = PaperState::new(dec!(10000.123456789));
        let btc = Symbol::new("BTCUSDT").unwrap();
        let mut p = Position::flat(btc.clone());
        p.size = Quantity::new(dec!(-0.005));
        p.entry_price = Price::new(dec!(60012.1)).ok();
        s.positions.insert(btc, p);
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"balance\":\"10000.123456789\""), "{json}");
        let back: PaperState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert!(back.check(&instruments()).is_ok());
    }

    #[test]
    fn check_refuses_contradictions() {
        let btc = Symbol::new("BTCUSDT").unwrap();
        let mut s = PaperState::new(dec!(100));
        let mut p = Position::flat(btc.clone());
        p.size = Quantity::new(dec!(1));
        s.positions.insert(btc.clone(), p.clone());
        assert!(s.check(&instruments()).unwrap_err().contains("entry price"));

        let doge = Symbol::new("DOGEUSDT").unwrap();
        p.symbol = doge.clone();
        p.entry_price = Price::new(dec!(0.1)).ok();
        s.positions.clear();
        s.positions.insert(doge, p);
        assert!(
            s.check(&instruments())
                .unwrap_err()
                .contains("no instrument")
        );

        let mut v = PaperState::new(dec!(1));
        v.version = 3;
        assert!(v.check(&instruments()).unwrap_err().contains("version 3"));
        v.version = 1;
        assert!(v.check(&instruments()).is_ok(), "version 1 is still read");
    }
}
