//! Bybit v5 reply shapes (only the fields we use; Bybit adds fields freely, so none is refused)
//! and their conversion to the engine's model. Numbers arrive as strings, often empty.

use rust_decimal::Decimal;
use serde::Deserialize;
use tradeengine_model::{
    ClientOrderId, Instrument, MarginMode, OrderState, OrderStatus, Position, Quantity, Side,
};

use super::VENUE;
use crate::VenueError;
use crate::parse::{bad_reply, dec, dec_or_zero, ms_str, price_opt, symbol};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Page<T> {
    pub list: Vec<T>,
    pub next_page_cursor: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InstrumentRow {
    pub symbol: String,
    pub contract_type: String,
    pub status: String,
    pub settle_coin: String,
    pub leverage_filter: LeverageFilter,
    pub price_filter: PriceFilter,
    pub lot_size_filter: LotSizeFilter,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LeverageFilter {
    pub max_leverage: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PriceFilter {
    pub tick_size: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
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
        let max_mkt = dec_or_zero(VENUE, "maxMktOrderQty", &lot.max_mkt_order_qty)?;
        let instrument = Instrument {
            symbol: sym,
            venue_symbol: self.symbol.clone(),
            qty_step: dec(VENUE, "qtyStep", &lot.qty_step)?,
            min_qty: dec(VENUE, "minOrderQty", &lot.min_order_qty)?,
            max_market_qty: (max_mkt > Decimal::ZERO).then_some(max_mkt),
            tick_size: dec(VENUE, "tickSize", &self.price_filter.tick_size)?,
            min_notional: dec_or_zero(VENUE, "minNotionalValue", &lot.min_notional_value)?,
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

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TickerRow {
    pub symbol: String,
    pub last_price: String,
    pub mark_price: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WalletAccount {
    pub account_type: String,
    pub total_equity: String,
    /// Unified account only: margin free for new positions, in USD (Bybit v5
    /// `GET /v5/account/wallet-balance`, `list[].totalAvailableBalance`).
    pub total_available_balance: String,
    pub coin: Vec<WalletCoin>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WalletCoin {
    pub coin: String,
    pub equity: String,
    pub wallet_balance: String,
    pub unrealised_pnl: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AccountInfo {
    /// `ISOLATED_MARGIN`, `REGULAR_MARGIN` (cross) or `PORTFOLIO_MARGIN`.
    pub margin_mode: String,
    pub unified_margin_status: i64,
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

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PositionRow {
    pub position_idx: i64,
    pub symbol: String,
    /// `Buy`, `Sell`, or empty when flat.
    pub side: String,
    pub size: String,
    /// REST name of the entry price.
    pub avg_price: String,
    /// Stream name of the entry price.
    pub entry_price: String,
    pub leverage: String,
}

impl PositionRow {
    /// The signed one-way position; `margin_mode` is the account's (Bybit UTA's margin mode is
    /// account-wide).
    pub fn to_position(&self, margin_mode: MarginMode) -> Result<Position, VenueError> {
        let size = dec_or_zero(VENUE, "size", &self.size)?;
        let signed = match self.side.as_str() {
            "Buy" => size,
            "Sell" => -size,
            _ => Decimal::ZERO,
        };
        let entry = if self.avg_price.is_empty() {
            &self.entry_price
        } else {
            &self.avg_price
        };
        let leverage = dec_or_zero(VENUE, "leverage", &self.leverage)?;
        Ok(Position {
            symbol: symbol(VENUE, &self.symbol)?,
            size: Quantity::new(signed),
            entry_price: if signed.is_zero() {
                None
            } else {
                price_opt(VENUE, "avgPrice", entry)?
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

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderRow {
    pub order_id: String,
    pub order_link_id: String,
    pub symbol: String,
    pub side: String,
    pub order_type: String,
    pub qty: String,
    pub order_status: String,
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
            qty: dec_or_zero(VENUE, "qty", &self.qty)?,
            filled_qty: dec_or_zero(VENUE, "cumExecQty", &self.cum_exec_qty)?,
            avg_fill_price: price_opt(VENUE, "avgPrice", &self.avg_price)?,
            fee: dec_or_zero(VENUE, "cumExecFee", &self.cum_exec_fee)?,
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
        .unwrap_or_default();
        let i = row
            .to_instrument()
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no instrument"));
        assert_eq!(i.qty_step, dec!(0.001));
        assert_eq!(i.tick_size, dec!(0.10));
        assert_eq!(i.min_notional, dec!(5));
        assert_eq!(i.max_market_qty, Some(dec!(119)));
        assert_eq!(i.max_leverage, dec!(100));
    }

    #[test]
    fn flat_position_rows_have_an_empty_side() {
        let row = PositionRow {
            symbol: "ETHUSDT".into(),
            side: String::new(),
            size: "0".into(),
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
            avg_price: "2000".into(),
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
