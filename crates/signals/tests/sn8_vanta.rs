//! The Vanta network as it is today: the docs' payloads, `/trade-pairs` driving the universe,
//! the tier's delay, the older override format, and the WebSocket stream against a stand-in
//! validator (REST and WebSocket on 127.0.0.1) ranking exactly as REST does.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::{TimeZone, Utc};
use common::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tradeengine_model::{Intent, SourceId, Timestamp};
use tradeengine_signals::SymbolMap;
use tradeengine_signals::sn8::{
    FeedConfig, FeedEvent, OnStale, PositionBook, RowIssue, Scoring, Sn8Config, Sn8Payload,
    Sn8Source, StreamEvent, Tier, Universe, parse_positions, parse_stream_frame, parse_trade_pairs,
    rank, run_feed,
};

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/testdata/sn8");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{TESTDATA}/{name}")).unwrap()
}

fn t0() -> Timestamp {
    Utc.timestamp_millis_opt(NOW_MS).unwrap()
}

/// Seed scoring with every filter relaxed, so the tests are about the positions.
fn open_cfg() -> Sn8Config {
    let mut c = Sn8Config::new(SourceId::new("sn8").unwrap());
    c.scoring = Scoring::Seed;
    c.guard.min_miners = 1;
    c.leverage_limit = dec!(2);
    c.seed.min_trades = 1;
    c.seed.min_profitable_rate = 0.0;
    c.seed.min_total_return = -1e9;
    c.seed.max_drawdown_threshold = -1e9;
    c.seed.min_thirty_day_return = None;
    c.seed.min_all_time_return = None;
    c
}

/// A position opened an hour ago with one order.
fn live(id: &str, uuid: &str, lev: f64, price: f64) -> Value {
    let mut p = open(
        id,
        NOW_MS - 3_600_000,
        &[(if lev >= 0.0 { "LONG" } else { "SHORT" }, lev, price)],
        1.01,
    );
    p["position_uuid"] = json!(uuid);
    p
}

fn one_miner(positions: Vec<Value>) -> Value {
    let mut ps = positions;
    ps.push(closed("ETHUSD", NOW_MS - 5 * DAY_MS, 2, 1.02));
    json!({"hk": miner(1.05, ps)})
}

fn depth(u: &tradeengine_signals::sn8::Sn8Update, sym: &str) -> Option<(Decimal, String)> {
    u.signals
        .iter()
        .find(|s| s.symbol.as_str() == sym)
        .map(|s| match &s.intent {
            Intent::Target(t) => (t.depth, s.raw["reason"].as_str().unwrap_or("").to_string()),
            _ => panic!("not a target"),
        })
}

#[test]
fn the_documented_payloads_parse() {
    let doc = parse_positions(&fixture("miner_positions_doc.json")).unwrap();
    assert_eq!(doc.miners.len(), 1);
    let p = &doc.miners[0].1.positions[0];
    assert!(p.is_closed());
    assert_eq!(p.average_entry_price, Some(0.59559));
    assert_eq!(p.trade_pair.unwrap().as_str(), "NZDUSD");
    let cur = parse_trade_pairs(&fixture("trade_pairs_current.json")).unwrap();
    assert_eq!(cur.pairs.len(), 4);
    assert!(cur.find("BTCUSDC").unwrap().1.is_hyperliquid());
    let old = parse_trade_pairs(&fixture("trade_pairs_allowed_only.json")).unwrap();
    assert_eq!(old.pairs.len(), 3);
    let text = |n| String::from_utf8(fixture(n)).unwrap();
    assert!(matches!(
        parse_stream_frame(&text("ws_auth_success.json")).unwrap()[0],
        StreamEvent::Authenticated {
            tier: Some(100),
            ..
        }
    ));
    assert!(matches!(
        &parse_stream_frame(&text("ws_auth_insufficient_tier.json")).unwrap()[0],
        StreamEvent::Refused { code: Some(c), .. } if c == "INSUFFICIENT_TIER"
    ));
    assert_eq!(
        parse_stream_frame(&text("ws_subscription_status.json")).unwrap(),
        vec![StreamEvent::Subscribed]
    );
    let ev = parse_stream_frame(&text("ws_position_message.json")).unwrap();
    let StreamEvent::Update(m) = &ev[0] else {
        panic!("{ev:?}")
    };
    let p = m.position.as_ref().unwrap();
    assert!(p.is_closed());
    assert_eq!(p.average_entry_price, Some(82871.92127250001));
}

