//! NATS JetStream: exactly once across a crash, dead letters with reasons, execution events.

use std::time::{Duration, Instant};

use async_nats::jetstream;
use futures::StreamExt;
use rust_decimal::Decimal;
use serde_json::json;
use tradeengine_model::{
    Intent, OrderAction, OrderIntent, OrderSize, Signal, SignalId, SourceId, Symbol,
};

use crate::common::{
    self, TRADING_PAPER_ACCOUNT, base_total, reachable, runtime, stored_signals, unique, wait_for,
};

const ADDR: &str = "127.0.0.1:4222";
const SYMBOLS: [&str; 4] = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"];
const N: usize = 10_000;
const INVALID_EVERY: usize = 500;

fn config_toml(tag: &str) -> String {
    let mut t = format!(
        r#"
[engine]
data_dir = "DATA"
hot_reload = false
[sources.bus]
type = "nats"
min_confidence = 0
allow_add = true
[sources.bus.settings]
url = "nats://{ADDR}"
subject = "t.{tag}.signals"
stream = "T{tag}"
durable = "te"
dead_letter_subject = "t.{tag}.dead"
dead_letter_stream = "T{tag}DEAD"
events_subject = ""
ack_wait_secs = 2
max_age_secs = 0
"#
    );
    for s in SYMBOLS {
        t.push_str(&format!(
            "[[symbols]]\nsymbol = \"{s}\"\nweights = {{ bus = 1.0 }}\n"
        ));
    }
    t
}

/// Message `i`: three formats and all three key paths (header id, body id, stream position).
fn message(tag: &str, i: usize) -> (String, Option<String>, Vec<u8>) {
    let symbol = SYMBOLS[i % SYMBOLS.len()];
    let subject = format!("t.{tag}.signals.s{}", i % 3);
    let canonical = json!({"symbol": symbol,
        "order": {"action": "open", "side": "buy", "size": "0.001", "unit": "base"}});
    match i % 3 {
        0 => (
            subject,
            Some(format!("m-{i}")),
            canonical.to_string().into_bytes(),
        ),
        // Identical bodies: only the stream position tells them apart.
        1 => (subject, None, canonical.to_string().into_bytes()),
        _ => {
            let p = json!({"strategy_id": "ta", "signal_id": format!("p-{i}"), "symbol": symbol,
                "action": "buy", "confidence": 0.9, "price": 100.0, "quantity": 0.001,
                "current_price": 100.0, "source": "ta-bot", "strategy": "ta"});
            (subject, None, p.to_string().into_bytes())
        }
    }
}

async fn publish_all(tag: &str) -> usize {
    let client = async_nats::connect(ADDR).await.unwrap();
    let js = jetstream::new(client);
    // The stream exists before the engine starts, as when producers run first.
    js.get_or_create_stream(jetstream::stream::Config {
        name: format!("T{tag}"),
        subjects: vec![format!("t.{tag}.signals"), format!("t.{tag}.signals.>")],
        ..Default::default()
    })
    .await
    .unwrap();
    let mut acks = Vec::new();
    let mut invalid = 0;
    for i in 0..N {
        let (subject, id, body) = message(tag, i);
        let ack = match id {
            Some(id) => {
                let mut h = async_nats::HeaderMap::new();
                h.insert(async_nats::header::NATS_MESSAGE_ID, id.as_str());
                js.publish_with_headers(subject, h, body.into())
                    .await
                    .unwrap()
            }
            None => js.publish(subject, body.into()).await.unwrap(),
        };
        acks.push(ack);
        if i % INVALID_EVERY == 0 {
            let bad: &[u8] = if invalid % 2 == 0 {
                br#"{"symbol":"NOPEUSDT","order":{"action":"close"}}"#
            } else {
                b"not json at all"
            };
            acks.push(
                js.publish(format!("t.{tag}.signals.bad"), bad.to_vec().into())
                    .await
                    .unwrap(),
            );
            invalid += 1;
        }
        if acks.len() >= 512 {
            for a in acks.drain(..) {
                a.await.unwrap();
            }
        }
    }
    for a in acks {
        a.await.unwrap();
    }
    invalid
}

