//! BloFin reply shapes and their conversion to the engine's model.
//!
//! Strict: every field read here is one BloFin documents as always present, so its absence is
//! an error naming the field and the endpoint; `clientOrderId`, documented as `null` for orders
//! placed without one, is an `Option`. Shapes: <https://docs.blofin.com/index.html#get-instruments>,
//! <https://docs.blofin.com/index.html#get-balance>, <https://docs.blofin.com/index.html#get-positions>,
//! <https://docs.blofin.com/index.html#get-active-orders>, <https://docs.blofin.com/index.html#ws-order-channel>;
//! recorded examples are in `crates/venues/testdata/blofin/`.
//!
//! BloFin counts sizes in **contracts**: base units = contracts × `contractValue`. Every size
//! read here is converted with the instrument's `contract_size`, so nothing above this module
//! ever sees a contract count. Numbers arrive as strings; flags and times as strings or
//! native JSON, so both are accepted.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use tradeengine_model::{
    ClientOrderId, Instrument, MarginMode, OrderState, OrderStatus, Position, Quantity, Side,
    Symbol,
};

use super::{VENUE, engine_client_id, engine_symbol};
use crate::VenueError;
use crate::parse::{bad_reply, dec, ms, price_opt};

/// `"true"`/`true`/`"1"` → true, `"false"`/`false`/`"0"` → false (BloFin documents the string
/// form; the native one is accepted too); anything else is a bad reply.
pub fn flag(field: &str, v: &Value) -> Result<bool, VenueError> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") || s == "1" => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") || s == "0" => Some(false),
        _ => None,
    }
    .ok_or_else(|| bad_reply(VENUE, field, &v.to_string()))
}

/// Epoch ms as a string or a number.
pub fn millis(field: &str, v: &Value) -> Result<i64, VenueError> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| bad_reply(VENUE, field, &v.to_string()))
}

pub const INSTRUMENTS: &str = "GET /api/v1/market/instruments";
pub const TICKERS: &str = "GET /api/v1/market/tickers";
pub const BALANCE: &str = "GET /api/v1/account/balance";
pub const POSITIONS: &str = "GET /api/v1/account/positions";
pub const MARGIN_MODE: &str = "GET /api/v1/account/margin-mode";
pub const ORDER_DETAIL: &str = "GET /api/v1/trade/order-detail";
pub const ORDERS_PENDING: &str = "GET /api/v1/trade/orders-pending";
pub const STREAM_ORDERS: &str = "stream orders";
pub const STREAM_POSITIONS: &str = "stream positions";

