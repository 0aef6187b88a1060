//! The instruments each simulator lists by default, in base units (the account behind every
//! simulator counts in base units; each protocol module converts to its venue's units).

use rust_decimal::Decimal;
use tradeengine_model::VenueId;

/// One tradable USDT perpetual: sizes in base units, prices and notionals in USDT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimInstrument {
    pub symbol: String,
    pub qty_step: Decimal,
    pub min_qty: Decimal,
    pub max_qty: Decimal,
    /// Largest market order.
    pub max_market_qty: Decimal,
    pub tick_size: Decimal,
    /// Smallest order value (Bybit `minNotionalValue`, Binance `MIN_NOTIONAL`); reduce-only
    /// orders are exempt, as on both venues.
    pub min_notional: Decimal,
    pub max_leverage: Decimal,
}

/// Bybit's BTCUSDT, ETHUSDT and SOLUSDT linear perpetual rules (instruments-info, 2026).
pub fn bybit_instruments() -> Vec<SimInstrument> {
    vec![
        SimInstrument {
            symbol: "BTCUSDT".into(),
            qty_step: d("0.001"),
            min_qty: d("0.001"),
            max_qty: d("1190"),
            max_market_qty: d("119"),
            tick_size: d("0.1"),
            min_notional: d("5"),
            max_leverage: d("100"),
        },
        SimInstrument {
            symbol: "ETHUSDT".into(),
            qty_step: d("0.01"),
            min_qty: d("0.01"),
            max_qty: d("7240"),
            max_market_qty: d("724"),
            tick_size: d("0.01"),
            min_notional: d("5"),
            max_leverage: d("100"),
        },
        SimInstrument {
            symbol: "SOLUSDT".into(),
            qty_step: d("0.1"),
            min_qty: d("0.1"),
            max_qty: d("79770"),
            max_market_qty: d("7977"),
            tick_size: d("0.01"),
            min_notional: d("5"),
            max_leverage: d("100"),
        },
    ]
}

/// Binance USDⓈ-M BTCUSDT, ETHUSDT and SOLUSDT rules (exchangeInfo filters; MIN_NOTIONAL is
/// 100 USDT for BTC, 20 for ETH, 5 for SOL).
pub fn binance_instruments() -> Vec<SimInstrument> {
    vec![
        SimInstrument {
            symbol: "BTCUSDT".into(),
            qty_step: d("0.001"),
            min_qty: d("0.001"),
            max_qty: d("1000"),
            max_market_qty: d("120"),
            tick_size: d("0.1"),
            min_notional: d("100"),
            max_leverage: d("125"),
        },
        SimInstrument {
            symbol: "ETHUSDT".into(),
            qty_step: d("0.001"),
            min_qty: d("0.001"),
            max_qty: d("10000"),
            max_market_qty: d("2000"),
            tick_size: d("0.01"),
            min_notional: d("20"),
            max_leverage: d("125"),
        },
        SimInstrument {
            symbol: "SOLUSDT".into(),
            qty_step: d("1"),
            min_qty: d("1"),
            max_qty: d("1000000"),
            max_market_qty: d("5000"),
            tick_size: d("0.01"),
            min_notional: d("5"),
            max_leverage: d("75"),
        },
    ]
}

/// MEXC BTC_USDT, ETH_USDT and SOL_USDT in base units: one contract is one `qty_step`, so the
/// contract sizes are MEXC's (0.0001 BTC, 0.01 ETH, 1 SOL; `volUnit` 1, `minVol` 1). MEXC has
/// no minimum order value.
pub fn mexc_instruments() -> Vec<SimInstrument> {
    vec![
        SimInstrument {
            symbol: "BTCUSDT".into(),
            qty_step: d("0.0001"),
            min_qty: d("0.0001"),
            max_qty: d("100"),
            max_market_qty: d("100"),
            tick_size: d("0.1"),
            min_notional: Decimal::ZERO,
            max_leverage: d("200"),
        },
        SimInstrument {
            symbol: "ETHUSDT".into(),
            qty_step: d("0.01"),
            min_qty: d("0.01"),
            max_qty: d("10000"),
            max_market_qty: d("10000"),
            tick_size: d("0.01"),
            min_notional: Decimal::ZERO,
            max_leverage: d("200"),
        },
        SimInstrument {
            symbol: "SOLUSDT".into(),
            qty_step: d("1"),
            min_qty: d("1"),
            max_qty: d("100000"),
            max_market_qty: d("100000"),
            tick_size: d("0.001"),
            min_notional: Decimal::ZERO,
            max_leverage: d("100"),
        },
    ]
}

