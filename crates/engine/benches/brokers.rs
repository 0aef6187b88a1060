#![allow(clippy::unwrap_used)] // benches may unwrap (team rule)
//! Broker throughput: signals per second from NATS JetStream and from RabbitMQ to a stored
//! sleeve update, against the machine's real servers (127.0.0.1:4222, 127.0.0.1:5672).
//!
//! `cargo bench -p tradeengine-engine --bench brokers` (env `SIGNALS=N`, default 20000).
//! For each broker: N signals (canonical base-unit buys over four symbols, each with its own
//! message id) are published first; then an engine (SQLite store on disk, no accounts, so only
//! the intake path is measured) starts, and the clock runs from its start until the last
//! signal's sleeve update is stored. Each signal is acknowledged only after that. Prints a
//! Markdown table for BENCHMARKS.md. A broker that is not reachable is reported, not measured.

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use rust_decimal::Decimal;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::{RunningEngine, StartOptions};
use tradeengine_model::{SleeveOrigin, SystemClock};

const SYMBOLS: [&str; 4] = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"];

fn body(i: usize) -> Vec<u8> {
    serde_json::json!({"symbol": SYMBOLS[i % 4],
        "order": {"action": "open", "side": "buy", "size": "0.001", "unit": "base"}})
    .to_string()
    .into_bytes()
}

fn up(addr: &str) -> bool {
    let a: SocketAddr = addr.parse().unwrap();
    TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok()
}

fn config(dir: &std::path::Path, source: &str) -> tradeengine_engine::config::Config {
    let mut t = format!(
        "[engine]\ndata_dir = \"{}\"\nhot_reload = false\n[sources.bus]\nmin_confidence = 0\nallow_add = true\n{source}\n",
        dir.display()
    );
    for s in SYMBOLS {
        t.push_str(&format!(
            "[[symbols]]\nsymbol = \"{s}\"\nweights = {{ bus = 1.0 }}\n"
        ));
    }
    load_str(&t, None, &[], &Overrides::default()).unwrap()
}

async fn total(engine: &RunningEngine) -> Decimal {
    engine
        .state
        .sleeves()
        .await
        .values()
        .map(|s| match s.exposure {
            SleeveOrigin::Base(q) => q,
            SleeveOrigin::Depth(_) => Decimal::ZERO,
        })
        .sum()
}

/// Starts an engine on `config` and times it until `n` signals are in the sleeves.
async fn drain(config: tradeengine_engine::config::Config, n: usize) -> Duration {
    let dir = config.engine.data_dir.clone();
    let store = tradeengine_store::open_sqlite_in(&dir).await.unwrap();
    let want = Decimal::new(i64::try_from(n).unwrap(), 3);
    let options = StartOptions {
        clock: Arc::new(SystemClock),
        live_confirmed: false,
        config_path: None,
        env_overrides: Default::default(),
    };
    let started = Instant::now();
    let engine = RunningEngine::start(config, store, options).await.unwrap();
    while total(&engine).await < want {
        assert!(started.elapsed() < Duration::from_secs(300), "timed out");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = started.elapsed();
    engine.shutdown().await;
    took
}

async fn nats(n: usize, tag: &str) -> Duration {
    let js = jetstream::new(async_nats::connect("127.0.0.1:4222").await.unwrap());
    let stream = format!("B{tag}");
    js.get_or_create_stream(jetstream::stream::Config {
        name: stream.clone(),
        subjects: vec![format!("b.{tag}.signals"), format!("b.{tag}.signals.>")],
        ..Default::default()
    })
    .await
    .unwrap();
    let mut acks = Vec::new();
    for i in 0..n {
        let mut h = async_nats::HeaderMap::new();
        h.insert(
            async_nats::header::NATS_MESSAGE_ID,
            format!("b-{i}").as_str(),
        );
        acks.push(
            js.publish_with_headers(format!("b.{tag}.signals"), h, body(i).into())
                .await
                .unwrap(),
        );
        if acks.len() >= 1024 {
            for a in acks.drain(..) {
                a.await.unwrap();
            }
        }
    }
    for a in acks {
        a.await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let source = format!(
        "type = \"nats\"\n[sources.bus.settings]\nsubject = \"b.{tag}.signals\"\nstream = \"{stream}\"\nevents_subject = \"\"\ndead_letter_stream = \"\"\nmax_age_secs = 0\nbatch = 512\n"
    );
    let took = drain(config(dir.path(), &source), n).await;
    let _ = js.delete_stream(&stream).await;
    took
}

async fn rabbitmq(n: usize, tag: &str) -> Duration {
    let uri = "amqp://guest:guest@127.0.0.1:5672/%2f";
    let queue = format!("b{tag}.signals");
    let conn = Connection::connect(uri, ConnectionProperties::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let durable = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    ch.queue_declare(queue.as_str().into(), durable, FieldTable::default())
        .await
        .unwrap();
    let mut confirms = Vec::new();
    for i in 0..n {
        let props = BasicProperties::default()
            .with_delivery_mode(2)
            .with_message_id(format!("b-{i}").as_str().into());
        confirms.push(
            ch.basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                &body(i),
                props,
            )
            .await
            .unwrap(),
        );
        if confirms.len() >= 1024 {
            for c in confirms.drain(..) {
                c.await.unwrap();
            }
        }
    }
    for c in confirms {
        c.await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let source = format!(
        "type = \"rabbitmq\"\n[sources.bus.settings]\nurl = \"{uri}\"\nqueue = \"{queue}\"\nprefetch = 512\n"
    );
    let took = drain(config(dir.path(), &source), n).await;
    for q in [queue.clone(), format!("{queue}.dead")] {
        let _ = ch
            .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
            .await;
    }
    let _ = conn.close(200, "done".into()).await;
    took
}

fn main() {
    let n: usize = std::env::var("SIGNALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let tag = format!("{}", std::process::id());
    println!("| broker | signals | engine start → last sleeve stored | signals/s |");
    println!("|---|---:|---:|---:|");
    for (name, addr) in [
        ("NATS JetStream", "127.0.0.1:4222"),
        ("RabbitMQ", "127.0.0.1:5672"),
    ] {
        if !up(addr) {
            println!("| {name} | — | not reachable at {addr} | — |");
            continue;
        }
        let took = rt.block_on(async {
            if name == "RabbitMQ" {
                rabbitmq(n, &tag).await
            } else {
                nats(n, &tag).await
            }
        });
        let rate = n as f64 / took.as_secs_f64();
        println!("| {name} | {n} | {:.2} s | {rate:.0} |", took.as_secs_f64());
    }
}
