#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (team rule)
//! Modes that mean what they say, proven per mode and per venue by the simulator's request
//! log (every request: method, path, whether it carried a key):
//! - `paper` with an exchange account (base_url and credentials set): not one authenticated
//!   request, no private stream, no order; the paper venue trades with the venue's public
//!   instruments and prices, and the account's view says so;
//! - `dry-run`: private reads happen, but no order, leverage or margin request is sent.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::{RunningEngine, StartOptions};
use tradeengine_model::{
    AccountName, ClientOrderId, Intent, OrderKind, OrderRequest, Side, Signal, SignalId, SourceId,
    Symbol, SystemClock, TargetIntent,
};
use tradeengine_store::OrderFilter;
use tradeengine_venue_sim::{SimHandle, SimOptions, VenueId, serve};
use tradeengine_venues::{AdapterConfig, Credentials, Venue};

const VENUES: [VenueId; 5] = [
    VenueId::Bybit,
    VenueId::Binance,
    VenueId::Blofin,
    VenueId::Kucoin,
    VenueId::Mexc,
];

fn config(mode: &str, venue: VenueId, base_url: &str, dir: &std::path::Path) -> String {
    format!(
        r#"
[engine]
mode = "{mode}"
drift_check_interval_secs = 1
data_dir = "{dir}"
hot_reload = false
[[accounts]]
name = "acct"
venue = "{venue}"
base_url = "{base_url}"
credentials = "env:TE_MODES"
[sources.ops]
type = "rest"
[risk]
max_leverage = 5
[[symbols]]
symbol = "BTCUSDT"
leverage = 3
weights = {{ ops = 1.0 }}
"#,
        dir = dir.display(),
        venue = venue.as_str()
    )
}

/// The simulator's own (working) keys: a mode that sent private requests would succeed with
/// them, so their absence in the log is the mode's doing.
fn options(sim: &SimHandle) -> StartOptions {
    let o = sim.options();
    let mut env = BTreeMap::new();
    env.insert("TE_MODES_API_KEY".to_string(), o.api_key.clone());
    env.insert("TE_MODES_API_SECRET".to_string(), o.api_secret.clone());
    env.insert("TE_MODES_API_PASSPHRASE".to_string(), o.passphrase.clone());
    StartOptions {
        clock: Arc::new(SystemClock),
        live_confirmed: false,
        config_path: None,
        env_overrides: env,
    }
}

fn target(depth: Decimal) -> Signal {
    Signal {
        id: SignalId::new("m-1").unwrap(),
        source: SourceId::new("ops").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        intent: Intent::Target(TargetIntent {
            depth,
            leverage: None,
            reference_price: None,
        }),
        emitted_at: None,
        received_at: chrono::Utc::now(),
        idempotency_key: "m-1".into(),
        raw: serde_json::json!({}),
    }
}

async fn adapter(sim: &SimHandle) -> Arc<dyn Venue> {
    let o = sim.options();
    let mut c = AdapterConfig::new(
        sim.base_url(),
        Some(Credentials::new(&o.api_key, &o.api_secret).with_passphrase(&o.passphrase)),
    );
    c.stream = tradeengine_venues::StreamSetting::Off;
    tradeengine_venues::connect(sim.venue(), c).await.unwrap()
}

