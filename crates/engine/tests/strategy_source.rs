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
use tradeengine_store::Store;

const DEMO: &str = include_str!("../../../examples/strategy-demo.toml");

/// The feed starts at t0; after 20 minutes there are 240 closed 5 s candles, enough to warm up.
/// Then one candle at a time until the paper account holds a position.
async fn advance_until_traded(engine: &RunningEngine, clock: &ManualClock) {
    clock.advance(chrono::Duration::minutes(20));
    let account = AccountName::new("paper").unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(60)).await;
        let positions = engine.venues[&account].positions().await.unwrap();
        if positions.iter().any(|p| !p.size.get().is_zero()) {
            return;
        }
        clock.advance(chrono::Duration::seconds(5));
    }
    panic!("no paper position after {:?} of feed time", clock.now());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strategy_demo_trades_on_paper_through_the_fallback_rules() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, store, clock) = start_demo_with_table(dir.path(), "").await;
    advance_until_traded(&engine, &clock).await;
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

/// An OpenAI-compatible stub that always answers LONG 8 % with a rationale.
async fn stub_llm() -> String {
    use axum::Json;
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(|| async {
            let decision = r#"{"action":"LONG","size_pct":8,"take_profit_pct":3,"stop_loss_pct":1.5,"leverage":2,"rationale":"stub: wave up, go long","reduce_only":false}"#;
            Json(serde_json::json!({"choices":[{"index":0,"message":{"role":"assistant","content":decision},"finish_reason":"stop"}]}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/v1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strategy_demo_trades_on_paper_through_a_stub_llm() {
    let dir = tempfile::tempdir().unwrap();
    let url = stub_llm().await;
    let llm = format!(
        "[sources.cipher.settings.llm]\nbase_url = \"{url}\"\nmodel = \"stub\"\ntimeout_ms = 5000\n"
    );
    let (engine, store, clock) = start_demo_with_table(dir.path(), &llm).await;
    advance_until_traded(&engine, &clock).await;

    let signals = store.recent_signals(500, 0).await.unwrap();
    let by_llm: Vec<_> = signals
        .iter()
        .filter(|s| s.raw["decided_by"]["by"] == "llm")
        .collect();
    assert!(!by_llm.is_empty(), "no LLM decision stored");
    for s in &by_llm {
        assert_eq!(s.raw["decided_by"]["model"], "stub");
        assert_eq!(s.raw["rationale"], "stub: wave up, go long");
    }
    let long = store
        .sleeves()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.source.as_str() == "cipher" && s.state == SleeveState::Open)
        .expect("an open strategy sleeve");
    assert!(
        matches!(long.exposure, tradeengine_model::SleeveOrigin::Depth(d) if d == rust_decimal::Decimal::new(8, 2))
    );
    // With the sleeve open, the LLM's repeated LONG is held by the single-position rule: one
    // more candle, and the next stored decision for that symbol is a HOLD.
    clock.advance(chrono::Duration::seconds(5));
    let start = Instant::now();
    let held = loop {
        let signals = store.recent_signals(500, 0).await.unwrap();
        if let Some(h) = signals.into_iter().find(|s| {
            s.symbol == long.symbol
                && s.raw["decided_by"]["by"] == "llm"
                && s.raw["decision"]["action"] == "HOLD"
        }) {
            break h;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no HOLD after the open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let notes = held.raw["adjustments"].as_array().unwrap();
    assert!(
        notes[0].as_str().unwrap().contains("only CLOSE or HOLD"),
        "{notes:?}"
    );
    engine.shutdown().await;
}

/// Starts the demo on a manual clock at a fixed instant, polling every 20 ms, with `table`
/// (extra TOML) inserted before the symbols.
async fn start_demo_with_table(
    dir: &std::path::Path,
    table: &str,
) -> (RunningEngine, Arc<dyn Store>, Arc<ManualClock>) {
    let store = tradeengine_store::open_sqlite_in(dir).await.unwrap();
    let overrides = Overrides {
        data_dir: Some(dir.to_path_buf()),
        ..Overrides::default()
    };
    let text = DEMO
        .replace(
            "\ninterval_secs = 5\n",
            "\ninterval_secs = 5\npoll_ms = 20\n",
        )
        .replacen("\n[[symbols]]", &format!("\n{table}\n[[symbols]]"), 1);
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
    (engine, store, clock)
}
