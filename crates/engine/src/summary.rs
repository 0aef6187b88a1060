//! The session summary printed when the engine stops: per account, the orders sent, filled and
//! rejected, this session's fees and realised P&L, unrealised P&L and equity.
//!
//! Fees and realised P&L are this session's and come from the fills the engine recorded, the
//! same way for every venue (paper or exchange): the account's recorded fills are replayed
//! oldest first at average cost, and the realised P&L and fees of fills at or after the
//! session's start are summed. A position opened before the engine recorded any fill of it
//! (adopted, or from before a fresh database) has no known entry: closing it realises nothing
//! here (the venue's own statement has it). Unrealised P&L and equity are as of the stop.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;
use tradeengine_model::{AccountName, Fill, Side, Symbol, Timestamp};

/// One account's session.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AccountSummary {
    pub cycles: u64,
    pub orders_sent: u64,
    pub orders_filled: u64,
    pub orders_rejected: u64,
    pub equity: Option<Decimal>,
    /// Realised P&L of this session's fills (before fees), quote units.
    pub realised_pnl: Option<Decimal>,
    pub unrealised_pnl: Option<Decimal>,
    /// Fees of this session's fills (negative: rebates), quote units.
    pub fees: Option<Decimal>,
    /// Fills recorded this session.
    pub fills: u64,
    pub open_positions: usize,
}

/// An account's position as its fills built it: signed size and average entry.
#[derive(Debug, Clone, Copy, Default)]
struct Book {
    size: Decimal,
    entry: Decimal,
}

impl Book {
    /// Applies one fill; returns the P&L it realised (before its fee).
    fn apply(&mut self, side: Side, qty: Decimal, price: Decimal) -> Decimal {
        let signed = match side {
            Side::Buy => qty,
            Side::Sell => -qty,
        };
        if self.size.is_zero() || self.size.is_sign_positive() == signed.is_sign_positive() {
            let total = self.size.abs() + qty;
            if !total.is_zero() {
                self.entry = (self.size.abs() * self.entry + qty * price) / total;
            }
            self.size += signed;
            return Decimal::ZERO;
        }
        let closed = self.size.abs().min(qty);
        let direction = if self.size.is_sign_positive() {
            Decimal::ONE
        } else {
            -Decimal::ONE
        };
        let realised = closed * (price - self.entry) * direction;
        let before = self.size;
        self.size += signed;
        if self.size.is_zero() {
            self.entry = Decimal::ZERO;
        } else if self.size.is_sign_positive() != before.is_sign_positive() {
            // Flipped through zero: the rest opened at this fill's price.
            self.entry = price;
        }
        realised
    }
}

/// This session's (realised P&L, fees, fill count) from an account's fills, newest first as
/// the store returns them; fills before `since` only build the positions they close.
pub fn session_pnl(fills_newest_first: &[Fill], since: Timestamp) -> (Decimal, Decimal, u64) {
    let mut books: BTreeMap<Symbol, Book> = BTreeMap::new();
    let (mut realised, mut fees, mut count) = (Decimal::ZERO, Decimal::ZERO, 0);
    for f in fills_newest_first.iter().rev() {
        let r = books
            .entry(f.symbol.clone())
            .or_default()
            .apply(f.side, f.qty, f.price.get());
        if f.filled_at >= since {
            realised += r;
            fees += f.fee;
            count += 1;
        }
    }
    (realised, fees, count)
}

/// The whole session.
#[derive(Debug, Clone, Serialize)]
pub struct SessionSummary {
    pub started_at: Timestamp,
    pub stopped_at: Timestamp,
    pub accounts: BTreeMap<AccountName, AccountSummary>,
    /// Orders in the store not in a final state at stop (settled at the next start).
    pub unsettled_orders: usize,
}

