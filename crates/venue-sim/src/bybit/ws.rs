//! Bybit's private stream: `auth` (key, expires, hex HMAC of `"GET/realtime" + expires`), then
//! `subscribe` to `order` / `position` (or their `.linear` forms); `ping` is answered with
//! `pong`. Pushes `{"topic", "id", "creationTime", "data": [...]}`.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::render;
use crate::Shared;
use crate::auth::verify_hex;
use crate::book::SimEvent;

pub async fn upgrade(State(sh): State<Arc<Shared>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(sh, socket))
}

fn reply(op: &str, success: bool, msg: &str, req_id: &Value) -> String {
    json!({"success": success, "ret_msg": msg, "op": op, "conn_id": "sim", "req_id": req_id})
        .to_string()
}

async fn session(sh: Arc<Shared>, socket: WebSocket) {
    sh.counters.stream_connected();
    let (mut tx, mut rx) = socket.split();
    let mut events = sh.events.subscribe();
    let mut epoch = sh.faults.stream_epoch();
    epoch.borrow_and_update();
    let mut authed = false;
    let mut topics: BTreeSet<String> = BTreeSet::new();
    loop {
        tokio::select! {
            _ = epoch.changed() => return,
            msg = rx.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Binary(_))) => continue,
                    _ => return,
                };
                let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
                let req_id = v.get("req_id").cloned().unwrap_or(Value::Null);
                let out = match v.get("op").and_then(Value::as_str).unwrap_or_default() {
                    "auth" => {
                        let (ok, msg) = check_auth(&sh, &v);
                        authed = ok;
                        reply("auth", ok, msg, &req_id)
                    }
                    "subscribe" if !authed => reply("subscribe", false, "Request not authorized", &req_id),
                    "subscribe" => {
                        for t in v.get("args").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                            topics.insert(t.split('.').next().unwrap_or(t).to_string());
                        }
                        reply("subscribe", true, "", &req_id)
                    }
                    "ping" => json!({"req_id": req_id, "op": "pong", "args": [sh.now_ms().to_string()], "conn_id": "sim"}).to_string(),
                    _ => reply("unknown", false, "unknown op", &req_id),
                };
                if tx.send(Message::text(out)).await.is_err() {
                    return;
                }
            }
            ev = events.recv() => {
                let ev = match ev {
                    Ok(ev) => ev,
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                };
                if let Some(push) = render_event(&sh, &ev, &topics)
                    && tx.send(Message::text(push)).await.is_err()
                {
                    return;
                }
            }
        }
    }
}

fn check_auth(sh: &Shared, v: &Value) -> (bool, &'static str) {
    let args = v
        .get("args")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let key = args.first().and_then(Value::as_str).unwrap_or_default();
    let expires = args
        .get(1)
        .and_then(|e| {
            e.as_i64()
                .or_else(|| e.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(0);
    let sign = args.get(2).and_then(Value::as_str).unwrap_or_default();
    if key != sh.options.api_key {
        return (false, "Invalid apikey");
    }
    if expires <= sh.now_ms() {
        return (false, "Params Error: auth expired");
    }
    if !verify_hex(
        &sh.options.api_secret,
        format!("GET/realtime{expires}").as_bytes(),
        sign,
    ) {
        return (false, "Invalid sign");
    }
    (true, "")
}

fn render_event(sh: &Shared, ev: &SimEvent, topics: &BTreeSet<String>) -> Option<String> {
    let now = sh.now_ms();
    match ev {
        SimEvent::Order { order: o, .. } if topics.contains("order") => Some(
            json!({"id": format!("o-{}", o.order_id), "topic": "order", "creationTime": now, "data": [render::order_push(o)]}).to_string(),
        ),
        SimEvent::Position { symbol, .. } if topics.contains("position") => {
            let ex = sh.exchange();
            let row = render::position_push(&ex, symbol, 0, now);
            Some(json!({"id": format!("p-{now}"), "topic": "position", "creationTime": now, "data": [row]}).to_string())
        }
        _ => None,
    }
}
