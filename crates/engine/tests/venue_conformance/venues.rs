//! One row per venue: what the engine's cycle lands on at each venue's grid, and the quirks a
//! scenario must allow for.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tradeengine_venue_sim::VenueId;

pub struct Row {
    pub id: VenueId,
    /// Positions after one cycle at depths BTC 0.2, ETH −0.1, SOL 0.05 of 100 000 USDT at
    /// 60 000 / 3 000 / 150, on the venue's grid (toward zero).
    pub landed: [Decimal; 3],
    /// The smallest position the venue takes: (symbol, depth that opens it, the position, a
    /// price at which its notional falls under the venue's minimum order value where there is
    /// one).
    pub smallest: (&'static str, Decimal, Decimal, Option<Decimal>),
    /// (depth of one step at `smallest`'s low price) for venues with a minimum order value:
    /// the engine must not send it.
    pub under_minimum: Option<Decimal>,
    /// Whether the order path carries orders only (Hyperliquid's `/exchange` also carries
    /// leverage and cancels, so its request counts are not order counts).
    pub order_path_is_orders_only: bool,
    /// Skew that makes the venue refuse a signed request (beyond its window), where it has one.
    pub skew_ms: Option<i64>,
    pub has_stream: bool,
}

pub fn bybit() -> Row {
    Row {
        id: VenueId::Bybit,
        landed: [dec!(0.333), dec!(-3.33), dec!(33.3)],
        // 0.1 SOL × 150 = 15 ≥ 5; at 40 it is 4 < 5.
        smallest: ("SOLUSDT", dec!(0.00015), dec!(0.1), Some(dec!(40))),
        under_minimum: Some(dec!(0.00004)),
        order_path_is_orders_only: true,
        skew_ms: Some(20_000),
        has_stream: true,
    }
}

pub fn binance() -> Row {
    Row {
        id: VenueId::Binance,
        landed: [dec!(0.333), dec!(-3.333), dec!(33)],
        // 0.002 BTC × 60 000 = 120 ≥ 100; at 40 000 it is 80 < 100.
        smallest: ("BTCUSDT", dec!(0.0012), dec!(0.002), Some(dec!(40000))),
        under_minimum: Some(dec!(0.0008)),
        order_path_is_orders_only: true,
        skew_ms: Some(20_000),
        has_stream: true,
    }
}

pub fn blofin() -> Row {
    Row {
        id: VenueId::Blofin,
        // 333.3 contracts of 0.001 BTC (lot 0.1); 333.3 of 0.01 ETH; 33 of 1 SOL.
        landed: [dec!(0.3333), dec!(-3.333), dec!(33)],
        // No minimum order value: one lot (0.1 contract of 0.001 BTC).
        smallest: ("BTCUSDT", dec!(0.00006), dec!(0.0001), None),
        under_minimum: None,
        order_path_is_orders_only: true,
        // BloFin's window is 60 s.
        skew_ms: Some(90_000),
        has_stream: true,
    }
}

pub fn kucoin() -> Row {
    Row {
        id: VenueId::Kucoin,
        // 333 lots of 0.001 BTC, 333 of 0.01 ETH, 333 of 0.1 SOL.
        landed: [dec!(0.333), dec!(-3.33), dec!(33.3)],
        // No minimum order value: one lot of 0.001 BTC.
        smallest: ("BTCUSDT", dec!(0.0006), dec!(0.001), None),
        under_minimum: None,
        order_path_is_orders_only: true,
        skew_ms: Some(20_000),
        has_stream: true,
    }
}

pub fn mexc() -> Row {
    Row {
        id: VenueId::Mexc,
        // 3333 contracts of 0.0001 BTC, 333 of 0.01 ETH, 33 of 1 SOL.
        landed: [dec!(0.3333), dec!(-3.33), dec!(33)],
        // No minimum order value: one contract (0.0001 BTC).
        smallest: ("BTCUSDT", dec!(0.00006), dec!(0.0001), None),
        under_minimum: None,
        order_path_is_orders_only: true,
        skew_ms: Some(20_000),
        has_stream: true,
    }
}

pub fn hyperliquid() -> Row {
    Row {
        id: VenueId::Hyperliquid,
        // szDecimals 5, 4 and 2.
        landed: [dec!(0.33333), dec!(-3.3333), dec!(33.33)],
        // 0.0002 BTC × 60 000 = 12 ≥ 10 (the minimum order value); at 40 000 it is 8 < 10.
        smallest: ("BTCUSDT", dec!(0.00012), dec!(0.0002), Some(dec!(40000))),
        under_minimum: Some(dec!(0.00008)),
        order_path_is_orders_only: false,
        // Signs a nonce, not a timestamp in a window: skew is no fault.
        skew_ms: None,
        has_stream: true,
    }
}
