#![allow(clippy::unwrap_used, clippy::expect_used)] // a harness, like a test (team rule)
//! Reconciliation cycle against the venue simulators: two accounts on every
//! venue of [`VENUES`] (Bybit, Binance, MEXC, BloFin, KuCoin), 50 symbols each, every target
//! changed every round, the simulators adding 50 ms to every HTTP request. Prints Markdown tables
//! for BENCHMARKS.md.
//!
//! `cargo bench -p tradeengine-engine --bench venue_cycle` (env `ROUNDS=N`, default 5;
//! `LATENCY_MS`, default 50; `SYMBOLS`, default 50).
//!
//! Each account has its own simulator (its own UID: per-account limits apply per account, as on
//! the venues). All workers share one SQLite store, one signal intake and one state, as
//! `RunningEngine` wires them, and run their cycles at the same time; a venue's time in a round
//! is its slowest account's cycle.
//!
//! The physical floor of a cycle is its dependent round trips × the added latency: one for the
//! reads (account value, positions and prices go together), one for the orders (sent in
//! parallel; Binance answers a market order with its fill, Bybit and MEXC push the fill on the
//! private stream), plus one when leverage must change first.
//!
//! The adapters-alone table (Hyperliquid included) sends 50 orders twice: one by one
//! (`place_order` each, all at once) and in the venue's batches (`place_orders`), with the
//! requests each took. The engine's cycles send a cycle's first legs in batches.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::plan_ids::PlanIds;
use tradeengine_engine::worker::AccountWorker;
use tradeengine_engine::{SharedState, SignalIntake};
use tradeengine_model::{
    AccountName, Intent, Signal, SignalId, SourceId, Symbol, SystemClock, TargetIntent,
};
use tradeengine_venue_sim::{SimHandle, SimOptions, VenueId, serve};
use tradeengine_venues::{AdapterConfig, Credentials};

/// One venue the benchmark drives: the simulator, a label, and the request that fetches its
/// instrument rules (counted to show the cache works).
struct BenchVenue {
    venue: VenueId,
    label: &'static str,
    instruments_request: &'static str,
}

/// The venues of one run, two accounts each.
const VENUES: &[BenchVenue] = &[
    BenchVenue {
        venue: VenueId::Bybit,
        label: "Bybit",
        instruments_request: "GET /v5/market/instruments-info",
    },
    BenchVenue {
        venue: VenueId::Binance,
        label: "Binance",
        instruments_request: "GET /fapi/v1/exchangeInfo",
    },
    BenchVenue {
        venue: VenueId::Mexc,
        label: "MEXC",
        instruments_request: "GET /api/v1/contract/detail",
    },
    BenchVenue {
        venue: VenueId::Blofin,
        label: "BloFin",
        instruments_request: "GET /api/v1/market/instruments",
    },
    BenchVenue {
        venue: VenueId::Kucoin,
        label: "KuCoin",
        instruments_request: "GET /api/v1/contracts/active",
    },
];

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Account {
    name: String,
    venue: &'static BenchVenue,
    sim: SimHandle,
    worker: Option<AccountWorker>,
}

fn config(accounts: &[Account], symbols: &[String], data_dir: &str) -> String {
    let mut t = format!(
        "[engine]\nmode = \"testnet\"\ndrift_check_interval_secs = 3600\ndata_dir = \"{data_dir}\"\nhot_reload = false\n\
         [sources.bench]\ntype = \"rest\"\n[risk]\nmax_leverage = 10\nmax_depth = 1\n"
    );
    for a in accounts {
        t.push_str(&format!(
            "[[accounts]]\nname = \"{}\"\nvenue = \"{}\"\nmode = \"testnet\"\nbase_url = \"{}\"\ncredentials = \"env:TE_BENCH_UNUSED\"\nmax_concurrent_requests = 64\n",
            a.name,
            a.venue.venue.as_str(),
            a.sim.base_url()
        ));
    }
    for s in symbols {
        t.push_str(&format!(
            "[[symbols]]\nsymbol = \"{s}\"\nleverage = 2\nweights = {{ bench = 1.0 }}\n"
        ));
    }
    t
}

