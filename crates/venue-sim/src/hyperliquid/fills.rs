//! The account's executions, one row per fill with its own trade id (`tid`), as `userFills`
//! answers over REST and pushes on the WebSocket: the same rows, the same ids, so a client can
//! count each fill once across the snapshot sent after a reconnect and the live pushes
//! (<https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/subscriptions>:
//! `WsUserFills`, "fills snapshot followed by streaming fills").
//!
//! The shared book keeps each order's running totals, not its executions, so the log is brought
//! up to date from those totals whenever it is read ([`FillLog::sync`]): an order whose filled
//! quantity grew gets one row for the growth, priced at the growth's own average and charged
//! the fee it added. Two executions between reads become one row, as the exchange's own
//! `aggregateByTime` would show them.

use std::collections::{HashMap, VecDeque};

use rust_decimal::Decimal;
use serde_json::{Value, json};
use tradeengine_model::Side;

use super::coin_of;
use crate::book::Exchange;

/// `userFills` returns at most the 2000 most recent fills
/// (<https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint#retrieve-a-users-fills>).
pub const KEPT: usize = 2000;

/// One execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimFill {
    /// Position in the log since the simulator started (never reused).
    pub seq: u64,
    pub tid: u64,
    pub oid: u64,
    pub symbol: String,
    pub side: Side,
    pub px: Decimal,
    pub sz: Decimal,
    pub fee: Decimal,
    pub time: i64,
}

fn s(d: Decimal) -> String {
    d.normalize().to_string()
}

impl SimFill {
    /// The row in the documented `WsFill` / `userFills` shape: every field the pages list
    /// (no `cloid`, which neither lists; `liquidation` and `builderFee` are optional and absent).
    pub fn row(&self) -> Value {
        let buy = self.side == Side::Buy;
        json!({
            "coin": coin_of(&self.symbol), "px": s(self.px), "sz": s(self.sz),
            "side": if buy { "B" } else { "A" }, "time": self.time,
            "startPosition": "0.0", "dir": if buy { "Open Long" } else { "Open Short" },
            "closedPnl": "0.0", "hash": format!("0x{:064x}", self.tid), "oid": self.oid,
            "crossed": true, "fee": s(self.fee), "tid": self.tid, "feeToken": "USDC",
        })
    }
}

/// What the log has already counted of one order: (filled, notional, fee).
type Counted = (Decimal, Decimal, Decimal);

#[derive(Debug, Default)]
pub struct FillLog {
    rows: VecDeque<SimFill>,
    counted: HashMap<u64, Counted>,
    /// Rows ever appended: the `seq` of the next one.
    appended: u64,
}

impl FillLog {
    /// Appends a row for every order whose filled quantity grew since the last sync.
    pub fn sync(&mut self, ex: &Exchange) {
        for o in ex.orders() {
            let (filled, notional, fee) =
                self.counted.get(&o.order_id).copied().unwrap_or_default();
            if o.filled <= filled {
                continue;
            }
            let now_notional = o.filled * o.avg_price.unwrap_or_default();
            let sz = o.filled - filled;
            let px = ((now_notional - notional) / sz).round_dp(8).normalize();
            self.counted
                .insert(o.order_id, (o.filled, now_notional, o.fee));
            self.appended += 1;
            self.rows.push_back(SimFill {
                seq: self.appended,
                tid: self.appended,
                oid: o.order_id,
                symbol: o.symbol.clone(),
                side: o.side,
                px,
                sz,
                fee: o.fee - fee,
                time: o.updated_ms,
            });
            while self.rows.len() > KEPT {
                self.rows.pop_front();
            }
        }
    }

    /// Rows appended after `seq` (a stream's cursor), oldest first.
    pub fn after(&self, seq: u64) -> Vec<SimFill> {
        self.rows.iter().filter(|f| f.seq > seq).cloned().collect()
    }

    /// Every row kept, newest first (the REST reply's order).
    pub fn newest_first(&self) -> Vec<SimFill> {
        self.rows.iter().rev().cloned().collect()
    }

    /// The `seq` of the last row appended (a new stream's cursor).
    pub fn last_seq(&self) -> u64 {
        self.appended
    }
}
