//! MEXC contract reply shapes (only the fields we use; read after [`super::json::quote_numbers`],
//! so every number is a string here) and their conversion to the engine's model.
//!
//! Sizes: MEXC counts `vol` in **contracts**; `base = vol × contractSize` (BTC_USDT: 0.0001
//! BTC per contract). Steps and minimums stay in contracts (`volUnit`, `minVol`), as the model's
//! [`Instrument`] wants venue units. Positions: `holdVol` is unsigned, `positionType` gives the
//! side (1 long, 2 short), `openType` the margin mode (1 isolated, 2 cross), `holdAvgPrice` the
//! entry — the fields sirouk/trade-engine read under other names.

use rust_decimal::Decimal;
use serde::Deserialize;
use tradeengine_model::{
    ClientOrderId, Instrument, MarginMode, OrderState, OrderStatus, Position, Quantity,
};

use super::sides::SideCode;
use super::{VENUE, unified_symbol};
use crate::VenueError;
use crate::parse::{bad_reply, dec, dec_or_zero, ms_str, price_opt, symbol};

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContractRow {
    pub symbol: String,
    pub quote_coin: String,
    pub settle_coin: String,
    pub contract_size: String,
    pub min_vol: String,
    pub max_vol: String,
    pub vol_unit: String,
    pub price_unit: String,
    pub max_leverage: String,
    /// 0 enabled, 1 delivery, 2 completed, 3 offline, 4 paused.
    pub state: String,
    /// Whether API orders are allowed on this contract; absent on older replies (allowed).
    pub api_allowed: Option<bool>,
}

