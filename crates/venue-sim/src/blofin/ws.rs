//! BloFin's private stream: `login` (apiKey, passphrase, timestamp, sign, nonce; the sign over
//! `/users/self/verify` + `GET` + timestamp + nonce), then `subscribe` to `orders` /
//! `positions`; the text `ping` is answered with `pong`. Pushes
//! `{"arg": {"channel"}, "data": [...]}`.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::{Blofin, render, verify_sign};
use crate::book::SimEvent;

pub async fn upgrade(State(b): State<Arc<Blofin>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(b, socket))
}

fn error(code: &str, msg: &str) -> String {
    json!({"event": "error", "code": code, "msg": msg}).to_string()
}

async fn session(b: Arc<Blofin>, socket: WebSocket) {
    let sh = b.sh.clone();
    sh.counters.stream_connected();
    let (mut tx, mut rx) = socket.split();
    let mut events = sh.events.subscribe();
    let mut epoch = sh.faults.stream_epoch();
    epoch.borrow_and_update();
    let mut authed = false;
    let mut channels: BTreeSet<String> = BTreeSet::new();
    loop {
        tokio::select! {
            _ = epoch.changed() => return,
            msg = rx.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Binary(_))) => continue,
                    _ => return,
                };
                let out: Vec<String> = if text == "ping" {
                    vec!["pong".to_string()]
                } else {
                    let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
                    let args = v.get("args").and_then(Value::as_array).cloned().unwrap_or_default();
                    match v.get("op").and_then(Value::as_str).unwrap_or_default() {
                        "login" => match check_login(&b, args.first()) {
                            Ok(()) => {
                                authed = true;
                                vec![json!({"event": "login", "code": "0", "msg": ""}).to_string()]
                            }
                            Err((code, msg)) => vec![error(code, msg)],
                        },
                        "subscribe" if !authed => vec![error("152401", "Please log in first")],
                        "subscribe" => args
                            .iter()
                            .filter_map(|a| a.get("channel").and_then(Value::as_str))
                            .map(|c| {
                                channels.insert(c.to_string());
                                json!({"event": "subscribe", "arg": {"channel": c}}).to_string()
                            })
                            .collect(),
                        _ => vec![error("152002", "unknown op")],
                    }
                };
                for frame in out {
                    if tx.send(Message::text(frame)).await.is_err() {
                        return;
                    }
                }
            }
            ev = events.recv() => {
                let ev = match ev {
                    Ok(ev) => ev,
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                };
                if let Some(push) = render_event(&b, &ev, &channels)
                    && tx.send(Message::text(push)).await.is_err()
                {
                    return;
                }
            }
        }
    }
}

fn check_login(b: &Blofin, arg: Option<&Value>) -> Result<(), (&'static str, &'static str)> {
    let field = |k: &str| {
        arg.and_then(|a| a.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let o = &b.sh.options;
    if field("apiKey") != o.api_key {
        return Err(("152401", "Access key does not exist"));
    }
    if field("passphrase") != o.passphrase {
        return Err(("152408", "Passphrase error"));
    }
    let ts: i64 = field("timestamp").parse().unwrap_or(0);
    if (ts - b.sh.now_ms()).abs() > 60_000 {
        return Err(("152405", "Timestamp request expired"));
    }
    let pre_hash = format!("/users/self/verifyGET{ts}{}", field("nonce"));
    if !verify_sign(&o.api_secret, &pre_hash, &field("sign")) {
        return Err(("152409", "Signature verification failed"));
    }
    Ok(())
}

fn render_event(b: &Blofin, ev: &SimEvent, channels: &BTreeSet<String>) -> Option<String> {
    let ex = b.sh.exchange();
    match ev {
        SimEvent::Order { order: o, .. } if channels.contains("orders") => Some(
            json!({"action": "update", "arg": {"channel": "orders"}, "data": [render::order_push(&ex, o)]})
                .to_string(),
        ),
        SimEvent::Position { symbol, .. } if channels.contains("positions") => {
            let row = render::position_push(&ex, symbol, b.sh.now_ms());
            Some(json!({"action": "update", "arg": {"channel": "positions"}, "data": [row]}).to_string())
        }
        _ => None,
    }
}
