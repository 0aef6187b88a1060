//! Helpers shared by the broker tests: reachability (fail under CI, skip loudly elsewhere),
//! unique names, and an engine that can be crashed (its runtime dropped mid-work).

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use tradeengine_engine::config::{Config, Overrides, load_str};
use tradeengine_engine::{RunningEngine, StartOptions};
use tradeengine_model::{SleeveOrigin, SystemClock};
use tradeengine_store::Store;

/// True when the broker answers. Under `CI=true` an unreachable broker fails the test; on a
/// laptop the test is skipped with a loud message.
pub fn reachable(addr: &str, name: &str) -> bool {
    let sock: SocketAddr = addr.parse().unwrap();
    if TcpStream::connect_timeout(&sock, Duration::from_secs(2)).is_ok() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{name} is not reachable at {addr}, and CI=true: the broker tests must run");
    }
    eprintln!("\n!!! SKIPPED: {name} is not reachable at {addr}; start it to run this test !!!\n");
    false
}

/// A name no other test run uses (letters and digits only).
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}{}x{}",
        std::process::id(),
        nanos % 1_000_000_000_000
    )
}

pub fn config(dir: &Path, toml: &str) -> Config {
    load_str(
        &toml.replace("DATA", &dir.display().to_string()),
        None,
        &[],
        &Overrides::default(),
    )
    .unwrap()
}

pub async fn start(config: Config, store: Arc<dyn Store>) -> RunningEngine {
    start_with_env(config, store, &[]).await
}

/// Starts an engine with stand-ins for environment variables (secrets named by `*_env`).
pub async fn start_with_env(
    config: Config,
    store: Arc<dyn Store>,
    env: &[(String, String)],
) -> RunningEngine {
    RunningEngine::start(
        config,
        store,
        StartOptions {
            clock: Arc::new(SystemClock),
            live_confirmed: false,
            config_path: None,
            env_overrides: env.iter().cloned().collect(),
        },
    )
    .await
    .unwrap()
}

/// Σ of the base-unit sleeves of one source.
pub async fn base_total(engine: &RunningEngine, source: &str) -> Decimal {
    engine
        .state
        .sleeves()
        .await
        .iter()
        .filter(|((s, _), _)| s.as_str() == source)
        .map(|(_, v)| match v.exposure {
            SleeveOrigin::Base(q) => q,
            SleeveOrigin::Depth(_) => Decimal::ZERO,
        })
        .sum()
}

/// Every stored signal of one source, by paging through the store.
pub async fn stored_signals(store: &dyn Store, source: &str) -> usize {
    let mut n = 0;
    let mut offset = 0;
    loop {
        let page = store.recent_signals(1000, offset).await.unwrap();
        if page.is_empty() {
            return n;
        }
        offset += i64::try_from(page.len()).unwrap();
        n += page.iter().filter(|s| s.source.as_str() == source).count();
    }
}

/// A multi-thread runtime for one engine life, dropped without a graceful stop to crash it.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Waits (polling) until `check` is true or `timeout` passes; returns whether it became true.
pub async fn wait_for<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = std::time::Instant::now();
    while start.elapsed() < timeout {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check().await
}

/// The engine and a paper account that trades every signal (drift checked every second, no
/// minimum order): the start of a burst test's configuration, its source and symbol to follow.
pub const TRADING_PAPER_ACCOUNT: &str = r#"
[engine]
data_dir = "DATA"
hot_reload = false
drift_check_interval_secs = 1
[[accounts]]
name = "paper"
venue = "paper"
min_order_notional = 0
[accounts.paper]
starting_balance = 1000000
"#;

/// After a burst of `n` buys of 0.001 from `source`: every one is taken (its sleeve reaches
/// n × 0.001 within 90 s and `n` signals are stored), and the account's view still reads
/// within 5 s (no reader stuck behind one of the engine's locks).
pub async fn assert_burst_taken_whole(
    engine: &RunningEngine,
    store: &dyn Store,
    source: &str,
    n: usize,
) {
    let want = Decimal::new(i64::try_from(n).unwrap(), 3);
    let taken = wait_for(Duration::from_secs(90), || async {
        base_total(engine, source).await == want
    })
    .await;
    assert!(
        taken,
        "only {} of {want} BTC taken",
        base_total(engine, source).await
    );
    let view = tokio::time::timeout(
        Duration::from_secs(5),
        engine
            .state
            .account_view(&tradeengine_model::AccountName::new("paper").unwrap()),
    )
    .await;
    assert!(view.is_ok(), "the account's view cannot be read");
    assert_eq!(stored_signals(store, source).await, n);
}