/// Contracts to base units.
pub fn to_base(i: &Instrument, field: &str, contracts: Decimal) -> Result<Decimal, VenueError> {
    i.venue_to_base(contracts)
        .map(|d| d.normalize())
        .ok_or_else(|| bad_reply(VENUE, field, &contracts.to_string()))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstrumentRow {
    pub inst_id: String,
    pub quote_currency: String,
    pub contract_value: String,
    pub min_size: String,
    pub lot_size: String,
    pub tick_size: String,
    pub max_leverage: String,
    pub max_market_size: String,
    pub inst_type: String,
    pub state: String,
}

impl InstrumentRow {
    /// The engine's rules for a live USDT perpetual; `None` for anything else. Steps and
    /// minimums stay in contracts (venue units); `contract_size` is `contractValue`.
    pub fn to_instrument(&self) -> Result<Option<Instrument>, VenueError> {
        if self.inst_type != "SWAP" || self.state != "live" || self.quote_currency != "USDT" {
            return Ok(None);
        }
        let Some(sym) = engine_symbol(&self.inst_id).and_then(|s| Symbol::new(&s).ok()) else {
            return Ok(None);
        };
        let max_mkt = dec(VENUE, "maxMarketSize", &self.max_market_size)?;
        let instrument = Instrument {
            symbol: sym,
            venue_symbol: self.inst_id.clone(),
            qty_step: dec(VENUE, "lotSize", &self.lot_size)?,
            min_qty: dec(VENUE, "minSize", &self.min_size)?,
            max_market_qty: (max_mkt > Decimal::ZERO).then_some(max_mkt),
            tick_size: dec(VENUE, "tickSize", &self.tick_size)?,
            // BloFin documents no minimum order value; `minSize` is the floor.
            min_notional: Decimal::ZERO,
            contract_size: dec(VENUE, "contractValue", &self.contract_value)?,
            max_leverage: dec(VENUE, "maxLeverage", &self.max_leverage)?,
        };
        instrument.validate().map_err(|e| {
            bad_reply(
                VENUE,
                &format!("instrument {}", self.inst_id),
                &e.to_string(),
            )
        })?;
        Ok(Some(instrument))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TickerRow {
    pub inst_id: String,
    pub last: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Balance {
    pub details: Vec<BalanceDetail>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BalanceDetail {
    pub currency: String,
    pub equity: String,
    /// Equity free for new positions (`GET /api/v1/account/balance`,
    /// `details[].availableEquity`).
    pub available_equity: String,
}

/// `cross` / `isolated`.
pub fn margin_mode(text: &str) -> Result<MarginMode, VenueError> {
    match text {
        "cross" => Ok(MarginMode::Cross),
        "isolated" => Ok(MarginMode::Isolated),
        other => Err(bad_reply(VENUE, "marginMode", other)),
    }
}

pub fn margin_mode_text(mode: MarginMode) -> &'static str {
    match mode {
        MarginMode::Cross => "cross",
        MarginMode::Isolated => "isolated",
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PositionRow {
    pub inst_id: String,
    /// `net` in one-way mode; `long` / `short` in hedge mode.
    pub position_side: String,
    /// Contracts, signed in net mode.
    pub positions: String,
    pub average_price: String,
    pub leverage: String,
    pub margin_mode: String,
}

impl PositionRow {
    /// The signed one-way position in base units.
    pub fn to_position(&self, i: &Instrument) -> Result<Position, VenueError> {
        let contracts = dec(VENUE, "positions", &self.positions)?;
        let size = to_base(i, "positions", contracts)?;
        let leverage = dec(VENUE, "leverage", &self.leverage)?;
        Ok(Position {
            symbol: i.symbol.clone(),
            size: Quantity::new(size),
            entry_price: if size.is_zero() {
                None
            } else {
                price_opt(VENUE, "averagePrice", &self.average_price)?
            },
            leverage: if leverage.is_zero() {
                Decimal::ONE
            } else {
                leverage
            },
            margin_mode: margin_mode(&self.margin_mode)?,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRow {
    pub order_id: Value,
    /// `null` for an order placed without one (documented on the order stream).
    pub client_order_id: Option<String>,
    pub inst_id: String,
    pub side: String,
    pub size: String,
    pub filled_size: String,
    pub average_price: String,
    pub state: String,
    pub reduce_only: Value,
    /// Fee charged so far, quote units [verify the sign on a live account].
    pub fee: String,
    pub update_time: Value,
    pub create_time: Value,
}

/// BloFin `state` to ours.
pub fn order_state(state: &str) -> Option<OrderState> {
    Some(match state {
        "live" | "effective" => OrderState::Acknowledged,
        "partially_filled" => OrderState::PartiallyFilled,
        "filled" => OrderState::Filled,
        "canceled" | "cancelled" | "partially_canceled" | "mmp_canceled" => OrderState::Cancelled,
        "order_failed" | "failed" => OrderState::Rejected,
        _ => return None,
    })
}

impl OrderRow {
    /// Our view of the order, sizes in base units; `None` for orders without a usable
    /// `clientOrderId` (placed by hand), which the engine does not manage.
    pub fn to_status(&self, i: &Instrument) -> Result<Option<OrderStatus>, VenueError> {
        let Some(venue_id) = &self.client_order_id else {
            return Ok(None);
        };
        let Ok(client_order_id) = ClientOrderId::new(&engine_client_id(venue_id)) else {
            return Ok(None);
        };
        let side = match self.side.as_str() {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            other => return Err(bad_reply(VENUE, "side", other)),
        };
        let state =
            order_state(&self.state).ok_or_else(|| bad_reply(VENUE, "state", &self.state))?;
        let order_id = match &self.order_id {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let updated =
            millis("updateTime", &self.update_time)?.max(millis("createTime", &self.create_time)?);
        Ok(Some(OrderStatus {
            client_order_id,
            venue_order_id: order_id,
            symbol: i.symbol.clone(),
            side,
            state,
            qty: to_base(i, "size", dec(VENUE, "size", &self.size)?)?,
            filled_qty: to_base(
                i,
                "filledSize",
                dec(VENUE, "filledSize", &self.filled_size)?,
            )?,
            avg_fill_price: price_opt(VENUE, "averagePrice", &self.average_price)?,
            fee: dec(VENUE, "fee", &self.fee)?.abs(),
            reduce_only: flag("reduceOnly", &self.reduce_only)?,
            updated_at: ms(VENUE, "updateTime", updated)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use serde_json::json;

    use super::*;

    fn btc() -> Instrument {
        btc_row()
            .to_instrument()
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no instrument"))
    }

    fn btc_row() -> InstrumentRow {
        serde_json::from_value(json!({
            "instId": "BTC-USDT", "baseCurrency": "BTC", "quoteCurrency": "USDT",
            "contractValue": "0.001", "listTime": "1678969257000", "expireTime": "4070793600000",
            "maxLeverage": "150", "minSize": "0.1", "lotSize": "0.1", "tickSize": "0.1",
            "instType": "SWAP", "contractType": "linear", "maxLimitSize": "1000000",
            "maxMarketSize": "100000", "state": "live"
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn instruments_keep_contract_units_and_the_contract_value() {
        let i = btc();
        assert_eq!(i.symbol.as_str(), "BTCUSDT");
        assert_eq!(i.venue_symbol, "BTC-USDT");
        assert_eq!(i.contract_size, dec!(0.001));
        assert_eq!((i.qty_step, i.min_qty), (dec!(0.1), dec!(0.1)));
        assert_eq!(i.max_market_qty, Some(dec!(100000)));
        assert_eq!(i.min_notional, dec!(0));
        let dated = InstrumentRow {
            inst_type: "FUTURES".into(),
            ..btc_row()
        };
        assert!(dated.to_instrument().ok().flatten().is_none());
    }

    #[test]
    fn net_positions_are_signed_contracts_turned_into_base_units() {
        let row = PositionRow {
            inst_id: "BTC-USDT".into(),
            position_side: "net".into(),
            positions: "-12.5".into(),
            average_price: "60000".into(),
            leverage: "3".into(),
            margin_mode: "isolated".into(),
        };
        let p = row.to_position(&btc()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.size.get(), dec!(-0.0125));
        assert_eq!(p.leverage, dec!(3));
        assert_eq!(p.margin_mode, MarginMode::Isolated);
        assert_eq!(p.entry_price.map(|e| e.get()), Some(dec!(60000)));
    }

    #[test]
    fn orders_convert_sizes_and_read_string_flags() {
        let row: OrderRow = serde_json::from_value(json!({
            "orderId": "28150801", "clientOrderId": "te1_0", "instId": "BTC-USDT",
            "side": "sell", "orderType": "market", "size": "20", "filledSize": "20",
            "averagePrice": "60000", "state": "filled", "reduceOnly": "true", "fee": "0.66",
            "updateTime": "1697033000000", "createTime": 1697032000000i64
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let s = row
            .to_status(&btc())
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no status"));
        assert_eq!((s.qty, s.filled_qty), (dec!(0.02), dec!(0.02)));
        assert_eq!(s.state, OrderState::Filled);
        assert!(s.reduce_only);
        assert_eq!(s.client_order_id.as_str(), "te1-0");
        assert_eq!(s.side, Side::Sell);
        assert_eq!(s.venue_order_id.as_deref(), Some("28150801"));
        assert_eq!(s.updated_at.timestamp_millis(), 1697033000000);
        assert_eq!(
            order_state("partially_canceled"),
            Some(OrderState::Cancelled)
        );
        assert_eq!(order_state("weird"), None);
    }
}
