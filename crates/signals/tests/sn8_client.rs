//! The SN8 poller client against a local HTTP stub on 127.0.0.1 (no internet).
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use common::*;
use secrecy::SecretString;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tradeengine_model::{ManualClock, SourceId};
use tradeengine_signals::SymbolMap;
use tradeengine_signals::sn8::{
    Sn8Client, Sn8ClientConfig, Sn8Config, Sn8Error, Sn8Event, Sn8Source,
};

/// One canned response per path.
#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    /// Never answer (for the timeout test).
    hang: bool,
}

fn ok_json(body: Vec<u8>) -> Reply {
    Reply {
        status: 200,
        headers: vec![("content-type", "application/json".into())],
        body,
        hang: false,
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Serves `routes` on 127.0.0.1:0, recording each request head. Returns the base URL.
async fn stub(routes: Vec<(&'static str, Reply)>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    tokio::spawn(async move {
        // Bounded: the stub serves at most 32 connections and then stops by itself.
        for _ in 0..32 {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let routes = routes.clone();
            let seen = Arc::clone(&seen2);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                seen.lock().unwrap().push(head.clone());
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                let path = path.split('?').next().unwrap_or("/").to_string();
                let reply = routes
                    .iter()
                    .find(|(p, _)| *p == path)
                    .map(|(_, r)| r.clone())
                    .unwrap_or(Reply {
                        status: 404,
                        headers: vec![],
                        body: br#"{"error": "not found"}"#.to_vec(),
                        hang: false,
                    });
                if reply.hang {
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    return;
                }
                let mut out = format!(
                    "HTTP/1.1 {} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                    reply.status,
                    reply.body.len()
                );
                for (k, v) in &reply.headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                let _ = sock.write_all(out.as_bytes()).await;
                let _ = sock.write_all(&reply.body).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

fn positions_body() -> Vec<u8> {
    json!({
        "hk1": miner(1.1, vec![open("BTCUSD", NOW_MS, &[("LONG", 0.3, 100.0)], 1.0)]),
        "hk2": {"thirty_day_returns": "NaN-less", "positions": []}
    })
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn gzip_with_header_and_both_auth_headers() {
    let mut reply = ok_json(gzip(&positions_body()));
    reply.headers.push(("content-encoding", "gzip".into()));
    let (base, seen) = stub(vec![("/miner-positions", reply)]).await;
    let mut cfg = Sn8ClientConfig::new(format!("{base}/miner-positions?tier=100"));
    cfg.api_key = Some(SecretString::from("validator-key-123"));
    cfg.request_key = Some(SecretString::from("req_abcdef"));
    let client = Sn8Client::new(cfg).unwrap();
    let doc = client.fetch_positions().await.unwrap();
    assert_eq!(doc.miners.len(), 2);
    let head = seen.lock().unwrap()[0].to_ascii_lowercase();
    assert!(head.starts_with("get /miner-positions?tier=100 "), "{head}");
    assert!(
        head.contains("authorization: bearer validator-key-123"),
        "{head}"
    );
    assert!(
        head.contains("x-taoshi-consumer-request-key: req_abcdef"),
        "{head}"
    );
    assert!(head.contains("accept-encoding: gzip"), "{head}");
}

#[tokio::test]
async fn gzip_without_header_is_detected() {
    let mut reply = ok_json(gzip(&positions_body()));
    reply.headers = vec![("content-type", "application/octet-stream".into())];
    let (base, _) = stub(vec![("/miner-positions", reply)]).await;
    let client = Sn8Client::new(Sn8ClientConfig::new(format!("{base}/miner-positions"))).unwrap();
    assert_eq!(client.fetch_positions().await.unwrap().miners.len(), 2);
}

#[tokio::test]
async fn http_errors_carry_the_validator_message_and_no_key() {
    let reply = Reply {
        status: 401,
        headers: vec![("content-type", "application/json".into())],
        body: br#"{"error": "Invalid API key"}"#.to_vec(),
        hang: false,
    };
    let (base, _) = stub(vec![("/miner-positions", reply)]).await;
    let mut cfg = Sn8ClientConfig::new(format!("{base}/miner-positions?api_key=leaky"));
    cfg.api_key = Some(SecretString::from("secret-key-xyz"));
    let client = Sn8Client::new(cfg).unwrap();
    let e = client.fetch_positions().await.unwrap_err();
    assert!(
        matches!(&e, Sn8Error::Http { status: 401, message, .. } if message == "Invalid API key"),
        "{e:?}"
    );
    let text = format!("{e} {e:?}");
    assert!(
        !text.contains("secret-key-xyz") && !text.contains("leaky"),
        "{text}"
    );
}

#[tokio::test]
async fn timeouts_too_large_bodies_and_refused_connections() {
    let hang = Reply {
        status: 200,
        headers: vec![],
        body: vec![],
        hang: true,
    };
    let big = ok_json(vec![b' '; 4096]);
    let (base, _) = stub(vec![("/slow", hang), ("/big", big)]).await;
    let mut cfg = Sn8ClientConfig::new(format!("{base}/slow"));
    cfg.timeout_secs = 1;
    let e = Sn8Client::new(cfg)
        .unwrap()
        .fetch_positions()
        .await
        .unwrap_err();
    assert!(matches!(e, Sn8Error::Timeout { .. }), "{e:?}");

    let mut cfg = Sn8ClientConfig::new(format!("{base}/big"));
    cfg.max_body_bytes = 1024;
    let e = Sn8Client::new(cfg)
        .unwrap()
        .fetch_positions()
        .await
        .unwrap_err();
    assert!(matches!(e, Sn8Error::TooLarge { limit: 1024, .. }), "{e:?}");

    // A port nobody listens on (bound, then dropped).
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = Sn8ClientConfig::new(format!("http://127.0.0.1:{port}/miner-positions"));
    let e = Sn8Client::new(cfg)
        .unwrap()
        .fetch_positions()
        .await
        .unwrap_err();
    assert!(matches!(e, Sn8Error::Transport { .. }), "{e:?}");
}

#[tokio::test]
async fn bad_json_is_a_parse_error() {
    let (base, _) = stub(vec![("/miner-positions", ok_json(b"[1, 2".to_vec()))]).await;
    let client = Sn8Client::new(Sn8ClientConfig::new(format!("{base}/miner-positions"))).unwrap();
    let e = client.fetch_positions().await.unwrap_err();
    assert!(matches!(e, Sn8Error::Parse { .. }), "{e:?}");
}

#[tokio::test]
async fn poll_once_with_ptn_scoring_fetches_all_three() {
    let stats = json!({"data": [{"hotkey": "hk1", "challengeperiod": {"status": "success"},
                                 "weight": {"value": 0.5, "rank": 1}}]});
    let elims = json!({"eliminations": [{"hotkey": "hk2", "reason": "ZOMBIE"}]});
    let mut gz = ok_json(gzip(stats.to_string().as_bytes()));
    gz.headers.push(("content-encoding", "gzip".into()));
    let (base, seen) = stub(vec![
        ("/miner-positions", ok_json(positions_body())),
        ("/statistics", gz),
        ("/eliminations", ok_json(elims.to_string().into_bytes())),
    ])
    .await;
    let mut ccfg = Sn8ClientConfig::new(format!("{base}/miner-positions"));
    ccfg.statistics_url = Some(format!("{base}/statistics?checkpoints=false"));
    ccfg.eliminations_url = Some(format!("{base}/eliminations"));
    let client = Sn8Client::new(ccfg).unwrap();
    let mut cfg = Sn8Config::new(SourceId::new("sn8").unwrap());
    cfg.scoring = tradeengine_signals::sn8::Scoring::Ptn;
    cfg.guard.min_miners = 1;
    let mapping = SymbolMap::new([("BTCUSD", "BTCUSDT")]).unwrap();
    let clock = ManualClock::new(Utc.timestamp_millis_opt(NOW_MS).unwrap());
    let mut src = Sn8Source::new(cfg, &mapping, Utc.timestamp_millis_opt(NOW_MS).unwrap());
    let u = src.poll_once(&client, &clock).await;
    let Sn8Event::Ranked(r) = &u.event else {
        panic!("{:?}", u.event)
    };
    assert_eq!(r.miners.len(), 1);
    assert_eq!(u.signals.len(), 1);
    // Positions (with the tier always sent), statistics, eliminations, and /trade-pairs beside
    // the positions (404 here: the pairs' rules stay unknown and nothing is held back).
    let heads = seen.lock().unwrap().clone();
    assert_eq!(heads.len(), 4);
    assert!(
        heads
            .iter()
            .any(|h| h.starts_with("GET /miner-positions?tier=100 ")),
        "{heads:?}"
    );
    assert!(heads.iter().any(|h| h.starts_with("GET /trade-pairs ")));

    // The operator's one-shot view ranks the same payload without touching the source state.
    let mut cfg = Sn8Config::new(SourceId::new("sn8").unwrap());
    cfg.scoring = tradeengine_signals::sn8::Scoring::Ptn;
    let now = Utc.timestamp_millis_opt(NOW_MS).unwrap();
    let r = tradeengine_signals::sn8::fetch_and_rank(&client, &cfg, &mapping, now)
        .await
        .unwrap();
    assert_eq!(r.miners[0].hotkey, "hk1");
    let text = tradeengine_signals::sn8::format_ranking(&r, 10);
    assert!(text.contains("BTCUSDT"), "{text}");
}
