//! Bybit's private stream (`/v5/private`, https://bybit-exchange.github.io/docs/v5/ws/connect):
//! `auth` with a signature over `"GET/realtime" + expires`, then `subscribe` to `order` and
//! `position`; `{"op":"ping"}` every 20 s. Order pushes feed the [`OrderTracker`] so a fill is
//! known as soon as Bybit says so; positions are kept for inspection only (REST is read at every
//! reconciliation).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use tradeengine_model::{MarginMode, OrderStatus, Position};

use super::VENUE;
use super::auth::sign_ws_auth;
use super::http::BybitHttp;
use super::models::{OrderRow, PositionRow, STREAM_ORDER, STREAM_POSITION};
use crate::VenueError;
use crate::parse::{in_reply, push_rows};
use crate::tracker::OrderTracker;
use crate::ws::{Handled, StreamSession};

/// How far ahead of the venue's clock the auth signature expires.
const AUTH_EXPIRES_IN_MS: i64 = 10_000;

/// The order statuses in one `order` push (`data`), each row read strictly; `Ok(None)` is an
/// order the engine does not manage.
pub fn order_updates(data: Value) -> Vec<Result<Option<OrderStatus>, VenueError>> {
    push_rows::<OrderRow>(VENUE, STREAM_ORDER, "data", data)
        .into_iter()
        .map(|row| row.and_then(|r| r.to_status().map_err(in_reply(STREAM_ORDER))))
        .collect()
}

/// The positions in one `position` push (`data`), each row read strictly. The margin mode is
/// not in the push (it is account-wide on a unified account); REST is read at every
/// reconciliation, so these are for inspection only.
pub fn position_updates(data: Value) -> Vec<Result<Position, VenueError>> {
    push_rows::<PositionRow>(VENUE, STREAM_POSITION, "data", data)
        .into_iter()
        .map(|row| {
            row.and_then(|r| {
                r.to_position(MarginMode::Cross)
                    .map_err(in_reply(STREAM_POSITION))
            })
        })
        .collect()
}

#[derive(Debug)]
pub struct BybitStream {
    pub url: String,
    pub http: Arc<BybitHttp>,
    pub tracker: Arc<OrderTracker>,
}

#[async_trait]
impl StreamSession for BybitStream {
    fn venue(&self) -> &'static str {
        VENUE
    }

    async fn url(&self) -> Result<String, VenueError> {
        Ok(self.url.clone())
    }

    fn greeting(&self) -> Vec<String> {
        let Some(creds) = self.http.credentials() else {
            return Vec::new();
        };
        let expires = self
            .http
            .clock
            .venue_ms()
            .saturating_add(AUTH_EXPIRES_IN_MS);
        let sign = sign_ws_auth(creds.secret(), expires);
        vec![
            json!({"req_id": "auth", "op": "auth", "args": [creds.key(), expires, sign]})
                .to_string(),
            json!({"req_id": "sub", "op": "subscribe", "args": ["order", "position"]}).to_string(),
        ]
    }

    fn handle(&self, text: &str) -> Handled {
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return Handled::Ok;
        };
        if let Some(op) = v.get("op").and_then(Value::as_str) {
            let success = v.get("success").and_then(Value::as_bool).unwrap_or(true);
            let msg = v.get("ret_msg").and_then(Value::as_str).unwrap_or_default();
            return match (op, success) {
                ("auth", false) => Handled::Reconnect(format!("authentication refused: {msg}")),
                ("subscribe", false) => Handled::Reconnect(format!("subscription refused: {msg}")),
                ("subscribe", true) => Handled::Ready,
                _ => Handled::Ok,
            };
        }
        let topic = v.get("topic").and_then(Value::as_str).unwrap_or_default();
        let data = v.get("data").cloned().unwrap_or(Value::Null);
        if topic.starts_with("order") {
            for update in order_updates(data) {
                match update {
                    Ok(Some(status)) => self.tracker.update(status),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(venue = VENUE, error = %e, "unreadable order push"),
                }
            }
        } else if topic.starts_with("position") {
            for update in position_updates(data) {
                match update {
                    Ok(p) => self.tracker.update_position(p),
                    Err(e) => tracing::warn!(venue = VENUE, error = %e, "unreadable position push"),
                }
            }
        }
        Handled::Ok
    }

    fn ping_frame(&self) -> Option<String> {
        Some(json!({"req_id": "ping", "op": "ping"}).to_string())
    }

    fn heartbeat(&self) -> Duration {
        Duration::from_secs(20)
    }
}
