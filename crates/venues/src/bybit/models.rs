//! Bybit v5 reply shapes and their conversion to the engine's model.
//!
//! Strict: every field read here is one Bybit documents as always present, so its absence is
//! an error naming the field and the endpoint; fields Bybit adds are ignored. Numbers arrive
//! as strings; where Bybit documents `""` as "none" (an unfilled order's `avgPrice`, a
//! portfolio-margin `leverage`, a classic account's `totalAvailableBalance`) that one field says
//! so. Shapes: <https://bybit-exchange.github.io/docs/v5/market/instrument>,
//! <https://bybit-exchange.github.io/docs/v5/position>,
//! <https://bybit-exchange.github.io/docs/v5/order/open-order>,
//! <https://bybit-exchange.github.io/docs/v5/websocket/private/position>; recorded examples are
//! in `crates/venues/testdata/bybit/`.

use rust_decimal::Decimal;
use serde::Deserialize;
use tradeengine_model::{
    ClientOrderId, Instrument, MarginMode, OrderState, OrderStatus, Position, Quantity, Side,
};

use super::VENUE;
use crate::VenueError;
use crate::parse::{bad_reply, dec, dec_opt, missing, ms_str, price_opt, symbol};

pub const INSTRUMENTS: &str = "GET /v5/market/instruments-info";
pub const TICKERS: &str = "GET /v5/market/tickers";
pub const WALLET: &str = "GET /v5/account/wallet-balance";
pub const ACCOUNT_INFO: &str = "GET /v5/account/info";
pub const POSITIONS: &str = "GET /v5/position/list";
pub const OPEN_ORDERS: &str = "GET /v5/order/realtime";
pub const ORDER_HISTORY: &str = "GET /v5/order/history";
pub const STREAM_ORDER: &str = "stream order";
pub const STREAM_POSITION: &str = "stream position";

/// A paginated `result` (`list` + `nextPageCursor`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub list: Vec<T>,
    pub next_page_cursor: String,
}

