#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Candles from a live venue (here the Bybit simulator's public kline endpoint):
//!
//! - the strategy source on a Bybit account, with no LLM, trades through the fallback rules on
//!   candles it reads from the venue, not from any paper feed;
//! - ATR-based default stops: a TradingView target signal on a symbol whose source asks for ATR
//!   stops gets SL/TP at entry ∓/± k·ATR (rounded away from entry to the tick); with no candles
//!   yet it gets the fixed percentages; the audit trail says which.
//!
//! Time: the engine runs on a manual clock and the simulator's clock is skewed to match, both
//! moved a minute at a time, so a minute candle closes without waiting for it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::stops::AtrTracker;
use tradeengine_engine::{RunningEngine, SharedState, SignalIntake, StartOptions};
use tradeengine_model::{
    Clock, Intent, ManualClock, Price, Signal, SignalId, SourceId, Symbol, TargetIntent,
};
use tradeengine_venue_sim::{SimHandle, SimOptions, VenueId, serve};

/// A minute-aligned instant a day ago: the simulator's clock is skewed back to it.
fn t0() -> i64 {
    let day_ago = chrono::Utc::now().timestamp_millis() - 86_400_000;
    day_ago.div_euclid(60_000) * 60_000
}

fn ts(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap()
}

/// Minute `i` of a slide then a rally around 60 000 (the shape the Cipher tests use): 150
/// minutes down 0.4 %, a pause, then up 0.8 % a minute.
fn v_price(i: i64) -> f64 {
    let mut p = 60_000.0;
    for k in 0..i {
        p *= if k >= 150 {
            1.008
        } else if k >= 130 {
            0.992
        } else if k >= 127 {
            1.001
        } else {
            0.996
        };
    }
    p
}

fn dec_of(x: f64) -> Decimal {
    Decimal::from_f64_retain(x).unwrap().round_dp(1)
}