fn signal(n: u64, symbol: &str, depth: Decimal) -> Signal {
    let now = chrono::Utc::now();
    let key = format!("bench-{n}");
    Signal {
        id: SignalId::new(&key).unwrap(),
        source: SourceId::new("bench").unwrap(),
        symbol: Symbol::new(symbol).unwrap(),
        intent: Intent::Target(TargetIntent {
            depth,
            leverage: None,
            reference_price: None,
        }),
        emitted_at: Some(now),
        received_at: now,
        idempotency_key: key,
        raw: serde_json::json!({}),
    }
}

/// One round, per venue label.
#[derive(Default, Clone)]
struct Round {
    /// Slowest account's cycle.
    time: BTreeMap<&'static str, Duration>,
    /// Requests per account per cycle (average of the venue's accounts).
    requests: BTreeMap<&'static str, f64>,
    /// Orders per account (average).
    orders: BTreeMap<&'static str, f64>,
    instrument_requests: BTreeMap<&'static str, u64>,
}

async fn run_round(accounts: &mut [Account]) -> Round {
    for a in accounts.iter() {
        a.sim.counters().reset();
    }
    let mut handles = Vec::new();
    for a in accounts.iter_mut() {
        let mut worker = a.worker.take().unwrap();
        let venue = a.venue.label;
        handles.push(tokio::spawn(async move {
            let t0 = Instant::now();
            let report = worker.cycle().await.unwrap();
            (venue, t0.elapsed(), report, worker)
        }));
    }
    let mut round = Round::default();
    for (a, h) in accounts.iter_mut().zip(handles) {
        let (venue, took, report, worker) = h.await.unwrap();
        assert!(
            report.symbol_errors.is_empty(),
            "{}: {:?}",
            a.name,
            report.symbol_errors
        );
        a.worker = Some(worker);
        let t = round.time.entry(venue).or_default();
        *t = (*t).max(took);
        *round.requests.entry(venue).or_default() += a.sim.counters().total() as f64 / 2.0;
        *round.orders.entry(venue).or_default() += report.sent as f64 / 2.0;
        let snap = a.sim.counters().snapshot();
        *round.instrument_requests.entry(venue).or_default() +=
            snap.get(a.venue.instruments_request).copied().unwrap_or(0);
    }
    round
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn scenario(
    bybit_order_limit: u32,
    rounds: u64,
    latency: Duration,
    n_symbols: usize,
) -> Vec<(String, Round)> {
    let dir = tempfile::tempdir().unwrap();
    let mut accounts = Vec::new();
    for bench_venue in VENUES {
        let venue = bench_venue.venue;
        for n in 1..=2 {
            let mut options = SimOptions::new(venue)
                .with_synthetic(n_symbols)
                .with_latency(latency);
            options.order_rate_limit = bybit_order_limit;
            options.balance = Decimal::from(1_000_000);
            let sim = serve(venue, "127.0.0.1:0".parse().unwrap(), options)
                .await
                .unwrap();
            accounts.push(Account {
                name: format!("{}-{n}", venue.as_str()),
                venue: bench_venue,
                sim,
                worker: None,
            });
        }
    }
    let symbols: Vec<String> = (1..=n_symbols).map(|i| format!("S{i:03}USDT")).collect();
    let text = config(&accounts, &symbols, &dir.path().display().to_string());
    let cfg = load_str(&text, None, &[], &Overrides::default()).unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let clock: Arc<dyn tradeengine_model::Clock> = Arc::new(SystemClock);
    let state = SharedState::new(cfg);
    let plan_ids = Arc::new(PlanIds::start(&*store).await.unwrap());
    let intake = SignalIntake::new(state.clone(), store.clone(), clock.clone());
    for a in &mut accounts {
        let o = a.sim.options();
        let adapter = AdapterConfig {
            base_url: a.sim.base_url(),
            stream: tradeengine_venues::StreamSetting::Auto,
            credentials: Some(
                Credentials::new(&o.api_key, &o.api_secret).with_passphrase(&o.passphrase),
            ),
            recv_window_ms: 5000,
            request_timeout: Duration::from_secs(10),
            clock: clock.clone(),
            hyperliquid: Default::default(),
        };
        let venue = tradeengine_venues::connect(a.venue.venue, adapter)
            .await
            .unwrap();
        a.worker = Some(AccountWorker::new(
            AccountName::new(&a.name).unwrap(),
            venue,
            store.clone(),
            clock.clone(),
            state.clone(),
            plan_ids.clone(),
        ));
    }
    // Let the private streams connect.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut out = Vec::new();
    let mut n = 0;
    // Round 0 opens every position from flat (and sets leverage 2 on every symbol); rounds
    // 1..=R move every target between 1.0 % and 1.5 % of V, same side, so every symbol trades.
    for r in 0..=rounds {
        for (i, s) in symbols.iter().enumerate() {
            let base = if (i + r as usize).is_multiple_of(2) {
                Decimal::new(10, 3)
            } else {
                Decimal::new(15, 3)
            };
            intake.submit(signal(n, s, base)).await.unwrap();
            n += 1;
        }
        let label = if r == 0 {
            "opening (leverage set)".to_string()
        } else {
            format!("every target changed #{r}")
        };
        out.push((label, run_round(&mut accounts).await));
    }
    out.push((
        "nothing changed".to_string(),
        run_round(&mut accounts).await,
    ));
    out
}

fn print(title: &str, rounds: &[(String, Round)], latency: Duration) {
    let l = ms(latency);
    println!("\n**{title}**\n");
    println!(
        "| cycle | venue | cycle time (slowest of 2) | requests / account | orders / account | instrument requests | ÷ floor |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (label, r) in rounds {
        for v in VENUES {
            let took = r.time.get(v.label).copied().unwrap_or_default();
            let orders = r.orders.get(v.label).copied().unwrap_or(0.0);
            // Dependent round trips on the floor: reads, then orders, plus leverage when it
            // is set first.
            let trips = if orders == 0.0 {
                1.0
            } else if label.starts_with("opening") {
                3.0
            } else {
                2.0
            };
            println!(
                "| {label} | {} | {:.0} ms | {:.0} | {orders:.0} | {} | {:.1} ({trips:.0} × {l:.0} ms) |",
                v.label,
                ms(took),
                r.requests.get(v.label).copied().unwrap_or_default(),
                r.instrument_requests.get(v.label).copied().unwrap_or(0),
                ms(took) / (trips * l),
            );
        }
    }
}

/// One way of sending 50 orders: how long until all were filled, and the requests it took;
/// `None` when the run did not finish within a minute.
struct OrderRun(Option<(Duration, u64)>);

impl std::fmt::Display for OrderRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some((took, requests)) => write!(f, "{:.0} ms | {requests}", ms(took)),
            None => write!(f, "did not finish in 60 s | –"),
        }
    }
}

