//! Worked examples of the blend, sizing and rounding rules (the crate docs' formulas), end to end:
//! signals → sleeves → blend → size → plan, through the public API only.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use chrono::TimeZone;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tradeengine_core::{
    AccountSizing, BlendPolicy, PlanInput, SizeInput, SleeveDecision, SleeveRules, SymbolConfig,
    account_target, apply_signal, blend, integer_leverage, plan, size_target,
};
use tradeengine_model::{
    AccountName, Instrument, Intent, MarginMode, OrderKind, PlanId, Position, Price, Quantity,
    Side, Signal, SignalId, Sleeve, SourceId, Symbol, TargetIntent, Timestamp,
};

fn t0() -> Timestamp {
    chrono::Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn sym(s: &str) -> Symbol {
    Symbol::new(s).unwrap()
}

fn src(s: &str) -> SourceId {
    SourceId::new(s).unwrap()
}

fn price(v: Decimal) -> Price {
    Price::new(v).unwrap()
}

/// A target signal as the TradingView / SN8 parsers produce it.
fn target_signal(source: &str, symbol: &str, depth: Decimal, leverage: Option<Decimal>) -> Signal {
    Signal {
        id: SignalId::new(&format!("{source}-{symbol}")).unwrap(),
        source: src(source),
        symbol: sym(symbol),
        intent: Intent::Target(TargetIntent {
            depth,
            leverage,
            reference_price: None,
        }),
        emitted_at: None,
        received_at: t0(),
        idempotency_key: format!("{source}-{symbol}"),
        raw: serde_json::Value::Null,
    }
}

fn sleeve_from(signal: &Signal) -> Sleeve {
    let flat = Sleeve::flat(signal.source.clone(), signal.symbol.clone(), t0());
    match apply_signal(&flat, signal, None, &SleeveRules::default(), t0()).unwrap() {
        SleeveDecision::Applied { sleeve, .. } => sleeve,
        SleeveDecision::Refused(r) => panic!("refused: {r}"),
    }
}

fn weights(w: &[(&str, Decimal)]) -> BTreeMap<SourceId, Decimal> {
    w.iter().map(|(s, v)| (src(s), *v)).collect()
}

fn account() -> AccountSizing {
    AccountSizing {
        value: dec!(10000),
        leverage_override: None,
    }
}

/// BTCUSDT config leverage 3, TV weight 0.3 (long 50/100 at leverage 10), SN8 weight
/// 0.2 (depth −0.25) → D = 0.10, L = 10; V = 10,000, P = 60,000 → 0.1666… → 0.167 BTC.
#[test]
fn tradingview_plus_sn8_btc() {
    let sleeves = [
        sleeve_from(&target_signal(
            "tradingview",
            "BTCUSDT",
            dec!(0.5),
            Some(dec!(10)),
        )),
        sleeve_from(&target_signal("sn8", "BTCUSDT", dec!(-0.25), None)),
    ];
    let config = SymbolConfig::new(
        sym("BTCUSDT"),
        dec!(3),
        weights(&[("tradingview", dec!(0.3)), ("sn8", dec!(0.2))]),
    );
    let instrument = Instrument::linear(sym("BTCUSDT"), dec!(0.001), dec!(0.1));
    let (b, t) = account_target(
        &config,
        &sleeves,
        &BlendPolicy::default(),
        t0(),
        &account(),
        price(dec!(60000)),
        &instrument,
    )
    .unwrap();
    assert_eq!(b.depth, dec!(0.10));
    assert_eq!(b.leverage, dec!(10));
    // margin 1,000, notional 10,000, quantity 0.16667 BTC
    assert_eq!(t.raw_qty.round_dp(5), dec!(0.16667));
    assert_eq!(t.qty, Quantity::new(dec!(0.167)));

    let p = plan(&PlanInput {
        plan_id: &PlanId::new("cycle-1").unwrap(),
        account: &AccountName::new("bybit-main").unwrap(),
        now: t0(),
        current: &Position::flat(sym("BTCUSDT")),
        target: t.qty,
        unrounded_target: t.unrounded_qty,
        target_leverage: t.leverage,
        margin_mode: MarginMode::Isolated,
        instrument: &instrument,
        price: price(dec!(60000)),
        drift_band: dec!(0.001),
        min_notional: dec!(5),
        kind: OrderKind::Market,
    })
    .unwrap();
    let legs: Vec<_> = p.legs().collect();
    assert_eq!(legs.len(), 1);
    assert_eq!(
        (legs[0].side, legs[0].qty, legs[0].reduce_only),
        (Side::Buy, dec!(0.167), false)
    );
    assert_eq!(p.steps.len(), 3, "margin mode, leverage, then the order");
}

/// ETHUSDT leverage 5, SN8 weight 0.5, depth 0.1, price 3,000 → D = 0.05,
/// notional 2,500, 0.8333 ETH before rounding.
#[test]
fn sn8_only_eth() {
    let sleeves = [sleeve_from(&target_signal(
        "sn8",
        "ETHUSDT",
        dec!(0.1),
        None,
    ))];
    let config = SymbolConfig::new(sym("ETHUSDT"), dec!(5), weights(&[("sn8", dec!(0.5))]));
    let b = blend(&config, &sleeves, &BlendPolicy::default(), t0()).unwrap();
    assert_eq!(b.depth, dec!(0.05));
    assert_eq!(b.leverage, dec!(5));
    let instrument = Instrument::linear(sym("ETHUSDT"), dec!(0.001), dec!(0.01));
    let t = size_target(
        &SizeInput {
            blend: &b,
            price: price(dec!(3000)),
            instrument: &instrument,
        },
        &account(),
        &BlendPolicy::default(),
    )
    .unwrap();
    assert_eq!(t.raw_qty.round_dp(4), dec!(0.8333));
    assert_eq!(t.notional, dec!(2499.000));
}

/// KuCoin BTC, multiplier 0.001 and lot 1: 0.0125 BTC = 12.5 lots → 12 lots.
#[test]
fn kucoin_multiplier() {
    // V × D × L / P = 10,000 × 0.075 × 1 / 60,000 = 0.0125 BTC.
    let sleeves = [sleeve_from(&target_signal(
        "tv",
        "BTCUSDT",
        dec!(0.075),
        None,
    ))];
    let config = SymbolConfig::new(sym("BTCUSDT"), dec!(1), weights(&[("tv", dec!(1))]));
    let kucoin = Instrument {
        symbol: sym("BTCUSDT"),
        venue_symbol: "XBTUSDTM".into(),
        qty_step: dec!(1),
        min_qty: dec!(1),
        max_market_qty: Some(dec!(1000000)),
        tick_size: dec!(0.1),
        min_notional: dec!(0),
        contract_size: dec!(0.001),
        max_leverage: dec!(125),
    };
    let (_, t) = account_target(
        &config,
        &sleeves,
        &BlendPolicy::default(),
        t0(),
        &account(),
        price(dec!(60000)),
        &kucoin,
    )
    .unwrap();
    assert_eq!(t.raw_qty, dec!(0.0125));
    assert_eq!(t.venue_qty, dec!(12));
    assert_eq!(t.qty, Quantity::new(dec!(0.012)));
}

/// Half-even ties 0.0125 → 0.012 and 0.0135 → 0.014 at step 0.001.
#[test]
fn half_even_ties() {
    let instrument = Instrument::linear(sym("BTCUSDT"), dec!(0.001), dec!(0.1));
    for (depth, want) in [(dec!(0.075), dec!(0.012)), (dec!(0.081), dec!(0.014))] {
        let sleeves = [sleeve_from(&target_signal("tv", "BTCUSDT", depth, None))];
        let config = SymbolConfig::new(sym("BTCUSDT"), dec!(1), weights(&[("tv", dec!(1))]));
        let (_, t) = account_target(
            &config,
            &sleeves,
            &BlendPolicy::default(),
            t0(),
            &account(),
            price(dec!(60000)),
            &instrument,
        )
        .unwrap();
        assert_eq!(
            t.qty,
            Quantity::new(want),
            "depth {depth}: raw {}",
            t.raw_qty
        );
    }
}

/// Banker's rounding (as Python's `round`, which sirouk/trade-engine used) of the blended leverage:
/// 2.5 → 2, 3.5 → 4.
#[test]
fn leverage_rounds_half_even() {
    assert_eq!(integer_leverage(dec!(2.5)), dec!(2));
    assert_eq!(integer_leverage(dec!(3.5)), dec!(4));
    // Through the blend: equal |d|·w at leverage 3 and 4 average to 3.5 → 4.
    let sleeves = [
        sleeve_from(&target_signal("a", "BTCUSDT", dec!(0.2), Some(dec!(3)))),
        sleeve_from(&target_signal("b", "BTCUSDT", dec!(0.2), Some(dec!(4)))),
    ];
    let config = SymbolConfig::new(
        sym("BTCUSDT"),
        dec!(1),
        weights(&[("a", dec!(0.5)), ("b", dec!(0.5))]),
    );
    let b = blend(&config, &sleeves, &BlendPolicy::default(), t0()).unwrap();
    assert_eq!(b.raw_leverage, dec!(3.5));
    assert_eq!(b.leverage, dec!(4));
}
