//! RabbitMQ: exactly once across a crash, dead letters with reasons.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;

use lapin::options::{
    BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use rust_decimal::Decimal;
use serde_json::json;

use crate::common::{
    self, TRADING_PAPER_ACCOUNT, base_total, reachable, runtime, stored_signals, unique, wait_for,
};

const ADDR: &str = "127.0.0.1:5672";
const URI: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
const SYMBOLS: [&str; 4] = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"];
const N: usize = 10_000;
const INVALID_EVERY: usize = 500;

fn config_toml(queue: &str) -> String {
    let mut t = format!(
        r#"
[engine]
data_dir = "DATA"
hot_reload = false
[sources.rmq]
type = "rabbitmq"
min_confidence = 0
allow_add = true
[sources.rmq.settings]
url = "amqp://127.0.0.1:5672/%2f"
user = "guest"
password_env = "TE_TEST_RABBIT_PASSWORD"
queue = "{queue}"
"#
    );
    for s in SYMBOLS {
        t.push_str(&format!(
            "[[symbols]]\nsymbol = \"{s}\"\nweights = {{ rmq = 1.0 }}\n"
        ));
    }
    t
}

/// Message `i`: the message-id and body-hash key paths, and an amount signal's NOTHING.
fn message(i: usize) -> (Option<String>, Vec<u8>) {
    let symbol = SYMBOLS[i % SYMBOLS.len()];
    match i % 3 {
        0 => (
            Some(format!("m-{i}")),
            json!({"symbol": symbol, "order": {"action": "open", "side": "buy", "size": "0.001",
                   "unit": "base"}})
            .to_string()
            .into_bytes(),
        ),
        // No message id: the body hash is the key, so the bodies differ.
        1 => (
            None,
            json!({"symbol": symbol, "order": {"action": "open", "side": "buy", "size": "0.001",
                   "unit": "base"}, "tags": {"n": i}})
            .to_string()
            .into_bytes(),
        ),
        _ => (
            Some(format!("m-{i}")),
            json!({"symbol": symbol, "amount": "100", "take_profit": 3.2, "stop_loss": 1.9,
                   "action": 3, "source": "trand"})
            .to_string()
            .into_bytes(),
        ),
    }
}

fn buys() -> usize {
    (0..N).filter(|i| i % 3 != 2).count()
}

async fn publish_all(queue: &str) -> usize {
    let conn = Connection::connect(URI, ConnectionProperties::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    // Declared as algo_trading_platform's producer declares it: durable, classic, no arguments.
    ch.queue_declare(
        queue.into(),
        QueueDeclareOptions {
            durable: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    let mut confirms = Vec::new();
    let mut invalid = 0;
    for i in 0..N {
        let (id, body) = message(i);
        let mut props = BasicProperties::default().with_delivery_mode(2);
        if let Some(id) = id {
            props = props.with_message_id(id.as_str().into());
        }
        confirms.push(
            ch.basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                &body,
                props,
            )
            .await
            .unwrap(),
        );
        if i % INVALID_EVERY == 0 {
            let bad: &[u8] = if invalid % 2 == 0 {
                br#"{"symbol":"BTCUSDT","amount":"100","action":7,"source":"trand"}"#
            } else {
                b"\xff\xfe not json"
            };
            confirms.push(
                ch.basic_publish(
                    "".into(),
                    queue.into(),
                    BasicPublishOptions::default(),
                    bad,
                    BasicProperties::default().with_message_id(format!("bad-{i}").as_str().into()),
                )
                .await
                .unwrap(),
            );
            invalid += 1;
        }
        if confirms.len() >= 512 {
            for c in confirms.drain(..) {
                assert!(c.await.unwrap().is_ack());
            }
        }
    }
    for c in confirms {
        assert!(c.await.unwrap().is_ack());
    }
    let _ = conn.close(200, "done".into()).await;
    invalid
}

#[test]
fn rabbitmq_ten_thousand_signals_exactly_once_across_a_crash() {
    if !reachable(ADDR, "RabbitMQ") {
        return;
    }
    let queue = format!("t{}.signals", unique("r"));
    let dead_queue = format!("{queue}.dead");
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(dir.path(), &config_toml(&queue));
    let env = [("TE_TEST_RABBIT_PASSWORD".to_string(), "guest".to_string())];
    let want_total = Decimal::new(i64::try_from(buys()).unwrap(), 3);
    let started = Instant::now();

    let rt = runtime();
    let invalid = rt.block_on(publish_all(&queue));
    eprintln!(
        "published {N} + {invalid} invalid in {:?}",
        started.elapsed()
    );
    let before_crash = rt.block_on(async {
        let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
        let engine = common::start_with_env(config.clone(), store, &env).await;
        let took = wait_for(Duration::from_secs(60), || async {
            base_total(&engine, "rmq").await >= Decimal::new(2, 0)
        })
        .await;
        assert!(took, "the first engine took too little before the crash");
        let total = base_total(&engine, "rmq").await;
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
        let engine = common::start_with_env(config.clone(), store.clone(), &env).await;
        let done = wait_for(Duration::from_secs(90), || async {
            stored_signals(&*store, "rmq").await >= N
        })
        .await;
        assert!(done, "not every signal arrived");
        // Anything still in flight settles; then the queue is empty and nothing counted twice.
        let conn = Connection::connect(URI, ConnectionProperties::default())
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        let passive = QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let drained = wait_for(Duration::from_secs(30), || async {
            let q = ch
                .queue_declare(queue.as_str().into(), passive, FieldTable::default())
                .await
                .unwrap();
            q.message_count() == 0
        })
        .await;
        assert!(drained, "messages are left in the queue");
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            base_total(&engine, "rmq").await,
            want_total,
            "each signal exactly once"
        );
        assert_eq!(
            stored_signals(&*store, "rmq").await,
            N,
            "every signal stored once"
        );
        engine.shutdown().await;

        // Dead letters: every invalid message, each with its reason and original body.
        // Dead-lettering is at-least-once like any publish-then-ack: a crash between the
        // dead-letter publish and the ack of the original redelivers it, and it is dead-lettered
        // again under the same message id. So: every invalid id present, nothing else.
        let q = ch
            .queue_declare(dead_queue.as_str().into(), passive, FieldTable::default())
            .await
            .unwrap();
        let in_queue = q.message_count();
        assert!(
            in_queue >= u32::try_from(invalid).unwrap(),
            "{in_queue} dead letters for {invalid} invalid messages"
        );
        let mut reasons = Vec::new();
        let mut ids = std::collections::BTreeSet::new();
        for _ in 0..in_queue {
            let got = ch
                .basic_get(dead_queue.as_str().into(), BasicGetOptions { no_ack: true })
                .await
                .unwrap()
                .unwrap();
            let id = got.delivery.properties.message_id().clone().unwrap();
            assert!(
                id.as_str().starts_with("bad-"),
                "only invalid messages: {id}"
            );
            ids.insert(id.as_str().to_string());
            let headers = got.delivery.properties.headers().clone().unwrap();
            let reason = match headers.inner().get("x-tradeengine-reason") {
                Some(AMQPValue::LongString(s)) => String::from_utf8_lossy(s.as_bytes()).to_string(),
                other => panic!("no reason header: {other:?}"),
            };
            reasons.push((reason, got.delivery.data.clone()));
        }
        assert_eq!(ids.len(), invalid, "every invalid message dead-lettered");
        assert!(reasons[0].0.contains("action"), "{:?}", reasons[0].0);
        assert!(reasons[1].0.contains("not JSON"), "{:?}", reasons[1].0);
        assert_eq!(
            reasons[1].1,
            b"\xff\xfe not json".to_vec(),
            "the original body is kept"
        );
        // And each is a recorded refusal, once per message id, with its reason label.
        let refused = store.refused_signals(Some("rmq"), 10_000).await.unwrap();
        assert_eq!(refused.len(), invalid, "one refusal per invalid message");
        let codes: std::collections::BTreeSet<&str> =
            refused.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(
            codes.into_iter().collect::<Vec<_>>(),
            ["invalid", "malformed"],
            "{refused:?}"
        );
        assert!(store.verify_audit().await.unwrap().is_ok());
        for q in [&queue, &dead_queue] {
            let _ = ch
                .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                .await;
        }
        let _ = conn.close(200, "done".into()).await;
    });
    eprintln!("rabbitmq crash test took {:?}", started.elapsed());
}

/// A message without any id, stored, then redelivered (here: after the
/// engine restarted, minutes later, in another time bucket) is a duplicate, not a second signal;
/// the same body first delivered again after the repeat window is a new signal.
#[test]
fn rabbitmq_a_redelivered_id_less_message_counts_once_across_a_window_edge() {
    use tradeengine_model::ManualClock;
    if !reachable(ADDR, "RabbitMQ") {
        return;
    }
    let queue = format!("t{}.edge", unique("r"));
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(dir.path(), &config_toml(&queue));
    let env = [("TE_TEST_RABBIT_PASSWORD".to_string(), "guest".to_string())];
    let body = json!({"symbol": "BTCUSDT", "order": {"action": "open", "side": "buy",
        "size": "0.001", "unit": "base"}})
    .to_string()
    .into_bytes();
    // Half a second before a minute boundary.
    let t0 = chrono::DateTime::from_timestamp_millis(1_767_225_600_000 - 500).unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    let rt = runtime();
    rt.block_on(async {
        let conn = Connection::connect(URI, ConnectionProperties::default())
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        let durable = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        ch.queue_declare(queue.as_str().into(), durable, FieldTable::default())
            .await
            .unwrap();
        let publish = || async {
            ch.basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                &body,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        };
        let count = |store: Arc<dyn tradeengine_store::Store>| async move {
            stored_signals(&*store, "rmq").await
        };
        let empty = || async {
            let passive = QueueDeclareOptions {
                passive: true,
                ..Default::default()
            };
            ch.queue_declare(queue.as_str().into(), passive, FieldTable::default())
                .await
                .unwrap()
                .message_count()
                == 0
        };

        // Engine 1 stores the message at t0 and acknowledges it.
        publish().await;
        let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
        let engine = start_at(config.clone(), store.clone(), &env, clock.clone()).await;
        assert!(
            wait_for(Duration::from_secs(20), || count(store.clone())
                .map(|n| n == 1))
            .await
        );
        engine.shutdown().await;

        // The same message comes back redelivered (a consumer took it and handed it back, as
        // a broker does when an ack was lost), minutes later, to a restarted engine.
        publish().await;
        let got = ch
            .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: false })
            .await
            .unwrap()
            .unwrap();
        got.delivery
            .acker
            .nack(lapin::options::BasicNackOptions {
                requeue: true,
                ..Default::default()
            })
            .await
            .unwrap();
        clock.set(t0 + chrono::TimeDelta::minutes(5));
        let engine = start_at(config.clone(), store.clone(), &env, clock.clone()).await;
        assert!(
            wait_for(Duration::from_secs(20), empty).await,
            "not consumed"
        );
        engine.shutdown().await;
        assert_eq!(
            count(store.clone()).await,
            1,
            "a redelivery is not a new signal"
        );

        // A deliberate repeat, first delivered after the window, is a new signal.
        let engine = start_at(config.clone(), store.clone(), &env, clock.clone()).await;
        publish().await;
        assert!(
            wait_for(Duration::from_secs(20), || count(store.clone())
                .map(|n| n == 2))
            .await
        );
        assert_eq!(base_total(&engine, "rmq").await, Decimal::new(2, 3));
        engine.shutdown().await;
        let _ = ch
            .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
            .await;
        let _ = conn.close(200, "done".into()).await;
    });
}