/// 50 market orders at once, each on its own symbol (client ids `{tag}-{i}`), one by one
/// (`place_order` each, all concurrently) or in the venue's batches (`place_orders`).
async fn fifty_orders(
    v: &Arc<dyn tradeengine_venues::Venue>,
    sim: &SimHandle,
    symbols: &[Symbol],
    tag: &str,
    batched: bool,
) -> OrderRun {
    let orders: Vec<tradeengine_model::OrderRequest> = symbols
        .iter()
        .enumerate()
        .map(|(i, s)| tradeengine_model::OrderRequest {
            client_order_id: tradeengine_model::ClientOrderId::new(&format!("{tag}-{i}")).unwrap(),
            symbol: s.clone(),
            side: tradeengine_model::Side::Buy,
            qty: Decimal::new(10, 0),
            kind: tradeengine_model::OrderKind::Market,
            reduce_only: false,
        })
        .collect();
    let before = sim.counters().total();
    let t0 = Instant::now();
    let run = async {
        let filled: Vec<tradeengine_model::OrderStatus> = if batched {
            v.place_orders(&orders)
                .await
                .into_iter()
                .map(|r| r.unwrap())
                .collect()
        } else {
            futures::future::join_all(orders.iter().map(|o| {
                let v = v.clone();
                async move { v.place_order(o).await.unwrap() }
            }))
            .await
        };
        assert!(
            filled
                .iter()
                .all(|s| s.state == tradeengine_model::OrderState::Filled)
        );
    };
    match tokio::time::timeout(Duration::from_secs(60), run).await {
        Ok(()) => OrderRun(Some((t0.elapsed(), sim.counters().total() - before))),
        Err(_) => OrderRun(None),
    }
}

