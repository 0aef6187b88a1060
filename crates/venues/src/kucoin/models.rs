//! KuCoin Futures reply shapes and their conversion to the model.
//!
//! Strict: every field read here is one KuCoin documents as always present, so its absence is
//! an error naming the field and the endpoint; fields that only some replies carry (a position's
//! `leverage` in cross mode, `realLeverage` in isolated mode; an order's `avgDealPrice`) are
//! `Option`s, and the conversion says what stands in for them. Shapes:
//! <https://www.kucoin.com/docs/rest/futures-trading/market-data/get-symbols-list>,
//! <https://www.kucoin.com/docs/rest/funding/funding-overview/get-account-detail-futures>,
//! <https://www.kucoin.com/docs/rest/futures-trading/positions/get-position-list>,
//! <https://www.kucoin.com/docs/rest/futures-trading/orders/get-order-list>,
//! <https://www.kucoin.com/docs/websocket/futures-trading/private-channels/trade-orders>;
//! recorded examples are in `crates/venues/testdata/kucoin/`.
//!
//! KuCoin counts sizes in integer **lots**: base units = lots × `multiplier`. Every size read
//! here is converted with the instrument's `contract_size`. Numbers arrive as JSON numbers
//! (sizes, prices) or strings, so both are accepted.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use tradeengine_model::{
    ClientOrderId, Instrument, MarginMode, OrderState, OrderStatus, Position, Quantity, Side,
    Symbol,
};

use super::{VENUE, engine_symbol};
use crate::VenueError;
use crate::parse::{bad_reply, missing, ms};

pub const CONTRACTS: &str = "GET /api/v1/contracts/active";
pub const ACCOUNT_OVERVIEW: &str = "GET /api/v1/account-overview";
pub const POSITIONS: &str = "GET /api/v1/positions";
pub const ORDER_BY_CLIENT_OID: &str = "GET /api/v1/orders/byClientOid";
pub const ORDERS: &str = "GET /api/v1/orders";
pub const STREAM_ORDERS: &str = "stream /contractMarket/tradeOrders";
pub const STREAM_POSITION: &str = "stream /contract/position";

/// A decimal from a JSON number or string; null/empty → `None`.
pub fn num(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(s) if !s.trim().is_empty() => s.trim().parse().ok(),
        _ => None,
    }
}

/// A required decimal (a JSON number or a numeric string).
pub fn required(v: &Value, field: &str) -> Result<Decimal, VenueError> {
    num(v).ok_or_else(|| bad_reply(VENUE, field, &v.to_string()))
}

/// Lots to base units.
pub fn to_base(i: &Instrument, field: &str, lots: Decimal) -> Result<Decimal, VenueError> {
    i.venue_to_base(lots)
        .map(|d| d.normalize())
        .ok_or_else(|| bad_reply(VENUE, field, &lots.to_string()))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractRow {
    pub symbol: String,
    /// `FFWCSX` = perpetual.
    #[serde(rename = "type")]
    pub kind: String,
    pub settle_currency: String,
    pub is_inverse: bool,
    pub status: String,
    pub multiplier: Value,
    pub lot_size: Value,
    pub tick_size: Value,
    pub max_order_qty: Value,
    pub max_leverage: Value,
    pub mark_price: Value,
}

impl ContractRow {
    /// The engine's rules for an open USDT-margined perpetual; `None` for anything else. Steps
    /// stay in lots (venue units); `contract_size` is `multiplier`.
    pub fn to_instrument(&self) -> Result<Option<Instrument>, VenueError> {
        if self.kind != "FFWCSX"
            || self.status != "Open"
            || self.settle_currency != "USDT"
            || self.is_inverse
        {
            return Ok(None);
        }
        let Some(sym) = engine_symbol(&self.symbol).and_then(|s| Symbol::new(&s).ok()) else {
            return Ok(None);
        };
        // KuCoin takes sizes as whole lots only. A fractional `lotSize` (none seen on KuCoin,
        // but a simulator made one) would let the planner make lot counts the venue refuses:
        // the step is rounded up to whole lots, so every planned size can be placed.
        let lot = required(&self.lot_size, "lotSize")?
            .ceil()
            .max(Decimal::ONE);
        let max =
            Some(required(&self.max_order_qty, "maxOrderQty")?).filter(|m| *m > Decimal::ZERO);
        let instrument = Instrument {
            symbol: sym,
            venue_symbol: self.symbol.clone(),
            qty_step: lot,
            min_qty: lot,
            max_market_qty: max,
            tick_size: required(&self.tick_size, "tickSize")?,
            // KuCoin documents no minimum order value; one lot is the floor.
            min_notional: Decimal::ZERO,
            contract_size: required(&self.multiplier, "multiplier")?,
            max_leverage: required(&self.max_leverage, "maxLeverage")?,
        };
        instrument
            .validate()
            .map_err(|e| bad_reply(VENUE, &format!("contract {}", self.symbol), &e.to_string()))?;
        Ok(Some(instrument))
    }
}

/// `CROSS` / `ISOLATED`.
pub fn margin_mode(text: &str) -> Option<MarginMode> {
    match text {
        "CROSS" => Some(MarginMode::Cross),
        "ISOLATED" => Some(MarginMode::Isolated),
        _ => None,
    }
}

pub fn margin_mode_text(mode: MarginMode) -> &'static str {
    match mode {
        MarginMode::Cross => "CROSS",
        MarginMode::Isolated => "ISOLATED",
    }
}