async fn start_at(
    config: tradeengine_engine::config::Config,
    store: Arc<dyn tradeengine_store::Store>,
    env: &[(String, String)],
    clock: Arc<tradeengine_model::ManualClock>,
) -> tradeengine_engine::RunningEngine {
    tradeengine_engine::RunningEngine::start(
        config,
        store,
        tradeengine_engine::StartOptions {
            clock,
            live_confirmed: false,
            config_path: None,
            env_overrides: env.iter().cloned().collect(),
        },
    )
    .await
    .unwrap()
}

/// A thousand queued messages into an engine whose account worker is busy (every signal moves
/// the target): every one is taken and the engine's state stays readable (red team: a backlog
/// stalled the consumer at 256 unacknowledged, `/metrics` hung; see the NATS twin).
#[test]
fn a_backlog_into_a_trading_engine_is_taken_whole() {
    if !reachable(ADDR, "RabbitMQ") {
        return;
    }
    let queue = unique("rb");
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"{TRADING_PAPER_ACCOUNT}
[sources.rmq]
type = "rabbitmq"
allow_add = true
cooling_minutes = 0
[sources.rmq.settings]
url = "amqp://127.0.0.1:5672/%2f"
user = "guest"
password_env = "TE_TEST_RABBIT_PASSWORD"
queue = "{queue}"
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = {{ rmq = 1.0 }}
"#
    );
    let config = common::config(dir.path(), &toml);
    let env = [("TE_TEST_RABBIT_PASSWORD".to_string(), "guest".to_string())];
    runtime().block_on(async {
        let conn = Connection::connect(URI, ConnectionProperties::default())
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        ch.confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        ch.queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
        let body = json!({"symbol": "BTCUSDT",
            "order": {"action": "open", "side": "buy", "size": "0.001", "unit": "base"}})
        .to_string();
        for i in 0..1_000 {
            ch.basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                body.as_bytes(),
                BasicProperties::default()
                    .with_delivery_mode(2)
                    .with_message_id(format!("b-{i}").as_str().into()),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        }
        let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
        let engine = common::start_with_env(config, store.clone(), &env).await;
        common::assert_burst_taken_whole(&engine, &*store, "rmq", 1_000).await;
        engine.shutdown().await;
        let _ = ch
            .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
            .await;
    });
}