#[test]
fn nats_ten_thousand_signals_exactly_once_across_a_crash() {
    if !reachable(ADDR, "NATS") {
        return;
    }
    let tag = unique("n");
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(dir.path(), &config_toml(&tag));
    let want_total = Decimal::new(i64::try_from(N).unwrap(), 3);
    let started = Instant::now();

    // Publish everything first, then let the first engine take part of it and crash it.
    let rt = runtime();
    let invalid = rt.block_on(publish_all(&tag));
    eprintln!(
        "published {N} + {invalid} invalid in {:?}",
        started.elapsed()
    );
    let before_crash = rt.block_on(async {
        let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
        let engine = common::start(config.clone(), store).await;
        let took = wait_for(Duration::from_secs(60), || async {
            base_total(&engine, "bus").await >= Decimal::new(3, 0)
        })
        .await;
        assert!(took, "the first engine took too little before the crash");
        let total = base_total(&engine, "bus").await;
        // Crash: the engine is dropped mid-work (its tasks aborted) and its runtime with it;
        // nothing is shut down or acknowledged.
        drop(engine);
        total
    });
    rt.shutdown_background();
    eprintln!("crashed after {before_crash} of {want_total} base units");
    assert!(
        before_crash < want_total,
        "the crash must come in the middle"
    );

    let rt = runtime();
    rt.block_on(async {
        let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
        let engine = common::start(config.clone(), store.clone()).await;
        let done = wait_for(Duration::from_secs(90), || async {
            base_total(&engine, "bus").await >= want_total
        })
        .await;
        let total = base_total(&engine, "bus").await;
        assert!(done, "only {total} of {want_total} arrived");
        // Redeliveries of what was stored before the crash keep arriving for ack_wait; none
        // may count twice.
        let client = async_nats::connect(ADDR).await.unwrap();
        let js = jetstream::new(client);
        let mut consumer: jetstream::consumer::PullConsumer = js
            .get_stream(format!("T{tag}"))
            .await
            .unwrap()
            .get_consumer("te")
            .await
            .unwrap();
        let mut settled = false;
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            let info = consumer.info().await.unwrap();
            if info.num_pending == 0 && info.num_ack_pending == 0 {
                settled = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(settled, "messages are still pending on the consumer");
        assert_eq!(
            base_total(&engine, "bus").await,
            want_total,
            "each signal exactly once"
        );
        let by_symbol: Vec<Decimal> = {
            let sleeves = engine.state.sleeves().await;
            SYMBOLS
                .iter()
                .map(|s| {
                    let key = (SourceId::new("bus").unwrap(), Symbol::new(s).unwrap());
                    match sleeves.get(&key).map(|v| v.exposure) {
                        Some(tradeengine_model::SleeveOrigin::Base(q)) => q,
                        other => panic!("{s}: {other:?}"),
                    }
                })
                .collect()
        };
        assert_eq!(by_symbol, vec![Decimal::new(2500, 3); 4]);
        assert_eq!(
            stored_signals(&*store, "bus").await,
            N,
            "every signal stored once"
        );

        // Dead letters: one per invalid message, each with its reason.
        let mut dead = js.get_stream(format!("T{tag}DEAD")).await.unwrap();
        let count = dead.info().await.unwrap().state.messages;
        assert_eq!(count, u64::try_from(invalid).unwrap());
        let first = dead.get_raw_message(1).await.unwrap();
        let reason = first
            .headers
            .get("Tradeengine-Reason")
            .map(|v| v.as_str().to_string())
            .unwrap_or_default();
        assert!(reason.contains("NOPEUSDT"), "reason: {reason:?}");
        let second = dead.get_raw_message(2).await.unwrap();
        let reason = second
            .headers
            .get("Tradeengine-Reason")
            .map(|v| v.as_str().to_string())
            .unwrap_or_default();
        assert!(reason.contains("not JSON"), "reason: {reason:?}");
        assert_eq!(
            &second.payload[..],
            b"not json at all",
            "the original body is kept"
        );
        // And each is a recorded refusal, once (a redelivery after the crash is recognised),
        // with its reason label and body.
        let refused = store.refused_signals(Some("bus"), 10_000).await.unwrap();
        assert_eq!(refused.len(), invalid, "one refusal per invalid message");
        let codes: std::collections::BTreeSet<&str> =
            refused.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(
            codes.into_iter().collect::<Vec<_>>(),
            ["malformed", "unknown_symbol"],
            "{refused:?}"
        );
        assert!(
            refused
                .iter()
                .any(|r| r.body.as_deref() == Some("not json at all"))
        );
        engine.shutdown().await;
        assert!(store.verify_audit().await.unwrap().is_ok());
        let _ = js.delete_stream(format!("T{tag}")).await;
        let _ = js.delete_stream(format!("T{tag}DEAD")).await;
    });
    eprintln!("nats crash test took {:?}", started.elapsed());
}

/// Execution events: a paper account trades a signal; the source's events subject sees the
/// target change and the order placed and filled, in petrosa-tradeengine's shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_execution_events_follow_orders() {
    if !reachable(ADDR, "NATS") {
        return;
    }
    let tag = unique("e");
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"
[engine]
data_dir = "DATA"
hot_reload = false
drift_check_interval_secs = 1
[[accounts]]
name = "paper"
venue = "paper"
[sources.ev]
type = "nats"
min_confidence = 0
[sources.ev.settings]
url = "nats://{ADDR}"
subject = "t.{tag}.signals"
stream = "T{tag}"
dead_letter_stream = ""
dead_letter_subject = "t.{tag}.dead"
events_subject = "t.{tag}.events"
[[symbols]]
symbol = "BTCUSDT"
weights = {{ ev = 1.0 }}
"#
    );
    let config = common::config(dir.path(), &toml);
    let client = async_nats::connect(ADDR).await.unwrap();
    let mut events = client
        .subscribe(format!("t.{tag}.events.ev"))
        .await
        .unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let engine = common::start(config, store.clone()).await;
    let signal = Signal {
        id: SignalId::new("ev-1").unwrap(),
        source: SourceId::new("ev").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        intent: Intent::Order(OrderIntent {
            action: OrderAction::Buy,
            size: Some(OrderSize::AccountFraction(Decimal::new(2, 1))),
            confidence: None,
            stop_loss: None,
            take_profit: None,
            leverage: None,
            reference_price: None,
        }),
        emitted_at: None,
        received_at: chrono::Utc::now(),
        idempotency_key: "ev-1".into(),
        raw: json!({}),
    };
    // The publisher starts at the chain's head: wait until it has its cursor, so the signal's
    // events come after it.
    let ready = common::wait_for(Duration::from_secs(20), || async {
        store.get_state("events.ev.cursor").await.unwrap().is_some()
    })
    .await;
    assert!(ready, "the events publisher did not start");
    engine.intake.submit(signal).await.unwrap();
    let mut kinds = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let seen_all = |kinds: &[String]| {
        ["target_changed", "placed", "filled"]
            .iter()
            .all(|want| kinds.iter().any(|k| k == want))
    };
    while Instant::now() < deadline && !seen_all(&kinds) {
        if let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(1), events.next()).await {
            let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
            assert_eq!(v["strategy_id"], "ev");
            assert_eq!(v["symbol"], "BTCUSDT");
            if v["event_type"] == "filled" {
                assert_eq!(v["side"], "buy");
                assert!(v["fill_price"].as_f64().unwrap() > 0.0);
                assert!(v["qty"].as_f64().unwrap() > 0.0);
            }
            kinds.push(v["event_type"].as_str().unwrap().to_string());
        }
    }
    assert!(kinds.iter().any(|k| k == "target_changed"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "placed"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "filled"), "{kinds:?}");
    engine.shutdown().await;
    let js = jetstream::new(client);
    let _ = js.delete_stream(format!("T{tag}")).await;
}