/// The adapters alone, without the engine and its store: one account's three reads together,
/// then 50 market orders at once (each waits for its fill), one by one and in batches.
async fn adapter_floor(
    venue: VenueId,
    order_limit: u32,
    latency: Duration,
    n_symbols: usize,
) -> (Duration, OrderRun, OrderRun) {
    let mut options = SimOptions::new(venue)
        .with_synthetic(n_symbols)
        .with_latency(latency);
    options.order_rate_limit = order_limit;
    options.balance = Decimal::from(1_000_000);
    let sim = serve(venue, "127.0.0.1:0".parse().unwrap(), options)
        .await
        .unwrap();
    let o = sim.options();
    let adapter = AdapterConfig {
        base_url: sim.base_url(),
        stream: tradeengine_venues::StreamSetting::Auto,
        credentials: Some(
            Credentials::new(&o.api_key, &o.api_secret).with_passphrase(&o.passphrase),
        ),
        recv_window_ms: 5000,
        request_timeout: Duration::from_secs(10),
        clock: Arc::new(SystemClock),
        hyperliquid: Default::default(),
    };
    let v = tradeengine_venues::connect(venue, adapter).await.unwrap();
    let symbols: Vec<Symbol> = (1..=n_symbols)
        .map(|i| Symbol::new(&format!("S{i:03}USDT")).unwrap())
        .collect();
    v.instruments(&symbols).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut reads = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        tokio::try_join!(v.account_value(), v.positions(), v.prices(&symbols)).unwrap();
        reads.push(t0.elapsed());
    }
    reads.sort();
    // Warm the per-UID limit up (Bybit reports the account's limit on the first answer).
    let warm = tradeengine_model::OrderRequest {
        client_order_id: tradeengine_model::ClientOrderId::new("warm").unwrap(),
        symbol: symbols[0].clone(),
        side: tradeengine_model::Side::Buy,
        qty: Decimal::new(10, 0),
        kind: tradeengine_model::OrderKind::Market,
        reduce_only: false,
    };
    v.place_order(&warm).await.unwrap();
    // Each run starts with the venue's windows empty (BloFin's is 10 s).
    let rest = Duration::from_millis(if venue == VenueId::Blofin {
        10_200
    } else {
        2_200
    });
    tokio::time::sleep(rest).await;
    let one_by_one = fifty_orders(&v, &sim, &symbols, "one", false).await;
    tokio::time::sleep(rest).await;
    let batched = fifty_orders(&v, &sim, &symbols, "batch", true).await;
    (reads[reads.len() / 2], one_by_one, batched)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds = env_num("ROUNDS", 5);
    let latency = Duration::from_millis(env_num("LATENCY_MS", 50));
    let n_symbols = usize::try_from(env_num("SYMBOLS", 50)).unwrap_or(50);
    println!(
        "\n**Adapters alone** (one account, {n_symbols} symbols, {} ms added per request)\n",
        latency.as_millis()
    );
    println!(
        "| venue | 3 reads together (median of 5) | {n_symbols} orders one by one | requests | {n_symbols} orders in batches | requests |"
    );
    println!("|---|---|---|---|---|---|");
    for (label, venue, limit) in [
        ("Bybit, default limit 10/s", VenueId::Bybit, 10),
        ("Bybit, PRO limit 200/s", VenueId::Bybit, 200),
        ("Binance", VenueId::Binance, 10),
        ("MEXC", VenueId::Mexc, 10),
        ("BloFin", VenueId::Blofin, 10),
        ("KuCoin", VenueId::Kucoin, 10),
        ("Hyperliquid", VenueId::Hyperliquid, 10),
    ] {
        let (reads, one, batch) = adapter_floor(venue, limit, latency, n_symbols).await;
        println!(
            "| {label} | {:.0} ms ({:.2} × RTT) | {one} | {batch} |",
            ms(reads),
            ms(reads) / ms(latency),
        );
    }
    let default_tier = scenario(10, rounds, latency, n_symbols).await;
    print(
        "All venues at once, Bybit at its default per-UID order limit (10/s)",
        &default_tier,
        latency,
    );
    let pro_tier = scenario(200, rounds, latency, n_symbols).await;
    print(
        "All venues at once, Bybit at a PRO-tier order limit (200/s, learnt from X-Bapi-Limit)",
        &pro_tier,
        latency,
    );
}
