//! Binance USDⓈ-M reply shapes and their conversion to the model.
//!
//! Strict: every field read here is one Binance documents as always present, so its absence is
//! an error naming the field and the endpoint; fields Binance adds are ignored. Decimals arrive
//! as strings; ids and leverage as JSON integers. Shapes:
//! <https://developers.binance.com/docs/derivatives/usds-margined-futures/market-data/rest-api/Exchange-Information>,
//! <https://developers.binance.com/docs/derivatives/usds-margined-futures/account/rest-api/Account-Information-V3>,
//! <https://developers.binance.com/docs/derivatives/usds-margined-futures/trade/rest-api/Position-Information-V3>,
//! <https://developers.binance.com/docs/derivatives/usds-margined-futures/trade/rest-api/Query-Order>,
//! <https://developers.binance.com/docs/derivatives/usds-margined-futures/user-data-streams/Event-Order-Update>;
//! recorded examples are in `crates/venues/testdata/binance/`.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use tradeengine_model::{
    ClientOrderId, Instrument, MarginMode, OrderState, OrderStatus, Position, Quantity, Side,
};

use super::VENUE;
use crate::VenueError;
use crate::parse::{bad_reply, dec, missing, ms, price_opt, symbol};

pub const EXCHANGE_INFO: &str = "GET /fapi/v1/exchangeInfo";
pub const LEVERAGE_BRACKET: &str = "GET /fapi/v1/leverageBracket";
pub const ACCOUNT: &str = "GET /fapi/v3/account";
pub const POSITION_RISK: &str = "GET /fapi/v3/positionRisk";
pub const SYMBOL_CONFIG: &str = "GET /fapi/v1/symbolConfig";
pub const PREMIUM_INDEX: &str = "GET /fapi/v1/premiumIndex";
pub const ORDER: &str = "/fapi/v1/order";
pub const OPEN_ORDERS: &str = "GET /fapi/v1/openOrders";
pub const STREAM_ORDER: &str = "stream ORDER_TRADE_UPDATE";
pub const STREAM_ACCOUNT: &str = "stream ACCOUNT_UPDATE";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeInfo {
    pub rate_limits: Vec<Value>,
    pub symbols: Vec<SymbolInfo>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SymbolInfo {
    pub symbol: String,
    pub contract_type: String,
    pub status: String,
    pub margin_asset: String,
    pub filters: Vec<Value>,
}

/// One field of one of a symbol's `filters` (`LOT_SIZE.stepSize`); a filter or field that is
/// not there is an error naming both, since every trading perpetual has all five filters read
/// here.
fn filter_field<'a>(filters: &'a [Value], kind: &str, field: &str) -> Result<&'a str, VenueError> {
    filters
        .iter()
        .find(|f| f.get("filterType").and_then(Value::as_str) == Some(kind))
        .and_then(|f| f.get(field))
        .and_then(Value::as_str)
        .ok_or_else(|| missing(VENUE, &format!("{kind}.{field}")))
}

fn filter_dec(filters: &[Value], kind: &str, field: &str) -> Result<Decimal, VenueError> {
    dec(
        VENUE,
        &format!("{kind}.{field}"),
        filter_field(filters, kind, field)?,
    )
}

impl SymbolInfo {
    /// Rules of a trading USDT-margined perpetual; `None` for anything else. `max_leverage`
    /// comes from the leverage brackets (a signed endpoint), so it is passed in.
    pub fn to_instrument(&self, max_leverage: Decimal) -> Result<Option<Instrument>, VenueError> {
        if self.contract_type != "PERPETUAL"
            || self.status != "TRADING"
            || self.margin_asset != "USDT"
        {
            return Ok(None);
        }
        let Ok(sym) = tradeengine_model::Symbol::new(&self.symbol) else {
            return Ok(None);
        };
        let f = &self.filters;
        let market_max = filter_dec(f, "MARKET_LOT_SIZE", "maxQty")?;
        let i = Instrument {
            symbol: sym,
            venue_symbol: self.symbol.clone(),
            qty_step: filter_dec(f, "LOT_SIZE", "stepSize")?,
            min_qty: filter_dec(f, "LOT_SIZE", "minQty")?,
            max_market_qty: (market_max > Decimal::ZERO).then_some(market_max),
            tick_size: filter_dec(f, "PRICE_FILTER", "tickSize")?,
            min_notional: filter_dec(f, "MIN_NOTIONAL", "notional")?,
            contract_size: Decimal::ONE,
            max_leverage,
        };
        i.validate().map_err(|e| {
            bad_reply(
                VENUE,
                &format!("instrument {}", self.symbol),
                &e.to_string(),
            )
        })?;
        Ok(Some(i))
    }
}