impl ContractRow {
    /// The engine's rules for an enabled USDT perpetual, with whether API orders are allowed;
    /// `None` for anything else.
    pub fn to_instrument(&self) -> Result<Option<(Instrument, bool)>, VenueError> {
        if self.settle_coin != "USDT"
            || !(self.quote_coin.is_empty() || self.quote_coin == "USDT")
            || self.state.trim() != "0"
        {
            return Ok(None);
        }
        let Ok(sym) = tradeengine_model::Symbol::new(&unified_symbol(&self.symbol)) else {
            return Ok(None);
        };
        let vol_unit = if self.vol_unit.trim().is_empty() {
            Decimal::ONE
        } else {
            dec(VENUE, "volUnit", &self.vol_unit)?
        };
        let max_vol = dec_or_zero(VENUE, "maxVol", &self.max_vol)?;
        let instrument = Instrument {
            symbol: sym,
            venue_symbol: self.symbol.clone(),
            qty_step: vol_unit,
            min_qty: dec(VENUE, "minVol", &self.min_vol)?,
            max_market_qty: (max_vol > Decimal::ZERO).then_some(max_vol),
            tick_size: dec(VENUE, "priceUnit", &self.price_unit)?,
            // MEXC documents no minimum order value; `minVol` is the only floor.
            min_notional: Decimal::ZERO,
            contract_size: dec(VENUE, "contractSize", &self.contract_size)?,
            max_leverage: dec(VENUE, "maxLeverage", &self.max_leverage)?,
        };
        instrument
            .validate()
            .map_err(|e| bad_reply(VENUE, &format!("contract {}", self.symbol), &e.to_string()))?;
        Ok(Some((instrument, self.api_allowed.unwrap_or(true))))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TickerRow {
    pub symbol: String,
    pub last_price: String,
    pub fair_price: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AssetRow {
    pub currency: String,
    /// Wallet balance plus unrealised profit, in `currency`.
    pub equity: String,
    pub available_balance: String,
    pub unrealized: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PositionRow {
    pub position_id: String,
    pub symbol: String,
    /// Contracts, unsigned.
    pub hold_vol: String,
    /// 1 long, 2 short.
    pub position_type: String,
    /// 1 isolated, 2 cross.
    pub open_type: String,
    pub hold_avg_price: String,
    pub leverage: String,
    /// 1 holding, 2 system holding, 3 closed.
    pub state: String,
}

/// MEXC `openType` for a margin mode.
pub fn open_type(mode: MarginMode) -> i64 {
    match mode {
        MarginMode::Isolated => 1,
        MarginMode::Cross => 2,
    }
}

fn margin_mode(open_type: &str) -> MarginMode {
    if open_type.trim() == "1" {
        MarginMode::Isolated
    } else {
        MarginMode::Cross
    }
}

impl PositionRow {
    pub fn margin_mode(&self) -> MarginMode {
        margin_mode(&self.open_type)
    }

    /// Whether this row is a long (`positionType` 1).
    pub fn is_long(&self) -> bool {
        self.position_type.trim() == "1"
    }

    /// The signed position in base units, given the contract's size.
    pub fn to_position(&self, contract_size: Decimal) -> Result<Position, VenueError> {
        let vol = if self.state.trim() == "3" {
            Decimal::ZERO
        } else {
            dec_or_zero(VENUE, "holdVol", &self.hold_vol)?
        };
        let base = vol
            .checked_mul(contract_size)
            .ok_or_else(|| bad_reply(VENUE, "holdVol", &self.hold_vol))?;
        let signed = match self.position_type.trim() {
            "1" => base,
            "2" => -base,
            other => return Err(bad_reply(VENUE, "positionType", other)),
        };
        let leverage = dec_or_zero(VENUE, "leverage", &self.leverage)?;
        Ok(Position {
            symbol: symbol(VENUE, &unified_symbol(&self.symbol))?,
            size: Quantity::new(signed),
            entry_price: if signed.is_zero() {
                None
            } else {
                price_opt(VENUE, "holdAvgPrice", &self.hold_avg_price)?
            },
            leverage: if leverage.is_zero() {
                Decimal::ONE
            } else {
                leverage
            },
            margin_mode: self.margin_mode(),
        })
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderRow {
    pub order_id: String,
    pub symbol: String,
    pub price: String,
    pub vol: String,
    pub side: String,
    pub order_type: String,
    pub deal_avg_price: String,
    pub deal_vol: String,
    pub taker_fee: String,
    pub maker_fee: String,
    pub open_type: String,
    /// 1 uninformed, 2 uncompleted, 3 completed, 4 cancelled, 5 invalid.
    pub state: String,
    pub external_oid: String,
    pub update_time: String,
}

/// MEXC order `state` (and how much filled) to our state.
pub fn order_state(state: &str, filled: Decimal) -> Option<OrderState> {
    Some(match state.trim() {
        "1" => OrderState::Acknowledged,
        "2" if filled > Decimal::ZERO => OrderState::PartiallyFilled,
        "2" => OrderState::Acknowledged,
        "3" => OrderState::Filled,
        "4" => OrderState::Cancelled,
        "5" => OrderState::Rejected,
        _ => return None,
    })
}

impl OrderRow {
    /// Our view of the order in base units; `None` for orders without a usable `externalOid`
    /// (placed by hand), which the engine does not manage.
    pub fn to_status(&self, contract_size: Decimal) -> Result<Option<OrderStatus>, VenueError> {
        let Ok(client_order_id) = ClientOrderId::new(&self.external_oid) else {
            return Ok(None);
        };
        let code = self
            .side
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(SideCode::from_code)
            .ok_or_else(|| bad_reply(VENUE, "side", &self.side))?;
        let to_base = |field: &str, v: &str| -> Result<Decimal, VenueError> {
            dec_or_zero(VENUE, field, v)?
                .checked_mul(contract_size)
                .ok_or_else(|| bad_reply(VENUE, field, v))
        };
        let filled = to_base("dealVol", &self.deal_vol)?;
        let state = order_state(&self.state, filled)
            .ok_or_else(|| bad_reply(VENUE, "state", &self.state))?;
        let fee = dec_or_zero(VENUE, "takerFee", &self.taker_fee)?
            + dec_or_zero(VENUE, "makerFee", &self.maker_fee)?;
        Ok(Some(OrderStatus {
            client_order_id,
            venue_order_id: (!self.order_id.is_empty()).then(|| self.order_id.clone()),
            symbol: symbol(VENUE, &unified_symbol(&self.symbol))?,
            side: code.side(),
            state,
            qty: to_base("vol", &self.vol)?,
            filled_qty: filled,
            avg_fill_price: price_opt(VENUE, "dealAvgPrice", &self.deal_avg_price)?,
            fee,
            reduce_only: code.reduces(),
            updated_at: ms_str(VENUE, "updateTime", &self.update_time)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use serde_json::Value;
    use tradeengine_model::Side;

    use super::super::json::quote_numbers;
    use super::*;

    fn read<T: serde::de::DeserializeOwned + Default>(raw: &str) -> T {
        let v: Value = serde_json::from_slice(&quote_numbers(raw.as_bytes())).unwrap();
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn btc_usdt_detail_gives_contract_sizing() {
        let row: ContractRow = read(
            r#"{"symbol":"BTC_USDT","displayName":"BTC_USDT永续","baseCoin":"BTC","quoteCoin":"USDT",
            "settleCoin":"USDT","contractSize":0.0001,"minLeverage":1,"maxLeverage":500,"priceScale":1,
            "volScale":0,"amountScale":4,"priceUnit":0.1,"volUnit":1,"minVol":1,"maxVol":1000000,
            "state":0,"apiAllowed":true,"positionOpenType":3}"#,
        );
        let (i, allowed) = row.to_instrument().unwrap().unwrap();
        assert!(allowed);
        assert_eq!(i.symbol.as_str(), "BTCUSDT");
        assert_eq!(i.venue_symbol, "BTC_USDT");
        assert_eq!(i.contract_size, dec!(0.0001));
        assert_eq!((i.qty_step, i.min_qty), (dec!(1), dec!(1)));
        assert_eq!(i.max_market_qty, Some(dec!(1000000)));
        assert_eq!(i.tick_size, dec!(0.1));
        assert_eq!(i.max_leverage, dec!(500));
        // 0.0125 BTC is 125 contracts; contractSize is not the lot size.
        assert_eq!(i.base_to_venue(dec!(0.0125)), Some(dec!(125)));
        let paused = ContractRow {
            state: "4".into(),
            ..row.clone()
        };
        assert!(paused.to_instrument().unwrap().is_none());
        let restricted = ContractRow {
            api_allowed: Some(false),
            ..row
        };
        assert!(!restricted.to_instrument().unwrap().unwrap().1);
    }

    #[test]
    fn positions_read_hold_vol_position_type_and_hold_avg_price() {
        let short: PositionRow = read(
            r#"{"positionId":1394650,"symbol":"ETH_USDT","positionType":2,"openType":1,"state":1,
            "holdVol":150,"frozenVol":0,"closeVol":0,"holdAvgPrice":3000.5,"openAvgPrice":3000.5,
            "liquidatePrice":3500,"oim":45,"im":45,"holdFee":0,"realised":-0.1,"leverage":10}"#,
        );
        let p = short.to_position(dec!(0.01)).unwrap();
        assert_eq!(p.symbol.as_str(), "ETHUSDT");
        assert_eq!(p.size.get(), dec!(-1.5));
        assert_eq!(p.entry_price.map(|e| e.get()), Some(dec!(3000.5)));
        assert_eq!(p.leverage, dec!(10));
        assert_eq!(p.margin_mode, MarginMode::Isolated);
        let long = PositionRow {
            position_type: "1".into(),
            open_type: "2".into(),
            ..short.clone()
        };
        let p = long.to_position(dec!(0.01)).unwrap();
        assert_eq!(p.size.get(), dec!(1.5));
        assert_eq!(p.margin_mode, MarginMode::Cross);
        let closed = PositionRow {
            state: "3".into(),
            ..short
        };
        assert!(closed.to_position(dec!(0.01)).unwrap().size.is_zero());
    }

    #[test]
    fn orders_convert_contracts_and_side_codes() {
        let row: OrderRow = read(
            r#"{"orderId":739113577038255617,"symbol":"BTC_USDT","positionId":0,"price":0,"vol":125,
            "leverage":5,"side":4,"category":1,"orderType":5,"dealAvgPrice":60000.1,"dealVol":125,
            "orderMargin":0,"takerFee":0.4125,"makerFee":0,"profit":0,"feeCurrency":"USDT",
            "openType":2,"state":3,"externalOid":"cl-1","errorCode":0,"createTime":1700000000000,
            "updateTime":1700000000123}"#,
        );
        let s = row.to_status(dec!(0.0001)).unwrap().unwrap();
        // The id survives exactly: it is above 2^53, where f64 would round it.
        assert_eq!(s.venue_order_id.as_deref(), Some("739113577038255617"));
        assert_eq!((s.side, s.reduce_only), (Side::Sell, true));
        assert_eq!(s.state, OrderState::Filled);
        assert_eq!((s.qty, s.filled_qty), (dec!(0.0125), dec!(0.0125)));
        assert_eq!(s.avg_fill_price.map(|p| p.get()), Some(dec!(60000.1)));
        assert_eq!(s.fee, dec!(0.4125));
        assert_eq!(s.updated_at.timestamp_millis(), 1700000000123);
        let by_hand = OrderRow {
            external_oid: String::new(),
            ..row
        };
        assert!(by_hand.to_status(dec!(0.0001)).unwrap().is_none());
        assert_eq!(order_state("2", dec!(0)), Some(OrderState::Acknowledged));
        assert_eq!(order_state("2", dec!(1)), Some(OrderState::PartiallyFilled));
        assert_eq!(order_state("5", dec!(0)), Some(OrderState::Rejected));
        assert_eq!(order_state("9", dec!(0)), None);
    }
}
