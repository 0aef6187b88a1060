#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! The embedded paper demo trades at a realistic pace and does not bleed its equity in fees.
//!
//! The demo's own configuration (`examples/demo.toml`: the trend source's settings, weights,
//! leverage, drift band, minimum order, the paper account's fee and slippage) is run over the
//! same seeded price walk the paper venue generates, on simulated time (no wall clock): the
//! source decides once per `interval_secs`, the account is brought to its target every
//! `drift_check_interval_secs` when it is outside the drift band, as the planner does
//! (`|target − position| ≥ drift_band × |target|`, orders under `min_order_notional` skipped
//! unless they close), and each trade pays the taker fee and slippage on its notional.
//! The same model with the old demo (a random depth every 3 s) is shown to burn far more.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tradeengine_engine::config::{Config, Overrides, demo::DEMO_TOML, load_str};
use tradeengine_engine::sources::demo::{DemoMode, DemoSettings, script_step};
use tradeengine_engine::sources::demo_trend::decide;
use tradeengine_model::{Symbol, Timestamp};
use tradeengine_venues::feed::RandomWalkConfig;
use tradeengine_venues::{PriceFeed, RandomWalkFeed};

/// What a simulated stretch of the demo did.
#[derive(Debug, Default)]
struct Run {
    fees: Decimal,
    equity_start: Decimal,
    equity_end: Decimal,
    /// Target changes the source emitted, per symbol.
    changes: BTreeMap<Symbol, u32>,
    trades: u32,
    first_trade_secs: Option<i64>,
}

fn demo_config() -> Config {
    load_str(DEMO_TOML, None, &[], &Overrides::default()).unwrap()
}

/// Runs the demo's account from `start` for `secs` seconds on `feed`; `script` replaces the
/// trend source with the old random script (a new depth every 3 s).
fn simulate(
    config: &Config,
    feed: &RandomWalkFeed,
    start: Timestamp,
    secs: i64,
    script: bool,
) -> Run {
    let source = &config.sources["demo"];
    let settings = DemoSettings::from_table(&source.settings).unwrap();
    assert_eq!(
        settings.mode,
        DemoMode::Trend,
        "the embedded demo runs the trend"
    );
    let account = &config.accounts[0];
    let paper = account.paper.clone().unwrap_or_default();
    let cost_rate = paper.taker_fee + paper.slippage_bps / dec!(10000);
    let band = config.engine.drift_band;
    let cycle = config.engine.drift_check_interval_secs as i64;
    let interval = if script {
        3
    } else {
        settings.interval_secs as i64
    };
    let symbols: Vec<(Symbol, Decimal, Decimal)> = config
        .symbols
        .iter()
        .map(|s| (s.symbol.clone(), s.weights["demo"], s.leverage))
        .collect();

    let mut cash = paper.starting_balance;
    let mut qty: BTreeMap<Symbol, Decimal> = BTreeMap::new();
    let mut depth: BTreeMap<Symbol, Decimal> = BTreeMap::new();
    let mut run = Run {
        equity_start: cash,
        ..Run::default()
    };
    let mut step = 0u64;
    let equity = |t: Timestamp, cash: Decimal, qty: &BTreeMap<Symbol, Decimal>| -> Decimal {
        cash + qty
            .iter()
            .map(|(s, q)| *q * feed.price(s, t).unwrap().get())
            .sum::<Decimal>()
    };
    for elapsed in 0..=secs {
        let now = start + chrono::Duration::seconds(elapsed);
        if elapsed % interval == 0 {
            if script {
                let names: Vec<Symbol> = symbols.iter().map(|(s, _, _)| s.clone()).collect();
                let (s, d) = script_step(42, step, &names).unwrap();
                step += 1;
                if depth.insert(s.clone(), d) != Some(d) {
                    *run.changes.entry(s).or_default() += 1;
                }
            } else {
                for (s, _, _) in &symbols {
                    let before = depth.get(s).copied();
                    let d = decide(Some(feed), s, now, before, settings.seed, &settings.trend());
                    if before != Some(d) {
                        *run.changes.entry(s.clone()).or_default() += 1;
                    }
                    depth.insert(s.clone(), d);
                }
            }
        }
        if elapsed % cycle != 0 {
            continue;
        }
        let value = equity(now, cash, &qty);
        for (s, weight, leverage) in &symbols {
            let price = feed.price(s, now).unwrap().get();
            let d = depth.get(s).copied().unwrap_or_default() * weight;
            let target = value * d * leverage / price;
            let held = qty.get(s).copied().unwrap_or_default();
            let diff = target - held;
            let closing = target.is_zero() && !held.is_zero();
            if diff.is_zero() || (diff.abs() < band * target.abs() && !closing) {
                continue;
            }
            if diff.abs() * price < account.min_order_notional && !closing {
                continue;
            }
            let fee = diff.abs() * price * cost_rate;
            cash -= diff * price + fee;
            run.fees += fee;
            run.trades += 1;
            run.first_trade_secs.get_or_insert(elapsed);
            qty.insert(s.clone(), target);
        }
    }
    run.equity_end = equity(start + chrono::Duration::seconds(secs), cash, &qty);
    run
}