/// A `result` that is one list without pagination (tickers, wallet balance).
#[derive(Debug, Deserialize)]
pub struct List<T> {
    pub list: Vec<T>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstrumentRow {
    pub symbol: String,
    pub contract_type: String,
    pub status: String,
    pub settle_coin: String,
    pub leverage_filter: LeverageFilter,
    pub price_filter: PriceFilter,
    pub lot_size_filter: LotSizeFilter,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeverageFilter {
    pub max_leverage: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceFilter {
    pub tick_size: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LotSizeFilter {
    pub qty_step: String,
    pub min_order_qty: String,
    pub max_mkt_order_qty: String,
    pub min_notional_value: String,
}

impl InstrumentRow {
    /// The engine's rules for a trading USDT linear perpetual; `None` for anything else
    /// (dated futures, USDC contracts, symbols not trading).
    pub fn to_instrument(&self) -> Result<Option<Instrument>, VenueError> {
        if self.contract_type != "LinearPerpetual"
            || self.status != "Trading"
            || self.settle_coin != "USDT"
        {
            return Ok(None);
        }
        let Ok(sym) = tradeengine_model::Symbol::new(&self.symbol) else {
            return Ok(None);
        };
        let lot = &self.lot_size_filter;
        let max_mkt = dec(VENUE, "maxMktOrderQty", &lot.max_mkt_order_qty)?;
        let instrument = Instrument {
            symbol: sym,
            venue_symbol: self.symbol.clone(),
            qty_step: dec(VENUE, "qtyStep", &lot.qty_step)?,
            min_qty: dec(VENUE, "minOrderQty", &lot.min_order_qty)?,
            max_market_qty: (max_mkt > Decimal::ZERO).then_some(max_mkt),
            tick_size: dec(VENUE, "tickSize", &self.price_filter.tick_size)?,
            min_notional: dec(VENUE, "minNotionalValue", &lot.min_notional_value)?,
            contract_size: Decimal::ONE,
            max_leverage: dec(VENUE, "maxLeverage", &self.leverage_filter.max_leverage)?,
        };
        instrument.validate().map_err(|e| {
            bad_reply(
                VENUE,
                &format!("instrument {}", self.symbol),
                &e.to_string(),
            )
        })?;
        Ok(Some(instrument))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TickerRow {
    pub symbol: String,
    pub last_price: String,
    pub mark_price: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletAccount {
    /// Unified account only: margin free for new positions, in USD (Bybit v5
    /// `GET /v5/account/wallet-balance`, `list[].totalAvailableBalance`); `""` on a classic
    /// account, which [`dec_opt`] reads as "not reported".
    pub total_available_balance: String,
    pub coin: Vec<WalletCoin>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletCoin {
    pub coin: String,
    pub equity: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountInfo {
    /// `ISOLATED_MARGIN`, `REGULAR_MARGIN` (cross) or `PORTFOLIO_MARGIN`.
    pub margin_mode: String,
}

impl AccountInfo {
    pub fn margin_mode(&self) -> MarginMode {
        if self.margin_mode == "ISOLATED_MARGIN" {
            MarginMode::Isolated
        } else {
            MarginMode::Cross
        }
    }
}

/// A position as `GET /v5/position/list` (entry price `avgPrice`) or the `position` stream
/// (entry price `entryPrice`) sends it: one of the two entry fields must be there.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PositionRow {
    pub position_idx: i64,
    pub symbol: String,
    /// `Buy`, `Sell`, or empty when flat (documented for UTA).
    pub side: String,
    pub size: String,
    /// REST name of the entry price.
    pub avg_price: Option<String>,
    /// Stream name of the entry price.
    pub entry_price: Option<String>,
    /// `""` in portfolio-margin mode (documented), read as leverage 1.
    pub leverage: String,
}

impl PositionRow {
    /// The signed one-way position; `margin_mode` is the account's (Bybit UTA's margin mode is
    /// account-wide).
    pub fn to_position(&self, margin_mode: MarginMode) -> Result<Position, VenueError> {
        let size = dec(VENUE, "size", &self.size)?;
        let signed = match self.side.as_str() {
            "Buy" => size,
            "Sell" => -size,
            "" | "None" => Decimal::ZERO,
            other => return Err(bad_reply(VENUE, "side", other)),
        };
        let (entry_field, entry) = match (&self.avg_price, &self.entry_price) {
            (Some(p), _) => ("avgPrice", p),
            (None, Some(p)) => ("entryPrice", p),
            (None, None) => return Err(missing(VENUE, "avgPrice` or `entryPrice")),
        };
        let leverage = dec_opt(VENUE, "leverage", &self.leverage)?.unwrap_or(Decimal::ZERO);
        Ok(Position {
            symbol: symbol(VENUE, &self.symbol)?,
            size: Quantity::new(signed),
            entry_price: if signed.is_zero() {
                None
            } else {
                price_opt(VENUE, entry_field, entry)?
            },
            leverage: if leverage.is_zero() {
                Decimal::ONE
            } else {
                leverage
            },
            margin_mode,
        })
    }
}

/// An order as `GET /v5/order/realtime`, `GET /v5/order/history` and the `order` stream send
/// it (the same fields in all three).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRow {
    pub order_id: String,
    pub order_link_id: String,
    pub symbol: String,
    pub side: String,
    pub qty: String,
    pub order_status: String,
    /// `""` (UTA) or `"0"` (classic) while nothing filled: documented "none".
    pub avg_price: String,
    pub cum_exec_qty: String,
    pub cum_exec_fee: String,
    pub reduce_only: bool,
    pub updated_time: String,
}

/// Bybit `orderStatus` to our state.
pub fn order_state(status: &str) -> Option<OrderState> {
    Some(match status {
        "New" | "Untriggered" | "Triggered" | "Created" => OrderState::Acknowledged,
        "PartiallyFilled" => OrderState::PartiallyFilled,
        "Filled" => OrderState::Filled,
        "Cancelled" | "PartiallyFilledCanceled" | "Deactivated" => OrderState::Cancelled,
        "Rejected" => OrderState::Rejected,
        _ => return None,
    })
}

impl OrderRow {
    /// Our view of the order; `None` for orders without a usable `orderLinkId` (placed by
    /// hand on the exchange), which the engine does not manage.
    pub fn to_status(&self) -> Result<Option<OrderStatus>, VenueError> {
        let Ok(client_order_id) = ClientOrderId::new(&self.order_link_id) else {
            return Ok(None);
        };
        let side = match self.side.as_str() {
            "Buy" => Side::Buy,
            "Sell" => Side::Sell,
            other => return Err(bad_reply(VENUE, "side", other)),
        };
        let state = order_state(&self.order_status)
            .ok_or_else(|| bad_reply(VENUE, "orderStatus", &self.order_status))?;
        Ok(Some(OrderStatus {
            client_order_id,
            venue_order_id: (!self.order_id.is_empty()).then(|| self.order_id.clone()),
            symbol: symbol(VENUE, &self.symbol)?,
            side,
            state,
            qty: dec(VENUE, "qty", &self.qty)?,
            filled_qty: dec(VENUE, "cumExecQty", &self.cum_exec_qty)?,
            avg_fill_price: price_opt(VENUE, "avgPrice", &self.avg_price)?,
            fee: dec(VENUE, "cumExecFee", &self.cum_exec_fee)?,
            reduce_only: self.reduce_only,
            updated_at: ms_str(VENUE, "updatedTime", &self.updated_time)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn instrument_from_the_documented_shape() {
        let row: InstrumentRow = serde_json::from_value(serde_json::json!({
            "symbol": "BTCUSDT", "contractType": "LinearPerpetual", "status": "Trading",
            "baseCoin": "BTC", "quoteCoin": "USDT", "settleCoin": "USDT", "priceScale": "2",
            "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
            "priceFilter": {"minPrice": "0.10", "maxPrice": "1999999.80", "tickSize": "0.10"},
            "lotSizeFilter": {"maxOrderQty": "1190.000", "minOrderQty": "0.001", "qtyStep": "0.001",
                "postOnlyMaxOrderQty": "1190.000", "maxMktOrderQty": "119.000", "minNotionalValue": "5"}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let i = row
            .to_instrument()
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no instrument"));
        assert_eq!(i.qty_step, dec!(0.001));
        assert_eq!(i.tick_size, dec!(0.10));
        assert_eq!(i.min_notional, dec!(5));
        assert_eq!(i.max_market_qty, Some(dec!(119)));
        let bare = serde_json::json!({"symbol": "BTCUSDT"});
        let e = crate::parse::reply::<InstrumentRow>(VENUE, INSTRUMENTS, bare)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains(INSTRUMENTS), "{e}");
        assert_eq!(i.max_leverage, dec!(100));
    }

    #[test]
    fn flat_position_rows_have_an_empty_side() {
        let row = PositionRow {
            symbol: "ETHUSDT".into(),
            side: String::new(),
            size: "0".into(),
            avg_price: Some("0".into()),
            ..PositionRow::default()
        };
        let p = row
            .to_position(MarginMode::Cross)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(p.size.is_zero());
        assert_eq!(p.leverage, Decimal::ONE);
        let short = PositionRow {
            symbol: "ETHUSDT".into(),
            side: "Sell".into(),
            size: "1.5".into(),
            avg_price: Some("2000".into()),
            leverage: "5".into(),
            ..PositionRow::default()
        };
        let p = short
            .to_position(MarginMode::Cross)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.size.get(), dec!(-1.5));
        assert_eq!(p.leverage, dec!(5));
    }

    #[test]
    fn order_states() {
        assert_eq!(
            order_state("PartiallyFilledCanceled"),
            Some(OrderState::Cancelled)
        );
        assert_eq!(order_state("New"), Some(OrderState::Acknowledged));
        assert_eq!(order_state("Bogus"), None);
    }
}
