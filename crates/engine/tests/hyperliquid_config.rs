#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! `[accounts.hyperliquid]` reaches the adapter through the running engine: a market order goes
//! out at the configured slippage from the mark, and the signer's nonce high-water mark is kept
//! in the configured file.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::{RunningEngine, StartOptions};
use tradeengine_model::{Intent, Signal, SignalId, SourceId, Symbol, SystemClock, TargetIntent};
use tradeengine_venue_sim::{SimOptions, VenueId, serve};

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
async fn the_accounts_hyperliquid_settings_reach_the_exchange() {
    let venue = VenueId::Hyperliquid;
    let sim_options = SimOptions::new(venue);
    let (key, secret) = (sim_options.api_key.clone(), sim_options.api_secret.clone());
    let sim = serve(venue, "127.0.0.1:0".parse().unwrap(), sim_options)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let nonce_file = dir.path().join("keys").join("hl.nonce");
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let text = format!(
        r#"
[engine]
mode = "testnet"
drift_check_interval_secs = 1
data_dir = "{dir}"
hot_reload = false
[[accounts]]
name = "hl"
venue = "hyperliquid"
base_url = "{base_url}"
credentials = "env:TE_HL"
[accounts.hyperliquid]
market_slippage = 0.02
nonce_file = "{nonce}"
dead_man_every_secs = 0
[sources.ops]
type = "rest"
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = {{ ops = 1.0 }}
"#,
        dir = dir.path().display(),
        base_url = sim.base_url(),
        nonce = nonce_file.display(),
    );
    let config = load_str(&text, None, &[], &Overrides::default()).unwrap();
    let mut env = BTreeMap::new();
    env.insert("TE_HL_API_KEY".to_string(), key);
    env.insert("TE_HL_API_SECRET".to_string(), secret);
    let options = StartOptions {
        clock: Arc::new(SystemClock),
        live_confirmed: false,
        config_path: None,
        env_overrides: env,
    };
    let started_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap();
    let engine = RunningEngine::start(config, store.clone(), options)
        .await
        .unwrap();
    engine
        .intake
        .submit(target(Decimal::new(3, 1)))
        .await
        .unwrap();
    let start = Instant::now();
    while sim.position("BTCUSDT") <= Decimal::ZERO {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no position on the simulator"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    engine.shutdown().await;
    // The IOC went out 2 % above the 60 000 mark, not the default 5 %.
    let order = sim.orders().last().cloned().unwrap();
    assert_eq!(order.price, Some(Decimal::from(61_200)));
    // The nonce high-water mark is in the configured file (its folder created), above every
    // nonce signed, each of which is at least the clock when the engine started.
    let mark: u64 = std::fs::read_to_string(&nonce_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(mark > started_ms, "{mark} ≤ {started_ms}");
}