fn walk(seed: u64, origin: Timestamp) -> RandomWalkFeed {
    RandomWalkFeed::new(RandomWalkConfig::demo(seed, origin)).unwrap()
}

#[test]
fn the_first_hour_of_the_demo_trades_at_once_then_rarely_and_cheaply() {
    let config = demo_config();
    let seed = config.accounts[0].paper.clone().unwrap_or_default().seed;
    let origin = chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap();
    let feed = walk(seed, origin);
    let run = simulate(&config, &feed, origin, 3600, false);
    // First run: the opening view trades in the first cycle (the banner's promise).
    assert_eq!(run.first_trade_secs, Some(0), "{run:?}");
    // Fees are visible, and a small share of equity: at most 0.5 % in the hour, opening
    // included (the old demo burned about 0.5 % a minute).
    assert!(run.fees > Decimal::ZERO, "{run:?}");
    let rate = run.fees / run.equity_start;
    assert!(
        rate <= dec!(0.005),
        "fees {} = {rate} of equity in an hour: {run:?}",
        run.fees
    );
    // A realistic pace: the opening view plus a few changes of side per symbol.
    for (s, n) in &run.changes {
        assert!(*n <= 4, "{s} changed target {n} times in an hour: {run:?}");
    }
    // The drift band keeps price moves from trading every cycle (720 cycles × 2 symbols).
    assert!(
        run.trades <= 60,
        "{} trades in an hour: {run:?}",
        run.trades
    );

    // The old demo, in the same model, on the same prices.
    let old = simulate(&config, &feed, origin, 3600, true);
    assert!(
        old.fees > run.fees * dec!(20),
        "old demo fees {} vs {}",
        old.fees,
        run.fees
    );
}

#[test]
fn later_hours_on_other_walks_stay_cheap() {
    let config = demo_config();
    let origin = chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap();
    let mut fees = Decimal::ZERO;
    let mut equity = Decimal::ZERO;
    let mut changes = 0;
    let hours = 3;
    for seed in [1u64, 2, 3] {
        let feed = walk(seed, origin);
        // After an hour of history, so the trend rule (not the opening view) decides.
        let run = simulate(
            &config,
            &feed,
            origin + chrono::Duration::hours(1),
            hours * 3600,
            false,
        );
        fees += run.fees;
        equity += run.equity_start;
        changes += run.changes.values().sum::<u32>();
    }
    let per_hour = fees / equity / Decimal::from(hours);
    assert!(
        per_hour <= dec!(0.003),
        "fees {per_hour} of equity per hour"
    );
    // Two symbols, three walks, three hours: the first decisions plus about one change of side
    // per symbol and hour.
    assert!(changes <= 6 + 2 * 3 * 3 * 2, "{changes} target changes");
}