async fn wait_for(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !f().await {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The issue's scenario on every venue: paper mode, an exchange account with `base_url` and
/// working credentials, and a position already on the exchange. Nothing private reaches the
/// venue, the paper account trades on the venue's public data, and the view says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paper_mode_sends_no_private_request_to_any_venue() {
    for venue in VENUES {
        let name = venue.as_str();
        let sim = serve(
            venue,
            "127.0.0.1:0".parse().unwrap(),
            SimOptions::new(venue),
        )
        .await
        .unwrap();
        // A position the operator holds on the exchange.
        let held = adapter(&sim).await;
        let btc = Symbol::new("BTCUSDT").unwrap();
        let step = held.instruments(std::slice::from_ref(&btc)).await.unwrap()[0].clone();
        let qty = step.min_qty.max(step.qty_step) * step.contract_size * Decimal::from(10);
        held.place_order(&OrderRequest {
            client_order_id: ClientOrderId::new("operator-1").unwrap(),
            symbol: btc.clone(),
            side: Side::Buy,
            qty,
            kind: OrderKind::Market,
            reduce_only: false,
        })
        .await
        .unwrap();
        let before = sim.position("BTCUSDT");
        assert!(before > Decimal::ZERO, "{name}: the operator's position");
        sim.set_price("BTCUSDT", Decimal::from(61_000));
        sim.requests().clear();
        let orders_before = sim.orders().len();

        let dir = tempfile::tempdir().unwrap();
        let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
        let text = config("paper", venue, &sim.base_url(), dir.path());
        let config = load_str(&text, None, &[], &Overrides::default()).unwrap();
        let engine = RunningEngine::start(config, store.clone(), options(&sim))
            .await
            .unwrap();
        let account = AccountName::new("acct").unwrap();
        engine
            .intake
            .submit(target(Decimal::new(3, 1)))
            .await
            .unwrap();
        let paper = engine.paper_venue(&account).expect("a paper venue").clone();
        wait_for(&format!("{name}: a paper position"), async || {
            paper
                .positions()
                .await
                .unwrap()
                .iter()
                .any(|p| p.symbol == btc && p.size.get() > Decimal::ZERO)
        })
        .await;
        // Filled at the venue's public price.
        let fills = paper.fills().unwrap();
        let price = fills[0].price.get();
        assert!(
            price >= Decimal::from(61_000) && price <= Decimal::from(61_100),
            "{name}: paper fill at {price}, the venue's price is 61000"
        );
        // With the venue's own quantity step (in base units).
        let paper_btc = paper.instruments(std::slice::from_ref(&btc)).await.unwrap()[0].clone();
        assert_eq!(
            paper_btc.qty_step,
            step.qty_step * step.contract_size,
            "{name}: the venue's step"
        );
        let view = engine.state.account_view(&account).await;
        let trading = view.and_then(|v| v.trading).unwrap_or_default();
        assert!(
            trading.starts_with(&format!("paper on {name} public data")),
            "{name}: {trading}"
        );
        engine.shutdown().await;

        let log = sim.requests().all();
        assert!(!log.is_empty(), "{name}: public data was read");
        assert_eq!(
            sim.requests().authenticated(),
            Vec::new(),
            "{name}: paper mode sent authenticated requests"
        );
        assert_eq!(
            sim.counters().stream_connections(),
            0,
            "{name}: private stream"
        );
        assert_eq!(
            sim.orders().len(),
            orders_before,
            "{name}: an order reached the venue"
        );
        assert_eq!(
            sim.position("BTCUSDT"),
            before,
            "{name}: the position moved"
        );
    }
}

/// Dry-run reads the account (authenticated reads happen) but sends no order, leverage or
/// margin change, on every venue, while plans are made and recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_sends_no_order_leverage_or_margin_request() {
    for venue in VENUES {
        let name = venue.as_str();
        let sim = serve(
            venue,
            "127.0.0.1:0".parse().unwrap(),
            SimOptions::new(venue),
        )
        .await
        .unwrap();
        let leverage_before = sim.leverage("BTCUSDT");
        let dir = tempfile::tempdir().unwrap();
        let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
        let text = config("dry-run", venue, &sim.base_url(), dir.path());
        let config = load_str(&text, None, &[], &Overrides::default()).unwrap();
        let engine = RunningEngine::start(config, store.clone(), options(&sim))
            .await
            .unwrap();
        engine
            .intake
            .submit(target(Decimal::new(3, 1)))
            .await
            .unwrap();
        let account = AccountName::new("acct").unwrap();
        wait_for(&format!("{name}: a dry-run plan"), async || {
            !store
                .orders(&OrderFilter {
                    account: Some(account.clone()),
                    ..OrderFilter::default()
                })
                .await
                .unwrap()
                .is_empty()
        })
        .await;
        let view = engine.state.account_view(&account).await;
        assert!(
            view.and_then(|v| v.trading)
                .is_some_and(|t| t.starts_with(&format!("dry-run on {name}"))),
            "{name}: the view names dry-run"
        );
        engine.shutdown().await;

        let log = sim.requests().all();
        assert!(
            log.iter().any(|r| r.authenticated),
            "{name}: dry-run reads the account privately"
        );
        // Writes: every non-GET authenticated request except stream tokens.
        let writes: Vec<String> = log
            .iter()
            .filter(|r| r.authenticated && r.method != "GET")
            .filter(|r| !r.path.contains("listenKey") && !r.path.contains("bullet"))
            .map(|r| r.endpoint())
            .collect();
        assert_eq!(writes, Vec::<String>::new(), "{name}: dry-run sent writes");
        assert!(
            sim.orders().is_empty(),
            "{name}: an order reached the venue"
        );
        assert_eq!(sim.leverage("BTCUSDT"), leverage_before, "{name}: leverage");
    }
}
