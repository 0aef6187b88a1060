#![allow(clippy::unwrap_used, clippy::expect_used)] // a harness, like a test (team rule)
//! Replay speed: events (price points + signals) per second on one core, against a bare loop
//! over the same events (the limit: reading each event and nothing else), and a sweep's weight
//! sets per second on all cores.
//!
//! `cargo bench -p tradeengine-engine --bench replay` (env `DAYS`, default 7, of one-minute
//! prices for 10 symbols; signals at the rate of 10,000 a year).
//!
//! Prices are a seeded random walk written as klines CSV and read back through the same
//! `RecordedFeed` the command uses; signals alternate two sources' target depths.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use tradeengine_core::blend::{BlendPolicy, SymbolConfig};
use tradeengine_engine::replay::{ReplaySetup, candle_times, replay};
use tradeengine_engine::replay_sweep::sweep;
use tradeengine_model::{
    AccountName, Instrument, Intent, MarginMode, Signal, SignalId, SourceId, Symbol, TargetIntent,
    Timestamp,
};
use tradeengine_venues::feed::{KlineSeries, ReplayOptions};
use tradeengine_venues::paper::PaperConfig;
use tradeengine_venues::{PriceFeed, RecordedFeed};

const SYMBOLS: usize = 10;
const SIGNALS_PER_YEAR: usize = 10_000;

fn days() -> i64 {
    std::env::var("DAYS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(7)
}

fn symbol(k: usize) -> Symbol {
    Symbol::new(&format!("S{k}USDT")).unwrap()
}

/// Seeded random-walk closes, one a minute, as klines CSV.
fn csv(seed: u64, minutes: i64, start_ms: i64) -> String {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut price: i64 = 1_000_000; // cents
    let mut out = String::from("open_time_ms,open,high,low,close,volume\n");
    for m in 0..minutes {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let step = i64::try_from((state >> 33) % 201).unwrap() - 100;
        price = (price + step).max(10_000);
        let p = Decimal::new(price, 2);
        out.push_str(&format!("{},{p},{p},{p},{p},1\n", start_ms + m * 60_000));
    }
    out
}

struct Inputs {
    setup: ReplaySetup,
    feed: Arc<dyn PriceFeed>,
    times: Vec<Timestamp>,
    signals: Vec<Signal>,
    /// The same events, flattened, for the bare loop: (time, symbol index, price or depth).
    events: Vec<(i64, usize, Decimal)>,
}

fn inputs(days: i64) -> Inputs {
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let minutes = days * 24 * 60;
    let mut feed = RecordedFeed::new();
    let mut instruments = Vec::new();
    let symbols: Vec<Symbol> = (0..SYMBOLS).map(symbol).collect();
    for (k, s) in symbols.iter().enumerate() {
        let text = csv(k as u64 + 1, minutes, start.timestamp_millis());
        feed.insert(
            s.clone(),
            KlineSeries::parse("walk", &text).unwrap(),
            ReplayOptions::default(),
        )
        .unwrap();
        instruments.push(Instrument {
            symbol: s.clone(),
            venue_symbol: s.to_string(),
            qty_step: Decimal::new(1, 3),
            min_qty: Decimal::new(1, 3),
            max_market_qty: None,
            tick_size: Decimal::new(1, 2),
            min_notional: Decimal::from(5),
            contract_size: Decimal::ONE,
            max_leverage: Decimal::from(50),
        });
    }
    let times = candle_times(&feed, &symbols);
    let n_signals = (SIGNALS_PER_YEAR as i64 * days / 365).max(2);
    let sources = [SourceId::new("a").unwrap(), SourceId::new("b").unwrap()];
    let signals: Vec<Signal> = (0..n_signals)
        .map(|n| {
            let key = format!("sig-{n}");
            let at = start + TimeDelta::minutes(minutes * n / n_signals);
            Signal {
                id: SignalId::new(&key).unwrap(),
                source: sources[usize::try_from(n % 2).unwrap()].clone(),
                symbol: symbols[usize::try_from(n).unwrap() % SYMBOLS].clone(),
                intent: Intent::Target(TargetIntent {
                    depth: if n % 3 == 0 {
                        Decimal::new(-5, 2)
                    } else {
                        Decimal::new(5, 2)
                    },
                    leverage: None,
                    reference_price: None,
                }),
                emitted_at: None,
                received_at: at,
                idempotency_key: key,
                raw: serde_json::json!({}),
            }
        })
        .collect();
    let feed: Arc<dyn PriceFeed> = Arc::new(feed);
    let mut events: Vec<(i64, usize, Decimal)> = Vec::new();
    for t in &times {
        for (k, s) in symbols.iter().enumerate() {
            events.push((t.timestamp_millis(), k, feed.price(s, *t).unwrap().get()));
        }
    }
    for s in &signals {
        if let Intent::Target(t) = &s.intent {
            events.push((s.received_at.timestamp_millis(), 0, t.depth));
        }
    }
    events.sort_by_key(|e| e.0);
    let weights: BTreeMap<SourceId, Decimal> = sources
        .iter()
        .map(|s| (s.clone(), Decimal::new(5, 1)))
        .collect();
    let setup = ReplaySetup {
        account: AccountName::new("bench").unwrap(),
        symbols: symbols
            .iter()
            .map(|s| SymbolConfig::new(s.clone(), Decimal::from(2), weights.clone()))
            .collect(),
        policy: BlendPolicy::default(),
        rules: BTreeMap::new(),
        paper: PaperConfig {
            instruments,
            ..PaperConfig::default()
        },
        drift_band: Decimal::new(1, 2),
        min_notional: Decimal::from(5),
        margin_mode: MarginMode::Cross,
        leverage_override: None,
        margin_buffer: Decimal::new(5, 2),
    };
    Inputs {
        setup,
        feed,
        times,
        signals,
        events,
    }
}

fn bench(c: &mut Criterion) {
    let days = days();
    let i = inputs(days);
    let n_events = i.events.len() as u64;
    eprintln!(
        "replay bench: {SYMBOLS} symbols × {days} days of 1-minute prices, {} signals: {n_events} events",
        i.signals.len()
    );
    let mut g = c.benchmark_group("replay");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n_events));
    g.bench_function(BenchmarkId::new("engine", days), |b| {
        b.iter(|| {
            futures::executor::block_on(replay(&i.setup, &i.signals, i.feed.clone(), &i.times))
                .unwrap()
        })
    });
    g.bench_function(BenchmarkId::new("bare_loop", days), |b| {
        b.iter(|| {
            let mut last = [Decimal::ZERO; SYMBOLS];
            let mut sum = Decimal::ZERO;
            for (_, k, x) in &i.events {
                last[*k] = *x;
                sum += *x;
            }
            std::hint::black_box((last, sum))
        })
    });
    g.finish();

    // A sweep: 8 weight sets over one day, on all cores.
    let day = inputs(1);
    let sets: Vec<BTreeMap<SourceId, Decimal>> = (0..8)
        .map(|k| {
            [
                (SourceId::new("a").unwrap(), Decimal::new(k, 1)),
                (SourceId::new("b").unwrap(), Decimal::new(7 - k, 1)),
            ]
            .into()
        })
        .collect();
    let mut g = c.benchmark_group("sweep");
    g.sample_size(10);
    g.throughput(Throughput::Elements(sets.len() as u64));
    g.bench_function("sets_one_day", |b| {
        b.iter(|| {
            sweep(
                &day.setup,
                &sets,
                &day.signals,
                day.feed.clone(),
                &day.times,
                &|| {},
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