/// BloFin's BTC-USDT, ETH-USDT and SOL-USDT in base units: lots of 0.1 contract for BTC and ETH
/// (0.0001 BTC, 0.001 ETH), of 1 for SOL; no minimum order value.
pub fn blofin_instruments() -> Vec<SimInstrument> {
    vec![
        SimInstrument {
            symbol: "BTCUSDT".into(),
            qty_step: d("0.0001"),
            min_qty: d("0.0001"),
            max_qty: d("1000"),
            max_market_qty: d("100"),
            tick_size: d("0.1"),
            min_notional: Decimal::ZERO,
            max_leverage: d("150"),
        },
        SimInstrument {
            symbol: "ETHUSDT".into(),
            qty_step: d("0.001"),
            min_qty: d("0.001"),
            max_qty: d("10000"),
            max_market_qty: d("1000"),
            tick_size: d("0.01"),
            min_notional: Decimal::ZERO,
            max_leverage: d("100"),
        },
        SimInstrument {
            symbol: "SOLUSDT".into(),
            qty_step: d("1"),
            min_qty: d("1"),
            max_qty: d("100000"),
            max_market_qty: d("10000"),
            tick_size: d("0.001"),
            min_notional: Decimal::ZERO,
            max_leverage: d("75"),
        },
    ]
}

/// KuCoin's XBTUSDTM, ETHUSDTM and SOLUSDTM in base units (lot size 1 of each multiplier).
pub fn kucoin_instruments() -> Vec<SimInstrument> {
    let one = |symbol: &str, step: &str, tick: &str, lev: &str| SimInstrument {
        symbol: symbol.into(),
        qty_step: d(step),
        min_qty: d(step),
        max_qty: d(step) * Decimal::from(1_000_000),
        max_market_qty: d(step) * Decimal::from(1_000_000),
        tick_size: d(tick),
        min_notional: Decimal::ZERO,
        max_leverage: d(lev),
    };
    vec![
        one("BTCUSDT", "0.001", "0.1", "125"),
        one("ETHUSDT", "0.01", "0.01", "100"),
        one("SOLUSDT", "0.1", "0.001", "75"),
    ]
}

/// Hyperliquid's BTC, ETH and SOL perpetuals (`meta`: szDecimals 5, 4 and 2; maximum
/// leverage 40, 25 and 20; minimum order value $10). Hyperliquid has no fixed tick (prices
/// are held to 5 significant figures), so the book's tick is the smallest decimal it could
/// carry and the protocol module checks the real rule.
pub fn hyperliquid_instruments() -> Vec<SimInstrument> {
    let one = |symbol: &str, step: &str, lev: &str| SimInstrument {
        symbol: symbol.into(),
        qty_step: d(step),
        min_qty: d(step),
        max_qty: d("1000000"),
        max_market_qty: d("1000000"),
        tick_size: d("0.000001"),
        min_notional: d("10"),
        max_leverage: d(lev),
    };
    vec![
        one("BTCUSDT", "0.00001", "40"),
        one("ETHUSDT", "0.0001", "25"),
        one("SOLUSDT", "0.01", "20"),
    ]
}

/// The default instruments of `venue`'s simulator.
pub fn of(venue: VenueId) -> Vec<SimInstrument> {
    match venue {
        VenueId::Bybit => bybit_instruments(),
        VenueId::Binance => binance_instruments(),
        VenueId::Blofin => blofin_instruments(),
        VenueId::Kucoin => kucoin_instruments(),
        VenueId::Mexc => mexc_instruments(),
        VenueId::Hyperliquid => hyperliquid_instruments(),
    }
}

fn d(v: &str) -> Decimal {
    v.parse().unwrap_or_default()
}
