//! The WebSocket at `/ws` (<https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket>),
//! with the two user subscriptions an engine needs:
//! - `{"method": "subscribe", "subscription": {"type": "orderUpdates", "user": ADDRESS}}`:
//!   `{"channel": "orderUpdates", "data": [WsOrder]}` at every change of one of the user's
//!   orders, `WsOrder` being `{order: {coin, side, limitPx, sz, oid, timestamp, origSz, cloid},
//!   status, statusTimestamp}` with `sz` what is left;
//! - `{… "type": "userFills", "user": ADDRESS}`: first the snapshot `{"channel": "userFills",
//!   "data": {"isSnapshot": true, "user", "fills": [WsFill, …]}}`, then each new fill with
//!   `isSnapshot: false` ([`super::fills`] keeps the rows, so ids agree with REST `userFills`).
//!
//! Each subscription is acknowledged `{"channel": "subscriptionResponse", "data": <the request>}`
//! (the documented wscat example); `{"method": "ping"}` is answered `{"channel": "pong"}`
//! ("Timeouts and heartbeats"); anything else is answered `{"channel": "error", "data": …}`
//! (the documentation describes no answer to a bad subscription; this is what servers
//! wire-compatible with the exchange's send).
//! Subscribing needs no signature: any address may be watched; addresses other than the
//! simulated account have no orders or fills. [`crate::Faults::drop_streams`] closes every
//! connection; a client that subscribes again gets a fresh snapshot.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tradeengine_model::Side;

use super::{coin_of, lock, master, state};
use crate::Shared;
use crate::book::{SimEvent, SimOrder, SimStatus};

pub async fn upgrade(State(sh): State<Arc<Shared>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(sh, socket))
}

/// What one connection is subscribed to, for the simulated account only.
#[derive(Debug, Default)]
struct Subscribed {
    orders: bool,
    fills: bool,
    /// The last fill sent (its `seq` in the log).
    cursor: u64,
}

fn s(d: rust_decimal::Decimal) -> String {
    d.normalize().to_string()
}

/// The documented `WsOrder` of one order.
pub fn ws_order(o: &SimOrder) -> Value {
    let status = match o.status {
        SimStatus::New | SimStatus::PartiallyFilled => "open",
        SimStatus::Filled => "filled",
        SimStatus::Cancelled | SimStatus::PartiallyFilledCancelled => "canceled",
    };
    let mut order = json!({
        "coin": coin_of(&o.symbol), "side": if o.side == Side::Buy { "B" } else { "A" },
        "limitPx": s(o.price.unwrap_or_default()), "sz": s(o.qty - o.filled),
        "oid": o.order_id, "timestamp": o.created_ms, "origSz": s(o.qty),
    });
    if !o.client_id.is_empty() {
        order["cloid"] = json!(o.client_id);
    }
    json!({"order": order, "status": status, "statusTimestamp": o.updated_ms})
}

/// The fills after `cursor` as one push (`None` when there are none), and the new cursor.
fn fills_push(sh: &Shared, user: &str, cursor: u64, snapshot: bool) -> (Option<String>, u64) {
    let ex = sh.exchange();
    let mut hl = lock(state(sh));
    hl.fills.sync(&ex);
    let rows: Vec<Value> = hl.fills.after(cursor).iter().map(|f| f.row()).collect();
    let last = hl.fills.last_seq();
    if rows.is_empty() && !snapshot {
        return (None, last);
    }
    let data = json!({"isSnapshot": snapshot, "user": user, "fills": rows});
    (
        Some(json!({"channel": "userFills", "data": data}).to_string()),
        last,
    )
}

/// Answers one client frame; may update the subscriptions. Returns the frames to send.
fn answer(sh: &Shared, text: &str, subs: &mut Subscribed) -> Vec<String> {
    let error = |why: &str| vec![json!({"channel": "error", "data": why}).to_string()];
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return error(&format!("Invalid message: {text:.80}"));
    };
    let method = v.get("method").and_then(Value::as_str).unwrap_or_default();
    if method == "ping" {
        return vec![json!({"channel": "pong"}).to_string()];
    }
    let kind = v.pointer("/subscription/type").and_then(Value::as_str);
    let user = v
        .pointer("/subscription/user")
        .and_then(Value::as_str)
        .map(str::to_lowercase);
    let (Some(kind), Some(user)) = (kind, user) else {
        return error(&format!("Invalid subscription: {text:.80}"));
    };
    let is_address = user.len() == 42
        && user.starts_with("0x")
        && user[2..].chars().all(|c| c.is_ascii_hexdigit());
    if !matches!(method, "subscribe" | "unsubscribe") || !is_address {
        return error(&format!("Invalid subscription: {text:.80}"));
    }
    let on = method == "subscribe";
    let ours = user == master(sh);
    let ack = json!({"channel": "subscriptionResponse", "data": v}).to_string();
    match kind {
        "orderUpdates" => {
            subs.orders = on && ours;
            vec![ack]
        }
        "userFills" => {
            subs.fills = on && ours;
            if !on {
                return vec![ack];
            }
            let (snapshot, cursor) = if ours {
                fills_push(sh, &user, 0, true)
            } else {
                let data = json!({"isSnapshot": true, "user": user, "fills": []});
                (
                    Some(json!({"channel": "userFills", "data": data}).to_string()),
                    0,
                )
            };
            subs.cursor = cursor;
            std::iter::once(ack).chain(snapshot).collect()
        }
        other => error(&format!(
            "The simulator serves orderUpdates and userFills, not {other}"
        )),
    }
}

/// The pushes one book event makes on a connection: the order's update, then any new fills.
fn pushes(sh: &Shared, ev: &SimEvent, subs: &mut Subscribed) -> Vec<String> {
    let SimEvent::Order { order, trade } = ev else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if subs.orders {
        out.push(json!({"channel": "orderUpdates", "data": [ws_order(order)]}).to_string());
    }
    if subs.fills && *trade {
        let (push, cursor) = fills_push(sh, &master(sh), subs.cursor, false);
        subs.cursor = cursor;
        out.extend(push);
    }
    out
}

async fn session(sh: Arc<Shared>, socket: WebSocket) {
    sh.counters.stream_connected();
    let (mut tx, mut rx) = socket.split();
    let mut events = sh.events.subscribe();
    let mut epoch = sh.faults.stream_epoch();
    epoch.borrow_and_update();
    let mut subs = Subscribed::default();
    // The server's plain-text greeting (the SDK's `websocket_manager.py` skips it).
    if tx
        .send(Message::text("Websocket connection established."))
        .await
        .is_err()
    {
        return;
    }
    loop {
        let out = tokio::select! {
            // A dropped stream drops before anything else is sent.
            biased;
            _ = epoch.changed() => return,
            msg = rx.next() => match msg {
                Some(Ok(Message::Text(t))) => answer(&sh, t.as_str(), &mut subs),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Binary(_))) => continue,
                _ => return,
            },
            ev = events.recv() => match ev {
                Ok(ev) => pushes(&sh, &ev, &mut subs),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return,
            },
        };
        for frame in out {
            if tx.send(Message::text(frame)).await.is_err() {
                return;
            }
        }
    }
}