/// Records minutes `0..n` of `price` from `start` with some range and volume inside each.
fn record_path(sim: &SimHandle, symbol: &str, start: i64, n: i64, price: impl Fn(i64) -> f64) {
    for i in 0..n {
        let t = start + i * 60_000;
        let (open, close) = (price(i), price(i + 1));
        sim.record_price_at(symbol, t, dec_of(open), Decimal::ZERO);
        sim.record_price_at(
            symbol,
            t + 20_000,
            dec_of(open.max(close) * 1.001),
            dec!(0.5),
        );
        sim.record_price_at(
            symbol,
            t + 40_000,
            dec_of(open.min(close) * 0.999),
            dec!(0.5),
        );
        sim.record_price_at(symbol, t + 59_000, dec_of(close), Decimal::ZERO);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strategy_trades_a_bybit_account_on_the_venues_klines() {
    let options = SimOptions::new(VenueId::Bybit);
    let (key, secret) = (options.api_key.clone(), options.api_secret.clone());
    let sim = serve(VenueId::Bybit, "127.0.0.1:0".parse().unwrap(), options)
        .await
        .unwrap();
    let t0 = t0();
    let wall = chrono::Utc::now().timestamp_millis();
    sim.faults().set_clock_skew_ms(t0 - wall);
    // 100 minutes of history before t0, then 200 ahead.
    let start = t0 - 100 * 60_000;
    record_path(&sim, "BTCUSDT", start, 300, v_price);
    sim.set_price("BTCUSDT", dec_of(v_price(100)));

    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
[engine]
mode = "testnet"
data_dir = "{dir}"
hot_reload = false
drift_check_interval_secs = 1
[[accounts]]
name = "bybit"
venue = "bybit"
base_url = "{url}"
ws_url = "off"
credentials = "env:TE_SIM"
[sources.cipher]
type = "strategy"
[sources.cipher.settings]
account = "bybit"
interval = "1m"
window = 80
poll_ms = 20
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = {{ cipher = 1.0 }}
[risk]
max_depth = 1
"#,
        dir = dir.path().display(),
        url = sim.base_url()
    );
    let config = load_str(&text, None, &[], &Overrides::default()).unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let clock = Arc::new(ManualClock::new(ts(t0 + 1_000)));
    let env: BTreeMap<String, String> = [
        ("TE_SIM_API_KEY".to_string(), key),
        ("TE_SIM_API_SECRET".to_string(), secret),
    ]
    .into();
    let engine = RunningEngine::start(
        config,
        store.clone(),
        StartOptions {
            clock: clock.clone(),
            live_confirmed: false,
            config_path: None,
            env_overrides: env,
        },
    )
    .await
    .unwrap();

    // One minute at a time, on both clocks, until the venue holds a position.
    let began = Instant::now();
    let mut minute = 0;
    while sim.position("BTCUSDT").is_zero() {
        assert!(
            minute < 190 && began.elapsed() < Duration::from_secs(90),
            "no position after {minute} minutes"
        );
        tokio::time::sleep(Duration::from_millis(80)).await;
        minute += 1;
        clock.advance(chrono::Duration::minutes(1));
        sim.faults()
            .set_clock_skew_ms(t0 + minute * 60_000 - chrono::Utc::now().timestamp_millis());
        sim.set_price("BTCUSDT", dec_of(v_price(100 + minute)));
    }
    let signals = store.recent_signals(500, 0).await.unwrap();
    assert!(!signals.is_empty());
    for s in &signals {
        assert_eq!(
            s.raw["decided_by"]["reason"], "no LLM configured",
            "{}",
            s.raw
        );
        // Decided on the venue's candles: the candle is a whole minute of the recorded path.
        let open_ms = s.raw["candle_open_ms"].as_i64().unwrap();
        assert_eq!(open_ms.rem_euclid(60_000), 0);
        let price = s.raw["market"]["price"].as_f64().unwrap();
        let i = (open_ms - start) / 60_000;
        assert!(
            (price - v_price(i + 1)).abs() < 0.2,
            "close of minute {i}: {price}"
        );
    }
    // The first open (a SHORT on the slide or a LONG on the rally) is what the venue holds.
    let mut by_time: Vec<_> = signals.iter().collect();
    by_time.sort_by_key(|s| s.raw["candle_open_ms"].as_i64());
    let opened = by_time
        .iter()
        .find_map(|s| match s.raw["decision"]["action"].as_str() {
            Some(a @ ("LONG" | "SHORT")) => Some(a),
            _ => None,
        })
        .expect("an opening decision");
    let held = sim.position("BTCUSDT");
    assert_eq!(
        held > Decimal::ZERO,
        opened == "LONG",
        "{opened} but holds {held}"
    );
    engine.shutdown().await;
}

/// A TradingView-style target signal from source `tv`.
fn tv_signal(n: u32, depth: Decimal, at: chrono::DateTime<chrono::Utc>) -> Signal {
    let key = format!("tv-{n}");
    Signal {
        id: SignalId::new(&key).unwrap(),
        source: SourceId::new("tv").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        intent: Intent::Target(TargetIntent {
            depth,
            leverage: None,
            reference_price: None,
        }),
        emitted_at: Some(at),
        received_at: at,
        idempotency_key: key,
        raw: serde_json::json!({"alert": n}),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tradingview_sleeves_take_atr_stops_and_fall_back_to_percentages() {
    let sim = serve(
        VenueId::Bybit,
        "127.0.0.1:0".parse().unwrap(),
        SimOptions::new(VenueId::Bybit),
    )
    .await
    .unwrap();
    // Flat minutes with a range of exactly 4: every true range is 4, so ATR(14) = 4.
    let t0 = t0();
    for i in -60..0 {
        let t = t0 + i * 60_000;
        sim.record_price_at("BTCUSDT", t, dec!(60000), Decimal::ZERO);
        sim.record_price_at("BTCUSDT", t + 10_000, dec!(60002), dec!(1));
        sim.record_price_at("BTCUSDT", t + 20_000, dec!(59998), dec!(1));
        sim.record_price_at("BTCUSDT", t + 30_000, dec!(60000), Decimal::ZERO);
    }
    let text = format!(
        r#"
[engine]
mode = "testnet"
hot_reload = false
[[accounts]]
name = "bybit"
venue = "bybit"
mode = "dry-run"
base_url = "{url}"
[sources.tv]
type = "rest"
default_stop_loss = 0.02
default_take_profit = 0.04
stops = {{ kind = "atr", period = 14, stop_multiple = 1.37, take_multiple = 3.0, interval = "1m", account = "bybit" }}
[[symbols]]
symbol = "BTCUSDT"
leverage = 1
weights = {{ tv = 1.0 }}
"#,
        url = sim.base_url()
    );
    let config = load_str(&text, None, &[], &Overrides::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let clock = Arc::new(ManualClock::new(ts(t0 + 5_000)));
    let state = SharedState::new(config.clone());
    state
        .publish_prices(&BTreeMap::from([(
            Symbol::new("BTCUSDT").unwrap(),
            Price::new(dec!(60000)).unwrap(),
        )]))
        .await;
    let intake = SignalIntake::new(state.clone(), store.clone(), clock.clone());
    let tracker = AtrTracker::build(&config, state.atr_board(), &BTreeMap::new())
        .unwrap()
        .expect("a source asks for ATR stops");

    // No candles read yet: the fixed percentages (2 % / 4 % of 60 000).
    intake
        .submit(tv_signal(1, dec!(0.5), clock.now()))
        .await
        .unwrap();
    let sleeve =
        |state: SharedState| async move { state.sleeves().await.values().next().cloned().unwrap() };
    let s = sleeve(state.clone()).await;
    assert_eq!(
        (s.stop_loss.map(|p| p.get()), s.take_profit.map(|p| p.get())),
        (Some(dec!(58800)), Some(dec!(62400)))
    );

    // The tracker reads the klines: ATR 4; 1.37 × 4 = 5.48 rounds away from entry to 5.5 on
    // Bybit's 0.1 tick; 3 × 4 = 12. A flip to short takes fresh levels.
    tracker.poll_once(clock.now().timestamp_millis()).await;
    intake
        .submit(tv_signal(2, dec!(-0.5), clock.now()))
        .await
        .unwrap();
    let s = sleeve(state.clone()).await;
    assert_eq!(
        (s.stop_loss.map(|p| p.get()), s.take_profit.map(|p| p.get())),
        (Some(dec!(60005.5)), Some(dec!(59988)))
    );
    // Flat, then long again: below and above entry.
    intake
        .submit(tv_signal(3, dec!(0), clock.now()))
        .await
        .unwrap();
    intake
        .submit(tv_signal(4, dec!(0.25), clock.now()))
        .await
        .unwrap();
    let s = sleeve(state.clone()).await;
    assert_eq!(
        (s.stop_loss.map(|p| p.get()), s.take_profit.map(|p| p.get())),
        (Some(dec!(59994.5)), Some(dec!(60012)))
    );

    // Candles stop (no poll for 5 minutes): stale, so back to the percentages.
    clock.advance(chrono::Duration::minutes(5));
    intake
        .submit(tv_signal(5, dec!(-0.25), clock.now()))
        .await
        .unwrap();
    let s = sleeve(state.clone()).await;
    assert_eq!(
        (s.stop_loss.map(|p| p.get()), s.take_profit.map(|p| p.get())),
        (Some(dec!(61200)), Some(dec!(57600)))
    );

    // The audit trail says which levels each open used.
    let events = store.audit_events(0, 1000).await.unwrap();
    let choices: Vec<String> = events
        .iter()
        .filter_map(|e| e.payload.get("default_stops"))
        .map(|c| c["stops"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        choices,
        vec!["fixed_fallback", "atr", "atr", "fixed_fallback"],
        "{events:?}"
    );
    let atr = events
        .iter()
        .find_map(|e| {
            e.payload
                .get("default_stops")
                .filter(|c| c["stops"] == "atr")
        })
        .unwrap();
    assert_eq!(atr["stop_distance"], "5.5");
    assert!((atr["atr"].as_f64().unwrap() - 4.0).abs() < 1e-9);
}