/// One payload mixing allowed, deprecated, disabled, dropped and Hyperliquid-sourced pairs.
#[test]
fn trade_pairs_drive_the_universe() {
    let mapping = SymbolMap::new([
        ("BTCUSD", "BTCUSDT"),
        ("BTCUSDC", "BTCUSDT"),
        ("ETHUSD", "ETHUSDT"),
        ("SOLUSD", "SOLUSDT"),
        ("XRPUSD", "XRPUSDT"),
    ])
    .unwrap();
    let pairs = |sol: &str, xrp_listed: bool| {
        let mut allowed = vec![
            json!({"trade_pair_id": "BTCUSDC", "hl_coin": "BTC", "trade_pair_source": "hyperliquid", "max_leverage": 1.0}),
            json!({"trade_pair_id": "ETHUSD", "trade_pair_source": "vanta", "max_leverage": 0.2}),
        ];
        if xrp_listed {
            allowed.push(json!({"trade_pair_id": "XRPUSD", "max_leverage": 0.5}));
        }
        let solp =
            json!({"trade_pair_id": "SOLUSD", "trade_pair_source": "vanta", "max_leverage": 0.5});
        let mut body = json!({"allowed": allowed, "disabled": [{"trade_pair_id": "BTCUSD", "max_leverage": 0.5}]});
        if sol == "allowed" {
            body["allowed"].as_array_mut().unwrap().push(solp);
        } else {
            body["deprecated"] = json!([solp]);
        }
        Some(Ok(parse_trade_pairs(body.to_string().as_bytes()).unwrap()))
    };
    let payload = |sol_lev: f64, tp| Sn8Payload {
        positions: parse_positions(
            one_miner(vec![
                live("BTCUSDC", "hl", 0.8, 100.0),
                live("BTCUSD", "old-btc", 0.3, 100.0),
                live("ETHUSD", "eth", 0.6, 10.0),
                live("SOLUSD", "sol", sol_lev, 5.0),
                live("XRPUSD", "xrp", 0.3, 1.0),
                live("EURUSD", "eur", 1.0, 1.1),
            ])
            .to_string()
            .as_bytes(),
        )
        .unwrap(),
        statistics: None,
        eliminations: None,
        trade_pairs: tp,
    };
    let mut src = Sn8Source::new(open_cfg(), &mapping, t0());
    let u = src.on_payload(&payload(0.4, pairs("allowed", true)), t0());
    // BTCUSD is disabled, but the HL-sourced BTCUSDC maps to the same symbol and is allowed.
    assert_eq!(depth(&u, "BTCUSDT").unwrap().0, dec!(0.8));
    // ETH's 0.6 is bounded by the pair's max_leverage of 0.2.
    assert_eq!(depth(&u, "ETHUSDT").unwrap().0, dec!(0.2));
    assert_eq!(depth(&u, "SOLUSDT").unwrap().0, dec!(0.4));
    assert_eq!(depth(&u, "XRPUSDT").unwrap().0, dec!(0.3));
    let r = src.last_ranking().unwrap();
    assert_eq!(r.unusable[&RowIssue::PairDisabled], 1);
    assert_eq!(r.unusable[&RowIssue::UnmappedPair], 1);
    assert!(!r.unusable.contains_key(&RowIssue::PairDropped));

    // SOL becomes deprecated while the miner adds; XRP is no longer listed.
    let u = src.on_payload(&payload(0.6, pairs("deprecated", false)), t0());
    assert_eq!(depth(&u, "SOLUSDT"), None, "reduce only: 0.4 may not grow");
    assert_eq!(
        depth(&u, "XRPUSDT").unwrap(),
        (dec!(0), "pair_dropped_by_validator".to_string())
    );
    assert_eq!(
        src.last_ranking().unwrap().unusable[&RowIssue::PairDropped],
        1
    );
    // The miner reduces SOL: that gets through; a flip would go to zero, never past it.
    let u = src.on_payload(&payload(0.1, pairs("deprecated", false)), t0());
    assert_eq!(
        depth(&u, "SOLUSDT").unwrap(),
        (dec!(0.1), "pair_deprecated_reduce_only".to_string())
    );
    let u = src.on_payload(&payload(-0.3, pairs("deprecated", false)), t0());
    assert_eq!(depth(&u, "SOLUSDT").unwrap().0, dec!(0));
    // A failed /trade-pairs read keeps the last rules: XRP stays flat.
    let err = Some(Err(tradeengine_signals::sn8::Sn8Error::Config("x".into())));
    src.on_payload(&payload(0.1, err), t0());
    assert_eq!(
        src.last_ranking().unwrap().unusable[&RowIssue::PairDropped],
        1
    );
}

