//! Binance USDⓈ-M reply shapes (only the fields we use) and their conversion to the model.
//! Decimals arrive as strings; ids and leverage as JSON integers.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use tradeengine_model::{
    ClientOrderId, Instrument, MarginMode, OrderState, OrderStatus, Position, Quantity, Side,
};

use super::VENUE;
use crate::VenueError;
use crate::parse::{bad_reply, dec, dec_or_zero, ms, price_opt, symbol};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExchangeInfo {
    pub rate_limits: Vec<Value>,
    pub symbols: Vec<SymbolInfo>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SymbolInfo {
    pub symbol: String,
    pub contract_type: String,
    pub status: String,
    pub margin_asset: String,
    pub filters: Vec<Value>,
}

fn filter<'a>(filters: &'a [Value], kind: &str) -> Option<&'a Value> {
    filters
        .iter()
        .find(|f| f.get("filterType").and_then(Value::as_str) == Some(kind))
}

fn filter_field<'a>(filters: &'a [Value], kind: &str, field: &str) -> &'a str {
    filter(filters, kind)
        .and_then(|f| f.get(field))
        .and_then(Value::as_str)
        .unwrap_or_default()
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
        let market_max = dec_or_zero(
            VENUE,
            "MARKET_LOT_SIZE.maxQty",
            filter_field(f, "MARKET_LOT_SIZE", "maxQty"),
        )?;
        let i = Instrument {
            symbol: sym,
            venue_symbol: self.symbol.clone(),
            qty_step: dec(
                VENUE,
                "LOT_SIZE.stepSize",
                filter_field(f, "LOT_SIZE", "stepSize"),
            )?,
            min_qty: dec(
                VENUE,
                "LOT_SIZE.minQty",
                filter_field(f, "LOT_SIZE", "minQty"),
            )?,
            max_market_qty: (market_max > Decimal::ZERO).then_some(market_max),
            tick_size: dec(
                VENUE,
                "PRICE_FILTER.tickSize",
                filter_field(f, "PRICE_FILTER", "tickSize"),
            )?,
            min_notional: dec_or_zero(
                VENUE,
                "MIN_NOTIONAL.notional",
                filter_field(f, "MIN_NOTIONAL", "notional"),
            )?,
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

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Asset {
    pub asset: String,
    pub wallet_balance: String,
    pub unrealized_profit: String,
    pub margin_balance: String,
    /// Margin free for new positions in this asset (USDⓈ-M `GET /fapi/v3/account`,
    /// `assets[].availableBalance`).
    pub available_balance: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Account {
    pub assets: Vec<Asset>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PositionRisk {
    pub symbol: String,
    pub position_side: String,
    pub position_amt: String,
    pub entry_price: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
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

    pub fn leverage(&self) -> Decimal {
        match &self.leverage {
            Value::Number(n) => n.as_i64().map(Decimal::from).unwrap_or(Decimal::ONE),
            Value::String(s) => s.parse().unwrap_or(Decimal::ONE),
            _ => Decimal::ONE,
        }
    }
}

impl PositionRisk {
    pub fn to_position(&self, config: Option<&SymbolConfig>) -> Result<Position, VenueError> {
        let size = dec_or_zero(VENUE, "positionAmt", &self.position_amt)?;
        Ok(Position {
            symbol: symbol(VENUE, &self.symbol)?,
            size: Quantity::new(size),
            entry_price: if size.is_zero() {
                None
            } else {
                price_opt(VENUE, "entryPrice", &self.entry_price)?
            },
            leverage: config.map_or(Decimal::ONE, SymbolConfig::leverage),
            margin_mode: config.map_or(MarginMode::Cross, SymbolConfig::margin_mode),
        })
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderObj {
    pub order_id: Value,
    pub symbol: String,
    pub status: String,
    pub client_order_id: String,
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
            qty: dec_or_zero(VENUE, "origQty", &self.orig_qty)?,
            filled_qty: dec_or_zero(VENUE, "executedQty", &self.executed_qty)?,
            avg_fill_price: price_opt(VENUE, "avgPrice", &self.avg_price)?,
            fee,
            reduce_only: self.reduce_only,
            updated_at: ms(VENUE, "updateTime", self.update_time)?,
        }))
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
        .unwrap_or_default();
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
        .unwrap_or_default();
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
