//! MEXC's private stream at `/edge`: `login` (`apiKey`, `reqTime`, hex HMAC of
//! `apiKey + reqTime`) answered by `rs.login` or `rs.error`; then `push.personal.order` and
//! `push.personal.position` for every change, without subscribing; `ping` is answered with
//! `pong`.

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

async fn session(sh: Arc<Shared>, socket: WebSocket) {
    sh.counters.stream_connected();
    let (mut tx, mut rx) = socket.split();
    let mut events = sh.events.subscribe();
    let mut epoch = sh.faults.stream_epoch();
    epoch.borrow_and_update();
    let mut logged_in = false;
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
                let now = sh.now_ms();
                let out = match v.get("method").and_then(Value::as_str).unwrap_or_default() {
                    "login" => match check_login(&sh, &v) {
                        Ok(()) => {
                            logged_in = true;
                            json!({"channel": "rs.login", "data": "success", "ts": now})
                        }
                        Err(why) => json!({"channel": "rs.error", "data": why, "ts": now}),
                    },
                    "ping" => json!({"channel": "pong", "data": now}),
                    other => json!({"channel": "rs.error", "data": format!("unknown method {other}"), "ts": now}),
                };
                if tx.send(Message::text(out.to_string())).await.is_err() {
                    return;
                }
            }
            ev = events.recv() => {
                let ev = match ev {
                    Ok(ev) => ev,
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                };
                if !logged_in {
                    continue;
                }
                if let Some(push) = render_event(&sh, &ev)
                    && tx.send(Message::text(push)).await.is_err()
                {
                    return;
                }
            }
        }
    }
}

fn check_login(sh: &Shared, v: &Value) -> Result<(), &'static str> {
    let param = v.get("param").cloned().unwrap_or(Value::Null);
    let field = |k: &str| {
        param
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let key = field("apiKey");
    let req_time = field("reqTime");
    if key != sh.options.api_key {
        return Err("Invalid apiKey");
    }
    let Ok(ts) = req_time.parse::<i64>() else {
        return Err("Invalid reqTime");
    };
    let now = sh.now_ms();
    if ts < now - 10_000 || ts > now + 2000 {
        return Err("Request time out of range");
    }
    if !verify_hex(
        &sh.options.api_secret,
        format!("{key}{req_time}").as_bytes(),
        &field("signature"),
    ) {
        return Err("Signature verification failed");
    }
    Ok(())
}

fn render_event(sh: &Shared, ev: &SimEvent) -> Option<String> {
    let now = sh.now_ms();
    let ex = sh.exchange();
    match ev {
        SimEvent::Order { order, .. } => Some(
            json!({"channel": "push.personal.order", "data": render::order(&ex, order), "ts": now})
                .to_string(),
        ),
        SimEvent::Position { symbol, .. } => Some(
            json!({"channel": "push.personal.position", "data": render::position_push(&ex, symbol, now), "ts": now})
                .to_string(),
        ),
        SimEvent::Wallet { .. } => None,
    }
}
