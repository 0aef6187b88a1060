#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Exchange accounts from configuration: `venue = "bybit" | "binance"` with `base_url` pointing
//! at the local simulator and `credentials = "env:PREFIX"`; the running engine connects through
//! the adapter, takes a signal and reaches the target on the simulated exchange. Wrong keys are
//! refused by the simulator's signature check and the engine does not start.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::{RunningEngine, StartOptions};
use tradeengine_model::{Intent, Signal, SignalId, SourceId, Symbol, SystemClock, TargetIntent};
use tradeengine_venue_sim::{SimOptions, VenueId, serve};

fn config(venue: &str, base_url: &str, dir: &std::path::Path) -> String {
    format!(
        r#"
[engine]
mode = "testnet"
drift_check_interval_secs = 1
data_dir = "{dir}"
hot_reload = false
[[accounts]]
name = "sim"
venue = "{venue}"
base_url = "{base_url}"
ws_url = "off"
credentials = "env:TE_SIM"
[sources.ops]
type = "rest"
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = {{ ops = 1.0 }}
"#,
        dir = dir.display()
    )
}

fn options(key: &str, secret: &str) -> StartOptions {
    let mut env = BTreeMap::new();
    env.insert("TE_SIM_API_KEY".to_string(), key.to_string());
    env.insert("TE_SIM_API_SECRET".to_string(), secret.to_string());
    StartOptions {
        clock: Arc::new(SystemClock),
        live_confirmed: false,
        config_path: None,
        env_overrides: env,
    }
}

fn target(depth: Decimal) -> Signal {
    Signal {
        id: SignalId::new("s-1").unwrap(),
        source: SourceId::new("ops").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        intent: Intent::Target(TargetIntent {
            depth,
            leverage: None,
            reference_price: None,
        }),
        emitted_at: None,
        received_at: chrono::Utc::now(),
        idempotency_key: "s-1".into(),
        raw: serde_json::json!({}),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_exchange_accounts_trade_through_their_adapters() {
    for venue in [VenueId::Bybit, VenueId::Binance, VenueId::Mexc] {
        let name = venue.as_str();
        let sim_options = SimOptions::new(venue);
        let (key, secret) = (sim_options.api_key.clone(), sim_options.api_secret.clone());
        let sim = serve(venue, "127.0.0.1:0".parse().unwrap(), sim_options)
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
        let text = config(name, &sim.base_url(), dir.path());

        // Wrong keys: the simulator refuses the signature and the engine does not start.
        let bad = load_str(&text, None, &[], &Overrides::default()).unwrap();
        assert!(
            RunningEngine::start(bad, store.clone(), options(&key, "wrong-secret-not-real"))
                .await
                .is_err(),
            "{name}: a bad secret must stop the start"
        );

        let good = load_str(&text, None, &[], &Overrides::default()).unwrap();
        let engine = RunningEngine::start(good, store.clone(), options(&key, &secret))
            .await
            .unwrap();
        engine
            .intake
            .submit(target(Decimal::new(3, 1)))
            .await
            .unwrap();
        let start = Instant::now();
        loop {
            if sim.position("BTCUSDT") > Decimal::ZERO {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{name}: no position on the simulator"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        engine.shutdown().await;
        assert!(store.verify_audit().await.unwrap().is_ok());
    }
}

/// A paper account whose prices come from a venue's public market data (here the simulator's
/// public endpoints): paper fills follow that market.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paper_account_takes_prices_from_a_venue() {
    let sim = serve(
        VenueId::Bybit,
        "127.0.0.1:0".parse().unwrap(),
        SimOptions::new(VenueId::Bybit),
    )
    .await
    .unwrap();
    sim.set_price("BTCUSDT", Decimal::from(71_234));
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let text = format!(
        r#"
[engine]
drift_check_interval_secs = 1
data_dir = "{dir}"
hot_reload = false
[[accounts]]
name = "paper"
venue = "paper"
[accounts.paper]
price_source = "bybit:{url}"
slippage_bps = 0
[sources.ops]
type = "rest"
[[symbols]]
symbol = "BTCUSDT"
leverage = 1
weights = {{ ops = 1.0 }}
"#,
        dir = dir.path().display(),
        url = sim.base_url()
    );
    let config = load_str(&text, None, &[], &Overrides::default()).unwrap();
    let engine = RunningEngine::start(config, store.clone(), options("unused", "unused"))
        .await
        .unwrap();
    engine
        .intake
        .submit(target(Decimal::new(5, 1)))
        .await
        .unwrap();
    let start = Instant::now();
    let fill = loop {
        let fills = store.fills(None, 10).await.unwrap();
        if let Some(f) = fills.first() {
            break f.price.get();
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no paper fill");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        fill,
        Decimal::from(71_234),
        "the paper fill uses the venue's price"
    );
    engine.shutdown().await;
}