/// One symbol's leverage brackets; the first bracket's `initialLeverage` is the maximum.
#[derive(Debug, Deserialize)]
pub struct LeverageBrackets {
    pub symbol: String,
    pub brackets: Vec<Bracket>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bracket {
    pub initial_leverage: i64,
}

impl LeverageBrackets {
    pub fn max_leverage(&self) -> Option<Decimal> {
        self.brackets
            .first()
            .map(|b| Decimal::from(b.initial_leverage))
    }
}

/// A row of `GET /fapi/v1/premiumIndex` (one object for one symbol, an array for all).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarkPrice {
    pub symbol: String,
    pub mark_price: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Asset {
    pub asset: String,
    pub margin_balance: String,
    /// Margin free for new positions in this asset (USDⓈ-M `GET /fapi/v3/account`,
    /// `assets[].availableBalance`).
    pub available_balance: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub assets: Vec<Asset>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PositionRisk {
    pub symbol: String,
    pub position_side: String,
    pub position_amt: String,
    pub entry_price: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SymbolConfig {
    pub symbol: String,
    /// `CROSSED` or `ISOLATED`.
    pub margin_type: String,
    pub leverage: Value,
}

impl SymbolConfig {
    pub fn margin_mode(&self) -> MarginMode {
        if self.margin_type.eq_ignore_ascii_case("ISOLATED") {
            MarginMode::Isolated
        } else {
            MarginMode::Cross
        }
    }

    /// The symbol's leverage, a JSON integer (a numeric string is accepted too).
    pub fn leverage(&self) -> Result<Decimal, VenueError> {
        match &self.leverage {
            Value::Number(n) => n.as_i64().map(Decimal::from),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| bad_reply(VENUE, "leverage", &self.leverage.to_string()))
    }
}

impl PositionRisk {
    /// The one-way position; without a `symbolConfig` row for the symbol, leverage 1 and
    /// cross margin (Binance lists a config row for every symbol, so this is the rare case of
    /// a symbol listed between the two reads).
    pub fn to_position(&self, config: Option<&SymbolConfig>) -> Result<Position, VenueError> {
        let size = dec(VENUE, "positionAmt", &self.position_amt)?;
        Ok(Position {
            symbol: symbol(VENUE, &self.symbol)?,
            size: Quantity::new(size),
            entry_price: if size.is_zero() {
                None
            } else {
                price_opt(VENUE, "entryPrice", &self.entry_price)?
            },
            leverage: match config {
                Some(c) => c.leverage()?,
                None => Decimal::ONE,
            },
            margin_mode: config.map_or(MarginMode::Cross, SymbolConfig::margin_mode),
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderObj {
    pub order_id: Value,
    pub symbol: String,
    pub status: String,
    pub client_order_id: String,
    /// `"0"` (or `"0.00000"`) while nothing filled: documented "none".
    pub avg_price: String,
    pub orig_qty: String,
    pub executed_qty: String,
    pub reduce_only: bool,
    pub side: String,
    pub update_time: i64,
}

/// Binance order `status` to our state.
pub fn order_state(status: &str) -> Option<OrderState> {
    Some(match status {
        "NEW" => OrderState::Acknowledged,
        "PARTIALLY_FILLED" => OrderState::PartiallyFilled,
        "FILLED" => OrderState::Filled,
        "CANCELED" | "EXPIRED" | "EXPIRED_IN_MATCH" => OrderState::Cancelled,
        "REJECTED" => OrderState::Rejected,
        _ => return None,
    })
}

pub fn side(s: &str) -> Result<Side, VenueError> {
    match s {
        "BUY" => Ok(Side::Buy),
        "SELL" => Ok(Side::Sell),
        other => Err(bad_reply(VENUE, "side", other)),
    }
}

/// An order id as text, whether Binance sent a number or a string.
pub fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

impl OrderObj {
    /// Our view; `None` for orders without a client id we could have made. `fee` comes from
    /// the stream (REST order objects do not carry commission).
    pub fn to_status(&self, fee: Decimal) -> Result<Option<OrderStatus>, VenueError> {
        let Ok(client_order_id) = ClientOrderId::new(&self.client_order_id) else {
            return Ok(None);
        };
        Ok(Some(OrderStatus {
            client_order_id,
            venue_order_id: id_text(&self.order_id),
            symbol: symbol(VENUE, &self.symbol)?,
            side: side(&self.side)?,
            state: order_state(&self.status)
                .ok_or_else(|| bad_reply(VENUE, "status", &self.status))?,
            qty: dec(VENUE, "origQty", &self.orig_qty)?,
            filled_qty: dec(VENUE, "executedQty", &self.executed_qty)?,
            avg_fill_price: price_opt(VENUE, "avgPrice", &self.avg_price)?,
            fee,
            reduce_only: self.reduce_only,
            updated_at: ms(VENUE, "updateTime", self.update_time)?,
        }))
    }
}

/// The `o` object of an `ORDER_TRADE_UPDATE` event (one-letter keys as Binance sends them).
#[derive(Debug, Deserialize)]
pub struct OrderUpdate {
    #[serde(rename = "s")]
    pub symbol: String,
    #[serde(rename = "c")]
    pub client_order_id: String,
    #[serde(rename = "S")]
    pub side: String,
    /// Execution type: `TRADE` events carry this fill's commission in `n`.
    #[serde(rename = "x")]
    pub execution_type: String,
    #[serde(rename = "X")]
    pub status: String,
    #[serde(rename = "i")]
    pub order_id: Value,
    #[serde(rename = "q")]
    pub qty: String,
    #[serde(rename = "z")]
    pub filled_qty: String,
    #[serde(rename = "ap")]
    pub avg_price: String,
    /// This event's commission; documented as not pushed when there is none.
    #[serde(rename = "n")]
    pub commission: Option<String>,
    /// The commission's asset (`USDT`, or `BNB` with the BNB fee discount on).
    #[serde(rename = "N")]
    pub commission_asset: Option<String>,
    /// This execution's quantity (`TRADE` events).
    #[serde(rename = "l")]
    pub last_qty: Option<String>,
    #[serde(rename = "R")]
    pub reduce_only: bool,
    #[serde(rename = "T")]
    pub trade_time: i64,
}

/// A commission counted in USDT. One paid in another asset (BNB, with Binance's BNB fee
/// discount on) has no USDT value here: it is counted as 0 and said once in the log, because
/// adding a BNB amount to USDT figures would be a wrong number (README: venues, fees).
pub fn usdt_fee(asset: Option<&str>, amount: Decimal) -> Decimal {
    match asset {
        None | Some("") | Some("USDT") => amount,
        Some(other) => {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                tracing::warn!(venue = VENUE, asset = other, "a Binance commission was paid in {other}, which is not counted in the USDT fees and P&L; turn the BNB fee discount off for exact fees");
            });
            Decimal::ZERO
        }
    }
}

impl OrderUpdate {
    /// This event's commission in USDT: zero when Binance left `n` out (documented: no
    /// commission); see [`usdt_fee`] for one paid in another asset.
    pub fn commission(&self) -> Result<Decimal, VenueError> {
        match &self.commission {
            Some(n) => Ok(usdt_fee(
                self.commission_asset.as_deref(),
                dec(VENUE, "o.n", n)?,
            )),
            None => Ok(Decimal::ZERO),
        }
    }

    /// This execution's quantity; zero when absent (an event that is not a `TRADE`).
    pub fn last_qty(&self) -> Result<Decimal, VenueError> {
        match &self.last_qty {
            Some(l) => dec(VENUE, "o.l", l),
            None => Ok(Decimal::ZERO),
        }
    }

    /// Our view, with `fee` the order's commission so far; `None` for orders the engine did not
    /// place.
    pub fn to_status(&self, fee: Decimal) -> Result<Option<OrderStatus>, VenueError> {
        let Ok(client_order_id) = ClientOrderId::new(&self.client_order_id) else {
            return Ok(None);
        };
        Ok(Some(OrderStatus {
            client_order_id,
            venue_order_id: id_text(&self.order_id),
            symbol: symbol(VENUE, &self.symbol)?,
            side: side(&self.side)?,
            state: order_state(&self.status)
                .ok_or_else(|| bad_reply(VENUE, "o.X", &self.status))?,
            qty: dec(VENUE, "o.q", &self.qty)?,
            filled_qty: dec(VENUE, "o.z", &self.filled_qty)?,
            avg_fill_price: price_opt(VENUE, "o.ap", &self.avg_price)?,
            fee,
            reduce_only: self.reduce_only,
            updated_at: ms(VENUE, "o.T", self.trade_time)?,
        }))
    }
}

/// A position in an `ACCOUNT_UPDATE` event's `a.P`.
#[derive(Debug, Deserialize)]
pub struct AccountUpdatePosition {
    #[serde(rename = "s")]
    pub symbol: String,
    #[serde(rename = "pa")]
    pub amount: String,
    #[serde(rename = "ep")]
    pub entry_price: String,
    /// `isolated` or `cross`.
    #[serde(rename = "mt")]
    pub margin_type: String,
}

impl AccountUpdatePosition {
    /// The pushed position; the push has no leverage, so 1 (REST is read at every
    /// reconciliation; these are for inspection only).
    pub fn to_position(&self) -> Result<Position, VenueError> {
        let size = dec(VENUE, "a.P.pa", &self.amount)?;
        Ok(Position {
            symbol: symbol(VENUE, &self.symbol)?,
            size: Quantity::new(size),
            entry_price: price_opt(VENUE, "a.P.ep", &self.entry_price)?,
            leverage: Decimal::ONE,
            margin_mode: if self.margin_type == "isolated" {
                MarginMode::Isolated
            } else {
                MarginMode::Cross
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn instrument_from_exchange_info_filters() {
        let info: SymbolInfo = serde_json::from_value(serde_json::json!({
            "symbol": "BTCUSDT", "pair": "BTCUSDT", "contractType": "PERPETUAL", "status": "TRADING",
            "marginAsset": "USDT", "quoteAsset": "USDT", "pricePrecision": 2, "quantityPrecision": 3,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": "556.80", "maxPrice": "4529764", "tickSize": "0.10"},
                {"filterType": "LOT_SIZE", "stepSize": "0.001", "maxQty": "1000", "minQty": "0.001"},
                {"filterType": "MARKET_LOT_SIZE", "stepSize": "0.001", "maxQty": "120", "minQty": "0.001"},
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "MIN_NOTIONAL", "notional": "100"},
                {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500", "multiplierDecimal": "4"}
            ]
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let i = info
            .to_instrument(dec!(125))
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no instrument"));
        assert_eq!(
            (i.qty_step, i.min_qty, i.tick_size, i.min_notional),
            (dec!(0.001), dec!(0.001), dec!(0.10), dec!(100))
        );
        assert_eq!(i.max_market_qty, Some(dec!(120)));
    }

    #[test]
    fn order_ids_are_never_floats() {
        let o: OrderObj = serde_json::from_str(r#"{"orderId": 8886774123456789012, "symbol": "BTCUSDT", "status": "FILLED",
            "clientOrderId": "abc", "avgPrice": "60000.0", "origQty": "0.010", "executedQty": "0.010", "reduceOnly": false,
            "side": "BUY", "updateTime": 1700000000000}"#)
        .unwrap_or_else(|e| panic!("{e}"));
        let s = o
            .to_status(dec!(0.33))
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no status"));
        assert_eq!(s.venue_order_id.as_deref(), Some("8886774123456789012"));
        assert_eq!(s.state, OrderState::Filled);
        assert_eq!(s.fee, dec!(0.33));
    }
}