/// Publishes `n` canonical buys of 0.001 BTC on `subject`, ids `{prefix}-{i}`.
async fn publish_buys(js: &jetstream::Context, subject: &str, prefix: &str, n: usize) {
    let body = json!({"symbol": "BTCUSDT",
        "order": {"action": "open", "side": "buy", "size": "0.001", "unit": "base"}});
    for i in 0..n {
        let mut h = async_nats::HeaderMap::new();
        h.insert(
            async_nats::header::NATS_MESSAGE_ID,
            format!("{prefix}-{i}").as_str(),
        );
        js.publish_with_headers(subject.to_string(), h, body.to_string().into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
}

/// Two NATS sources share the default stream names (here one stream and one dead-letter
/// stream for both): each source's subjects are added to the stream, each source takes only
/// its own subjects' messages under its own name, and both dead-letter.
#[test]
fn two_nats_sources_on_one_stream_keep_their_own_messages() {
    if !reachable(ADDR, "NATS") {
        return;
    }
    let tag = unique("n2");
    let dir = tempfile::tempdir().unwrap();
    let source = |name: &str| {
        format!(
            r#"
[sources.{name}]
type = "nats"
allow_add = true
cooling_minutes = 0
[sources.{name}.settings]
url = "nats://{ADDR}"
subject = "t.{tag}.{name}"
stream = "T{tag}"
durable = "te-{name}"
dead_letter_subject = "t.{tag}.dead.{name}"
dead_letter_stream = "T{tag}DEAD"
events_subject = ""
max_age_secs = 0
"#
        )
    };
    let toml = format!(
        "[engine]\ndata_dir = \"DATA\"\nhot_reload = false\n{}{}[[symbols]]\nsymbol = \"BTCUSDT\"\nweights = {{ alpha = 0.5, beta = 0.5 }}\n",
        source("alpha"),
        source("beta")
    );
    let config = common::config(dir.path(), &toml);
    runtime().block_on(async {
        let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
        let engine = common::start(config, store.clone()).await;
        let js = jetstream::new(async_nats::connect(ADDR).await.unwrap());
        let want = [format!("t.{tag}.alpha"), format!("t.{tag}.beta")];
        let both = wait_for(Duration::from_secs(20), || async {
            let Ok(mut stream) = js.get_stream(format!("T{tag}")).await else {
                return false;
            };
            let Ok(info) = stream.info().await else {
                return false;
            };
            want.iter().all(|w| info.config.subjects.contains(w))
        })
        .await;
        assert!(both, "the stream holds both sources' subjects");
        publish_buys(&js, &format!("t.{tag}.alpha"), "a", 3).await;
        publish_buys(&js, &format!("t.{tag}.beta"), "b", 5).await;
        js.publish(format!("t.{tag}.beta"), b"not json".to_vec().into())
            .await
            .unwrap()
            .await
            .unwrap();
        let taken = wait_for(Duration::from_secs(30), || async {
            base_total(&engine, "alpha").await == Decimal::new(3, 3)
                && base_total(&engine, "beta").await == Decimal::new(5, 3)
        })
        .await;
        assert!(
            taken,
            "alpha {} beta {}",
            base_total(&engine, "alpha").await,
            base_total(&engine, "beta").await
        );
        assert_eq!(stored_signals(&*store, "alpha").await, 3);
        assert_eq!(stored_signals(&*store, "beta").await, 5);
        let dead = wait_for(Duration::from_secs(20), || async {
            let Ok(mut stream) = js.get_stream(format!("T{tag}DEAD")).await else {
                return false;
            };
            stream.info().await.is_ok_and(|i| i.state.messages == 1)
        })
        .await;
        assert!(dead, "beta's invalid message is dead-lettered");
        engine.shutdown().await;
    });
}

/// A burst of a thousand messages into an engine whose account workers are busy (every signal
/// moves the target): every signal is taken and the engine's state stays readable. A
/// submission set aside while it waited for one of the engine's locks used to be handed that
/// lock and keep it, so the intake, the workers and every reader stalled for good (red team:
/// a burst of a few hundred froze a fresh engine until a restart).
#[test]
fn a_burst_into_a_trading_engine_is_taken_whole() {
    if !reachable(ADDR, "NATS") {
        return;
    }
    let tag = unique("nb");
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"{TRADING_PAPER_ACCOUNT}
[sources.bus]
type = "nats"
allow_add = true
cooling_minutes = 0
[sources.bus.settings]
url = "nats://{ADDR}"
subject = "t.{tag}.signals"
stream = "T{tag}"
durable = "te"
dead_letter_subject = "t.{tag}.dead"
dead_letter_stream = "T{tag}DEAD"
events_subject = ""
max_age_secs = 0
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = {{ bus = 1.0 }}
"#
    );
    let config = common::config(dir.path(), &toml);
    runtime().block_on(async {
        let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
        let engine = common::start(config, store.clone()).await;
        let js = jetstream::new(async_nats::connect(ADDR).await.unwrap());
        let subject = format!("t.{tag}.signals");
        let ready = wait_for(Duration::from_secs(20), || async {
            js.get_stream(format!("T{tag}")).await.is_ok()
        })
        .await;
        assert!(ready, "the source made its stream");
        publish_buys(&js, &subject, "x", 1_000).await;
        common::assert_burst_taken_whole(&engine, &*store, "bus", 1_000).await;
        engine.shutdown().await;
    });
}