/// The older override file: positions as JSON-encoded strings, the 30-day return at its 1.0
/// default.
#[test]
fn the_override_format_is_read_and_its_placeholder_excludes_no_one() {
    let mapping = SymbolMap::new([("BTCUSD", "BTCUSDT")]).unwrap();
    let universe = Universe::from_mapping(&mapping);
    let body = |thirty: f64| {
        let mut ps: Vec<Value> = (0..12)
            .map(|i| {
                Value::String(closed("BTCUSD", NOW_MS - (11 - i) * DAY_MS / 2, 2, 1.01).to_string())
            })
            .collect();
        ps.push(Value::String("{not json".into()));
        json!({"hk": {"all_time_returns": 1.08, "thirty_day_returns": thirty,
                      "n_positions": 12, "percentage_profitable": 1.0, "positions": ps}})
        .to_string()
    };
    let cfg = Sn8Config::new(SourceId::new("sn8").unwrap());
    let doc = parse_positions(body(1.0).as_bytes()).unwrap();
    let r = rank(&doc, None, &cfg, &universe, NOW_MS).unwrap();
    assert_eq!(r.miners.len(), 1, "{:?}", r.excluded);
    assert_eq!(r.json_string_rows, 12);
    assert_eq!(r.unusable[&RowIssue::UnreadablePosition], 1);
    // The whole list as one JSON-encoded string reads the same.
    let list: Vec<Value> = (0..12)
        .map(|i| closed("BTCUSD", NOW_MS - (11 - i) * DAY_MS / 2, 2, 1.01))
        .collect();
    let whole = json!({"hk": {"all_time_returns": 1.08, "thirty_day_returns": 1.0,
        "positions": Value::Array(list).to_string()}, "bad": {"positions": "[{\"trade"}});
    let doc = parse_positions(whole.to_string().as_bytes()).unwrap();
    let r = rank(&doc, None, &cfg, &universe, NOW_MS).unwrap();
    assert_eq!(r.miners.len(), 1, "{:?}", r.excluded);
    assert_eq!(r.json_string_rows, 12);
    assert_eq!(r.unusable[&RowIssue::UnreadablePosition], 1);
    // A real 30-day loss still excludes.
    let doc = parse_positions(body(0.99).as_bytes()).unwrap();
    let r = rank(&doc, None, &cfg, &universe, NOW_MS).unwrap();
    assert!(r.miners.is_empty());
    let text = tradeengine_signals::sn8::format_ranking(&r, 5);
    assert!(text.contains("unreadable_position=1"), "{text}");
    assert!(text.contains("tier: 100"), "{text}");
}