impl SessionSummary {
    /// Human-readable lines for the terminal.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let secs = (self.stopped_at - self.started_at).num_seconds();
        out.push_str(&format!(
            "session summary ({} min {} s)\n",
            secs / 60,
            secs % 60
        ));
        for (name, a) in &self.accounts {
            let fmt = |d: Option<Decimal>| {
                d.map(crate::display::money_text)
                    .unwrap_or_else(|| "-".into())
            };
            out.push_str(&format!(
                "  {name}: this session: {} cycles, orders {} sent / {} filled / {} rejected, {} fills, realised P&L {}, fees {}; at stop: {} open positions, unrealised P&L {}, equity {}\n",
                a.cycles, a.orders_sent, a.orders_filled, a.orders_rejected, a.fills,
                fmt(a.realised_pnl), fmt(a.fees), a.open_positions, fmt(a.unrealised_pnl), fmt(a.equity)
            ));
        }
        if self.unsettled_orders > 0 {
            out.push_str(&format!(
                "  {} orders unsettled; the next start settles them\n",
                self.unsettled_orders
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use tradeengine_model::{ClientOrderId, Price};

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap_or_default()
    }

    fn fill(symbol: &str, side: Side, qty: &str, price: &str, fee: &str, minute: i64) -> Fill {
        let (Ok(symbol), Ok(price), Ok(id)) = (
            Symbol::new(symbol),
            Price::new(d(price)),
            ClientOrderId::new(&format!("t{minute}")),
        ) else {
            panic!("fixture")
        };
        Fill {
            client_order_id: id,
            venue_order_id: None,
            symbol,
            side,
            qty: d(qty),
            price,
            fee: d(fee),
            filled_at: chrono::DateTime::from_timestamp(minute * 60, 0).unwrap_or_default(),
        }
    }

    #[test]
    fn only_this_sessions_fills_count_against_positions_built_before() {
        // Oldest first: a long opened last session, closed (and flipped) this session.
        let mut fills = vec![
            fill("BTCUSDT", Side::Buy, "1", "100", "0.5", 1),
            fill("BTCUSDT", Side::Buy, "1", "200", "0.5", 2),
            // Session starts at minute 10.
            fill("BTCUSDT", Side::Sell, "1", "180", "0.25", 10),
            fill("BTCUSDT", Side::Sell, "2", "160", "0.25", 11),
            fill("BTCUSDT", Side::Buy, "1", "150", "0.1", 12),
            fill("ETHUSDT", Side::Sell, "2", "10", "0.01", 13),
            fill("ETHUSDT", Side::Buy, "1", "12", "0.01", 14),
        ];
        fills.reverse();
        let since = chrono::DateTime::from_timestamp(600, 0).unwrap_or_default();
        let (realised, fees, count) = session_pnl(&fills, since);
        // Entry 150: +30, then +10 closing the rest; the flip opens a short at 160, bought
        // back at 150: +10. ETH short at 10 bought back at 12: −2.
        assert_eq!(realised, d("48"));
        assert_eq!(fees, d("0.62"));
        assert_eq!(count, 5);
        // Everything is session when it started before the first fill: the opens realise 0.
        let (all, all_fees, n) = session_pnl(&fills, Timestamp::MIN_UTC);
        assert_eq!((all, all_fees, n), (d("48"), d("1.62"), 7));
    }

    #[test]
    fn the_summary_shows_session_figures_as_money() {
        let mut accounts = BTreeMap::new();
        let name = AccountName::new("by").unwrap_or_else(|_| panic!("name"));
        accounts.insert(
            name,
            AccountSummary {
                realised_pnl: Some(d("12.3456")),
                fees: Some(d("0.004")),
                fills: 3,
                ..AccountSummary::default()
            },
        );
        let s = SessionSummary {
            started_at: Timestamp::MIN_UTC,
            stopped_at: Timestamp::MIN_UTC + chrono::Duration::seconds(61),
            accounts,
            unsettled_orders: 0,
        };
        let text = s.render();
        assert!(
            text.contains("3 fills, realised P&L 12.35, fees 0.00"),
            "{text}"
        );
        assert!(text.contains("equity -"), "{text}");
    }
}
