#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! The strategy source on the paper demo (examples/strategy-demo.toml) with no LLM: candles come
//! from the paper account's random-walk feed, the fallback rules decide, the order intents open
//! the strategy's sleeves and the paper account trades; every decision's rationale is in the
//! stored signal. The clock is manual: the feed is a pure function of time, so moving the clock
//! forward produces candles without waiting for them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::{RunningEngine, StartOptions};
use tradeengine_model::{AccountName, Clock, ManualClock, SleeveState};

const DEMO: &str = include_str!("../../../examples/strategy-demo.toml");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strategy_demo_trades_on_paper_through_the_fallback_rules() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let overrides = Overrides {
        data_dir: Some(dir.path().to_path_buf()),
        ..Overrides::default()
    };
    let text = DEMO.replace(
        "\ninterval_secs = 5\n",
        "\ninterval_secs = 5\npoll_ms = 20\n",
    );
    let config = load_str(&text, None, &[], &overrides).unwrap();
    let t0 = chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    let engine = RunningEngine::start(
        config,
        store.clone(),
        StartOptions {
            clock: clock.clone(),
            live_confirmed: false,
            config_path: None,
            env_overrides: Default::default(),
        },
    )
    .await
    .unwrap();

    // The feed starts at t0; after 20 minutes there are 240 closed 5 s candles, enough to warm
    // up. Then one candle at a time until the rules have opened a sleeve and it was traded.
    clock.advance(chrono::Duration::minutes(20));
    let account = AccountName::new("paper").unwrap();
    let start = Instant::now();
    let mut traded = false;
    while start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(60)).await;
        let positions = engine.venues[&account].positions().await.unwrap();
        if positions.iter().any(|p| !p.size.get().is_zero()) {
            traded = true;
            break;
        }
        clock.advance(chrono::Duration::seconds(5));
    }
    assert!(traded, "no paper position after {:?}", clock.now() - t0);

    let signals = store.recent_signals(500, 0).await.unwrap();
    assert!(!signals.is_empty());
    for s in &signals {
        assert_eq!(s.source.as_str(), "cipher");
        assert_eq!(s.raw["decided_by"]["by"], "fallback", "{}", s.raw);
        assert_eq!(s.raw["decided_by"]["reason"], "no LLM configured");
        let rationale = s.raw["rationale"].as_str().unwrap();
        assert!(rationale.starts_with("Fallback rules"), "{rationale}");
        assert!(s.raw["market"]["wave"].is_number());
    }
    let opened: Vec<_> = signals
        .iter()
        .filter(|s| matches!(s.raw["decision"]["action"].as_str(), Some("LONG" | "SHORT")))
        .collect();
    assert!(!opened.is_empty(), "some decision opened");
    let first = opened[0];
    // ATR stops: distances are multiples 1.5 and 3 of the same ATR percentage.
    let sl: f64 = first.raw["decision"]["stop_loss_pct"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let tp: f64 = first.raw["decision"]["take_profit_pct"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (tp / sl - 2.0).abs() < 0.05 || sl == 0.25 || tp == 0.5,
        "sl {sl} tp {tp}"
    );

    let sleeves = store.sleeves().await.unwrap();
    let open = sleeves
        .iter()
        .find(|s| s.source.as_str() == "cipher" && s.state == SleeveState::Open)
        .expect("an open strategy sleeve");
    assert!(open.stop_loss.is_some() && open.take_profit.is_some());
    engine.shutdown().await;
}
