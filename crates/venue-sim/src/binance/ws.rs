//! Binance's user-data stream at `/ws/<listenKey>`: no messages in, `ORDER_TRADE_UPDATE` and
//! `ACCOUNT_UPDATE` out. An unknown listen key is refused before the upgrade.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use super::render;
use crate::Shared;
use crate::book::SimEvent;

pub async fn upgrade(
    State(sh): State<Arc<Shared>>,
    Path(key): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    if !sh
        .listen_keys
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains(&key)
    {
        return super::bad(-1125, "This listenKey does not exist.").into_response();
    }
    ws.on_upgrade(move |socket| session(sh, socket))
}

async fn session(sh: Arc<Shared>, socket: WebSocket) {
    sh.counters.stream_connected();
    let (mut tx, mut rx) = socket.split();
    let mut events = sh.events.subscribe();
    let mut epoch = sh.faults.stream_epoch();
    epoch.borrow_and_update();
    loop {
        tokio::select! {
            _ = epoch.changed() => return,
            msg = rx.next() => match msg {
                Some(Ok(Message::Ping(p))) => {
                    if tx.send(Message::Pong(p)).await.is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                _ => return,
            },
            ev = events.recv() => {
                let now = sh.now_ms();
                let push = match ev {
                    Ok(SimEvent::Order { order, trade }) => render::order_update(&order, trade, sh.options.taker_fee_rate, now),
                    Ok(SimEvent::Position { symbol, .. }) => {
                        let ex = sh.exchange();
                        render::account_update(&ex, &symbol, now)
                    }
                    Ok(SimEvent::Wallet { .. }) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                };
                if tx.send(Message::text(push.to_string())).await.is_err() {
                    return;
                }
            }
        }
    }
}