#[test]
fn positions_a_tier_shows_late_follow_on_stale() {
    let mapping = SymbolMap::new([("BTCUSD", "BTCUSDT")]).unwrap();
    let universe = Universe::from_mapping(&mapping);
    let sym = tradeengine_model::Symbol::new("BTCUSDT").unwrap();
    let at = |age_ms: i64| {
        let mut p = live("BTCUSD", "b", 0.3, 100.0);
        p["orders"][0]["processed_ms"] = json!(NOW_MS - age_ms);
        p["open_ms"] = json!(NOW_MS - age_ms);
        parse_positions(one_miner(vec![p]).to_string().as_bytes()).unwrap()
    };
    let run = |tier: i64, on_stale: OnStale, age_ms: i64| {
        let mut c = open_cfg();
        c.tier = Tier::new(tier).unwrap();
        c.on_stale = on_stale;
        rank(&at(age_ms), None, &c, &universe, NOW_MS).unwrap()
    };
    let two_days = 2 * DAY_MS;
    let r = run(30, OnStale::Flat, two_days);
    assert_eq!(r.depth_of(&sym), Some(dec!(0)));
    assert_eq!(r.unusable[&RowIssue::DelayedByTier], 1);
    // An order within the delay proves the row is real time.
    assert_eq!(
        run(30, OnStale::Flat, 3_600_000).depth_of(&sym),
        Some(dec!(0.3))
    );
    // Tier 0: everything is a day late.
    assert_eq!(
        run(0, OnStale::Flat, 3_600_000).depth_of(&sym),
        Some(dec!(0))
    );
    assert_eq!(
        run(0, OnStale::Hold, two_days).depth_of(&sym),
        Some(dec!(0.3))
    );
    assert_eq!(
        run(100, OnStale::Flat, two_days).depth_of(&sym),
        Some(dec!(0.3))
    );
}

/// The stand-in validator: REST `/miner-positions` and `/trade-pairs`, and the WebSocket
/// stream as `vanta_api/websocket_server.py` speaks it.
#[derive(Clone)]
struct Validator {
    positions: std::sync::Arc<std::sync::Mutex<String>>,
    frames: broadcast::Sender<String>,
}