/// `GET /api/v1/account-overview?currency=USDT`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountOverview {
    pub account_equity: Value,
    pub available_balance: Value,
}

/// A position as `GET /api/v1/positions` or the `position.change` push sends it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PositionRow {
    pub symbol: String,
    /// Signed lots.
    pub current_qty: Value,
    pub avg_entry_price: Value,
    /// The position's leverage in cross mode.
    pub leverage: Option<Value>,
    /// The position's leverage in isolated mode.
    pub real_leverage: Option<Value>,
    /// `CROSS` / `ISOLATED`; older replies carry only `crossMode`.
    pub margin_mode: Option<String>,
    pub cross_mode: Option<bool>,
    /// `BOTH` in one-way mode; absent from replies before hedge mode existed.
    pub position_side: Option<String>,
}

impl PositionRow {
    pub fn to_position(&self, i: &Instrument) -> Result<Position, VenueError> {
        let lots = required(&self.current_qty, "currentQty")?;
        let size = to_base(i, "currentQty", lots)?;
        let leverage = match (&self.leverage, &self.real_leverage) {
            (Some(l), _) => required(l, "leverage")?,
            (None, Some(l)) => required(l, "realLeverage")?,
            (None, None) => return Err(missing(VENUE, "leverage` or `realLeverage")),
        };
        // A leverage of 0 is what KuCoin shows for a position it has no leverage for yet.
        let leverage = Some(leverage)
            .filter(|l| *l > Decimal::ZERO)
            .unwrap_or(Decimal::ONE);
        let mode = match (&self.margin_mode, self.cross_mode) {
            (Some(m), _) => margin_mode(m).ok_or_else(|| bad_reply(VENUE, "marginMode", m))?,
            (None, Some(true)) => MarginMode::Cross,
            (None, Some(false)) => MarginMode::Isolated,
            (None, None) => return Err(missing(VENUE, "marginMode` or `crossMode")),
        };
        // `avgEntryPrice` is 0 for a flat position.
        let entry =
            Some(required(&self.avg_entry_price, "avgEntryPrice")?).filter(|p| *p > Decimal::ZERO);
        Ok(Position {
            symbol: i.symbol.clone(),
            size: Quantity::new(size),
            entry_price: match entry {
                Some(p) if !size.is_zero() => Some(
                    tradeengine_model::Price::new(p)
                        .map_err(|_| bad_reply(VENUE, "avgEntryPrice", &p.to_string()))?,
                ),
                _ => None,
            },
            leverage,
            margin_mode: mode,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRow {
    pub id: String,
    pub symbol: String,
    pub side: String,
    pub size: Value,
    pub deal_size: Value,
    pub deal_value: Value,
    /// Newer replies only; otherwise the average is `dealValue / (dealSize × multiplier)`.
    pub avg_deal_price: Option<Value>,
    /// `open` or `done`.
    pub status: String,
    pub is_active: bool,
    /// `null` for an order placed without one (by hand).
    pub client_oid: Option<String>,
    pub reduce_only: bool,
    pub updated_at: Value,
    pub created_at: Value,
}

fn millis(field: &str, v: &Value) -> Result<i64, VenueError> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| bad_reply(VENUE, field, &v.to_string()))
}

/// The order's state from KuCoin's `status` (`open`/`done`) and its fills.
pub fn order_state(status: &str, active: bool, filled: Decimal, size: Decimal) -> OrderState {
    match (status, active) {
        ("open", _) | (_, true) if filled.is_zero() => OrderState::Acknowledged,
        ("open", _) | (_, true) => OrderState::PartiallyFilled,
        _ if size > Decimal::ZERO && filled >= size => OrderState::Filled,
        _ => OrderState::Cancelled,
    }
}

impl OrderRow {
    /// Our view of the order, sizes in base units; `None` for orders without a usable
    /// `clientOid`. KuCoin reports no fee on the order itself (it is on the fills), so `fee`
    /// is 0 here; the venue reads it from the fills once the order is finished
    /// (`venue/fees.rs`) before anyone sees the status.
    pub fn to_status(&self, i: &Instrument) -> Result<Option<OrderStatus>, VenueError> {
        let Some(Ok(client_order_id)) = self.client_oid.as_deref().map(ClientOrderId::new) else {
            return Ok(None);
        };
        let side = match self.side.as_str() {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            other => return Err(bad_reply(VENUE, "side", other)),
        };
        let size = required(&self.size, "size")?;
        let dealt = required(&self.deal_size, "dealSize")?;
        let avg_field = match &self.avg_deal_price {
            Some(p) => Some(required(p, "avgDealPrice")?),
            None => None,
        };
        let avg = match avg_field.filter(|p| *p > Decimal::ZERO) {
            Some(p) => Some(p),
            // dealValue = lots × multiplier × price.
            None => Some(required(&self.deal_value, "dealValue")?)
                .filter(|v| *v > Decimal::ZERO && !dealt.is_zero())
                .and_then(|v| v.checked_div(dealt * i.contract_size))
                .map(|p| p.round_dp(8).normalize()),
        };
        let state = order_state(&self.status, self.is_active, dealt, size);
        Ok(Some(OrderStatus {
            client_order_id,
            venue_order_id: (!self.id.is_empty()).then(|| self.id.clone()),
            symbol: i.symbol.clone(),
            side,
            state,
            qty: to_base(i, "size", size)?,
            filled_qty: to_base(i, "dealSize", dealt)?,
            avg_fill_price: avg.and_then(|p| tradeengine_model::Price::new(p).ok()),
            fee: Decimal::ZERO,
            reduce_only: self.reduce_only,
            updated_at: ms(
                VENUE,
                "updatedAt",
                millis("updatedAt", &self.updated_at)?.max(millis("createdAt", &self.created_at)?),
            )?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use serde_json::json;

    use super::*;

    fn xbt() -> Instrument {
        xbt_row()
            .to_instrument()
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no instrument"))
    }

    fn xbt_row() -> ContractRow {
        serde_json::from_value(json!({
            "symbol": "XBTUSDTM", "rootSymbol": "USDT", "type": "FFWCSX", "baseCurrency": "XBT",
            "quoteCurrency": "USDT", "settleCurrency": "USDT", "maxOrderQty": 1000000,
            "maxPrice": 1000000.0, "lotSize": 1, "tickSize": 0.1, "multiplier": 0.001,
            "isInverse": false, "markPrice": 60000.12, "maxLeverage": 125, "status": "Open"
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn contracts_keep_lots_and_the_multiplier() {
        let i = xbt();
        assert_eq!(i.symbol.as_str(), "BTCUSDT");
        assert_eq!(i.venue_symbol, "XBTUSDTM");
        assert_eq!((i.qty_step, i.contract_size), (dec!(1), dec!(0.001)));
        assert_eq!(i.tick_size, dec!(0.1));
        let inverse = ContractRow {
            is_inverse: true,
            ..xbt_row()
        };
        assert!(inverse.to_instrument().ok().flatten().is_none());
    }

    #[test]
    fn a_fractional_lot_size_becomes_whole_lots() {
        let row: ContractRow = serde_json::from_value(json!({
            "symbol": "ABCUSDTM", "rootSymbol": "USDT", "type": "FFWCSX", "baseCurrency": "ABC",
            "quoteCurrency": "USDT", "settleCurrency": "USDT", "maxOrderQty": 1000000,
            "maxPrice": 1000000.0, "lotSize": 0.1, "tickSize": 0.01, "multiplier": 1,
            "isInverse": false, "markPrice": 5.5, "maxLeverage": 50, "status": "Open"
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let i = row
            .to_instrument()
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no instrument"));
        assert_eq!((i.qty_step, i.min_qty), (dec!(1), dec!(1)));
    }

    #[test]
    fn positions_are_signed_lots() {
        let row: PositionRow = serde_json::from_value(json!({
            "symbol": "XBTUSDTM", "currentQty": -12, "avgEntryPrice": 60000, "leverage": 3,
            "marginMode": "CROSS", "positionSide": "BOTH", "isOpen": true
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let p = row.to_position(&xbt()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.size.get(), dec!(-0.012));
        assert_eq!((p.leverage, p.margin_mode), (dec!(3), MarginMode::Cross));
    }

    #[test]
    fn order_states_and_average_prices() {
        let row: OrderRow = serde_json::from_value(json!({
            "id": "5cdfc138b21023a909e5ad55", "symbol": "XBTUSDTM", "side": "buy", "size": 20,
            "dealSize": 20, "dealValue": "1200", "status": "done", "isActive": false,
            "cancelExist": false, "clientOid": "te1-0", "reduceOnly": false, "updatedAt": 1558167872000i64,
            "createdAt": 1558167871000i64
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let s = row
            .to_status(&xbt())
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no status"));
        assert_eq!((s.qty, s.filled_qty), (dec!(0.02), dec!(0.02)));
        assert_eq!(s.state, OrderState::Filled);
        // 1200 USDT / (20 lots × 0.001) = 60 000.
        assert_eq!(s.avg_fill_price.map(|p| p.get()), Some(dec!(60000)));
        assert_eq!(
            order_state("done", false, dec!(5), dec!(20)),
            OrderState::Cancelled
        );
        assert_eq!(
            order_state("open", true, dec!(0), dec!(20)),
            OrderState::Acknowledged
        );
        assert_eq!(
            order_state("open", true, dec!(5), dec!(20)),
            OrderState::PartiallyFilled
        );
    }
}
