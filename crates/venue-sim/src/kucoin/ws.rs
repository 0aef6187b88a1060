//! KuCoin Futures' private stream: connect with `?token=…&connectId=…` (a token from
//! `bullet-private`), receive `welcome`, `subscribe` to `/contractMarket/tradeOrders` and
//! `/contract/positionAll` (acknowledged with `ack`), `ping` → `pong`. Order changes push
//! `subject: orderChange` with `type` open / match / canceled and `status` open / match / done;
//! executions carry `matchSize` and `matchPrice`.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::{contract, render};
use crate::Shared;
use crate::book::{Exchange, SimEvent, SimOrder, SimStatus};
use crate::form;

pub async fn upgrade(
    State(sh): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
    ws: WebSocketUpgrade,
) -> Response {
    let q = form::parse(raw.as_deref().unwrap_or_default());
    let token = q.get("token").cloned().unwrap_or_default();
    let known = sh
        .listen_keys
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains(&token);
    if !known {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            "token is invalid or expired",
        )
            .into_response();
    }
    let connect_id = q.get("connectId").cloned().unwrap_or_default();
    ws.on_upgrade(move |socket| session(sh, socket, connect_id))
}

async fn session(sh: Arc<Shared>, socket: WebSocket, connect_id: String) {
    sh.counters.stream_connected();
    let (mut tx, mut rx) = socket.split();
    let mut events = sh.events.subscribe();
    let mut epoch = sh.faults.stream_epoch();
    epoch.borrow_and_update();
    let welcome = json!({"id": connect_id, "type": "welcome"}).to_string();
    if tx.send(Message::text(welcome)).await.is_err() {
        return;
    }
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
                let id = v.get("id").cloned().unwrap_or(Value::Null);
                let out = match v.get("type").and_then(Value::as_str).unwrap_or_default() {
                    "ping" => json!({"id": id, "type": "pong"}),
                    "subscribe" => {
                        let topic = v.get("topic").and_then(Value::as_str).unwrap_or_default();
                        topics.insert(topic.split(':').next().unwrap_or(topic).to_string());
                        json!({"id": id, "type": "ack"})
                    }
                    _ => json!({"id": id, "type": "error", "code": 400, "data": "unknown type"}),
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
                if let Some(push) = render_event(&sh, &ev, &topics)
                    && tx.send(Message::text(push)).await.is_err()
                {
                    return;
                }
            }
        }
    }
}

fn order_change(ex: &Exchange, o: &SimOrder, trade: bool, now_ms: i64) -> Value {
    let kind = match (trade, o.status) {
        (true, _) => "match",
        (false, SimStatus::New) => "open",
        (false, SimStatus::Filled) => "filled",
        (false, _) => "canceled",
    };
    let status = if o.status.is_open() {
        if trade { "match" } else { "open" }
    } else {
        "done"
    };
    let mut data = json!({
        "orderId": o.order_id.to_string(), "symbol": contract(&o.symbol), "type": kind,
        "status": status, "orderType": if o.price.is_some() { "limit" } else { "market" },
        "side": if o.side == tradeengine_model::Side::Buy { "buy" } else { "sell" },
        "price": o.price.map(|p| p.normalize().to_string()).unwrap_or_default(),
        "size": render::lots(ex, &o.symbol, o.qty).to_string(),
        "remainSize": render::lots(ex, &o.symbol, if o.status.is_open() { o.qty - o.filled } else { Decimal::ZERO }).to_string(),
        "filledSize": render::lots(ex, &o.symbol, o.filled).to_string(),
        "canceledSize": render::lots(ex, &o.symbol, if o.status.is_open() { Decimal::ZERO } else { o.qty - o.filled }).to_string(),
        "clientOid": o.client_id, "reduceOnly": o.reduce_only, "liquidity": "taker",
        "orderTime": o.created_ms * 1_000_000, "ts": now_ms * 1_000_000,
    });
    if trade && let Some((q, p)) = o.last_fill {
        data["matchSize"] = json!(render::lots(ex, &o.symbol, q).to_string());
        data["matchPrice"] = json!(p.normalize().to_string());
        data["tradeId"] = json!(format!("t-{}-{}", o.order_id, now_ms));
    }
    data
}

fn render_event(sh: &Shared, ev: &SimEvent, topics: &BTreeSet<String>) -> Option<String> {
    let now = sh.now_ms();
    match ev {
        SimEvent::Order { order, trade } if topics.contains("/contractMarket/tradeOrders") => {
            let data = order_change(&sh.exchange(), order, *trade, now);
            Some(
                json!({"type": "message", "topic": "/contractMarket/tradeOrders", "subject": "orderChange",
                    "channelType": "private", "data": data})
                .to_string(),
            )
        }
        SimEvent::Position { symbol, .. } if topics.contains("/contract/positionAll") => {
            let ex = sh.exchange();
            let row = render::position(&ex, symbol);
            Some(json!({"type": "message", "topic": format!("/contract/position:{}", contract(symbol)),
                "subject": "position.change", "channelType": "private", "data": row}).to_string())
        }
        _ => None,
    }
}