async fn ws_route(
    State(v): State<Validator>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> impl IntoResponse {
    let key = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("")
        .to_string();
    let frames = v.frames.subscribe();
    ws.on_upgrade(move |socket| serve_ws(socket, key, frames))
}

async fn serve_ws(mut socket: WebSocket, key: String, mut frames: broadcast::Receiver<String>) {
    let send = |v: &[u8]| Message::Text(String::from_utf8(v.to_vec()).unwrap().into());
    if key == "tier30-key" {
        let _ = socket
            .send(send(&fixture("ws_auth_insufficient_tier.json")))
            .await;
        return;
    }
    let _ = socket.send(send(&fixture("ws_auth_success.json"))).await;
    // Wait for the subscription (ignoring the older-style auth message).
    loop {
        match socket.recv().await {
            Some(Ok(Message::Text(t))) if t.as_str().contains("\"subscribe\"") => break,
            Some(Ok(_)) => continue,
            _ => return,
        }
    }
    let _ = socket
        .send(send(&fixture("ws_subscription_status.json")))
        .await;
    while let Ok(f) = frames.recv().await {
        if f == "close" {
            return;
        }
        if socket.send(Message::Text(f.into())).await.is_err() {
            return;
        }
    }
}

async fn start_validator(initial: &Value) -> (String, Validator) {
    let (frames, _) = broadcast::channel(64);
    let v = Validator {
        positions: std::sync::Arc::new(std::sync::Mutex::new(initial.to_string())),
        frames,
    };
    let app = Router::new()
        .route(
            "/miner-positions",
            get(|State(v): State<Validator>| async move { v.positions.lock().unwrap().clone() }),
        )
        .route(
            "/trade-pairs",
            get(|| async { String::from_utf8(fixture("trade_pairs_allowed_only.json")).unwrap() }),
        )
        .route("/ws", get(ws_route))
        .with_state(v.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("127.0.0.1:{}", addr.port()), v)
}

fn update(seq: i64, pos: &Value) -> String {
    let mut p = pos.clone();
    p["miner_hotkey"] = json!("hk");
    json!({"sequence": seq, "timestamp": NOW_MS, "data": {"position": p}}).to_string()
}

async fn next(rx: &mut mpsc::Receiver<FeedEvent>) -> FeedEvent {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("no feed event")
        .expect("feed ended")
}

#[tokio::test]
async fn the_stream_ranks_as_rest_does_resyncs_on_gaps_and_reconnects() {
    let mapping = SymbolMap::new([("BTCUSD", "BTCUSDT"), ("ETHUSD", "ETHUSDT")]).unwrap();
    // The book keeps a position where it first saw it and appends new ones; REST lists them in
    // the same order here, so even float sums over the miner's returns agree bit for bit.
    let history = closed("ETHUSD", NOW_MS - 5 * DAY_MS, 2, 1.02);
    let before = json!({"hk": miner(1.05, vec![live("BTCUSD", "b", 0.2, 100.0), history.clone()])});
    let after_positions = [
        live("BTCUSD", "b", 0.35, 100.0),
        live("ETHUSD", "e", -0.1, 10.0),
    ];
    let after = json!({"hk": miner(1.05, vec![after_positions[0].clone(), history, after_positions[1].clone()])});
    let (addr, v) = start_validator(&before).await;

    // REST alone, polled after the changes.
    let client_cfg = {
        let mut c = tradeengine_signals::sn8::Sn8ClientConfig::new(format!(
            "http://{addr}/miner-positions"
        ));
        c.api_key = Some(secrecy::SecretString::from("tier100-key"));
        c.stream_url = Some(format!("ws://{addr}/ws"));
        c
    };
    let client = tradeengine_signals::sn8::Sn8Client::new(client_cfg.clone()).unwrap();
    *v.positions.lock().unwrap() = after.to_string();
    let rest_payload = client.fetch(false).await.unwrap();
    let mut rest_src = Sn8Source::new(open_cfg(), &mapping, t0());
    rest_src.on_payload(&rest_payload, t0());
    let rest = rest_src.last_ranking().unwrap().clone();
    *v.positions.lock().unwrap() = before.to_string();

    // The stream: connect, resync from REST (the old state), then the updates.
    let mut feed_cfg = FeedConfig::from_client(&client_cfg).unwrap();
    feed_cfg.initial_backoff = Duration::from_millis(50);
    let (tx, mut rx) = mpsc::channel(64);
    let feed = tokio::spawn(run_feed(feed_cfg, tx));
    assert_eq!(next(&mut rx).await, FeedEvent::Connected);
    let snapshot = client.fetch(false).await.unwrap();
    let mut book = PositionBook::default();
    book.reset(snapshot.positions);
    let mut src = Sn8Source::new(open_cfg(), &mapping, t0());
    src.on_trade_pairs(snapshot.trade_pairs.as_ref());
    for (i, p) in after_positions.iter().enumerate() {
        v.frames.send(update(i as i64 + 10, p)).unwrap();
    }
    for _ in 0..2 {
        let FeedEvent::Update(m) = next(&mut rx).await else {
            panic!("expected an update")
        };
        book.apply(m.position).unwrap();
    }
    src.on_positions(book.doc(), None, None, t0());
    let streamed = src.last_ranking().unwrap();
    assert_eq!(streamed.assets, rest.assets);
    assert_eq!(streamed.miners, rest.miners);
    assert_eq!(streamed.assets[0].depth, dec!(0.35));

    // A lost message is a gap: the caller resyncs from REST.
    v.frames.send(update(15, &after_positions[0])).unwrap();
    assert_eq!(
        next(&mut rx).await,
        FeedEvent::Gap {
            expected: 12,
            got: 15
        }
    );
    assert!(matches!(next(&mut rx).await, FeedEvent::Update(_)));

    // The server drops the connection: the feed says so and comes back.
    v.frames.send("close".into()).unwrap();
    assert!(matches!(next(&mut rx).await, FeedEvent::Down(_)));
    assert_eq!(next(&mut rx).await, FeedEvent::Connected);
    feed.abort();

    // A key below tier 100 is refused by the stream (the source keeps polling REST).
    let mut low = client_cfg.clone();
    low.api_key = Some(secrecy::SecretString::from("tier30-key"));
    let mut feed_cfg = FeedConfig::from_client(&low).unwrap();
    feed_cfg.max_backoff = Duration::from_millis(50);
    let (tx, mut rx) = mpsc::channel(64);
    let feed = tokio::spawn(run_feed(feed_cfg, tx));
    match next(&mut rx).await {
        FeedEvent::Refused(why) => assert!(why.contains("INSUFFICIENT_TIER"), "{why}"),
        other => panic!("{other:?}"),
    }
    feed.abort();
}
