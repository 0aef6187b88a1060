//! BloFin's private stream (`/ws/private`, https://docs.blofin.com/index.html, "WebSocket"):
//! `login` with a signature over `/users/self/verify` + `GET` + timestamp + nonce, then `subscribe`
//! to `orders` and `positions`; the text `ping` every 25 s (BloFin drops a connection silent for 30
//! s) is answered with `pong`. Order pushes feed the [`OrderTracker`], converted from contracts
//! with the cached instrument; a push for an instrument not cached yet is skipped (REST answers
//! for it instead).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use tradeengine_model::{Instrument, OrderStatus, Position};

use super::VENUE;
use super::auth::sign_ws_login;
use super::http::BlofinHttp;
use super::models::{OrderRow, PositionRow, STREAM_ORDERS, STREAM_POSITIONS};
use crate::VenueError;
use crate::parse::{in_reply, push_rows};
use crate::tracker::OrderTracker;
use crate::ws::{Handled, StreamSession};

/// Instruments by BloFin `instId`, shared by the venue (which fills it) and the stream.
pub type ByInstId = crate::instruments::VenueIndex;

/// The order statuses in one `orders` push (`data`), each row read strictly and converted from
/// contracts with `instrument` (by `instId`); `Ok(None)` for an order the engine did not place
/// or on an instrument not cached yet (REST answers for it instead).
pub fn order_updates(
    data: Value,
    instrument: impl Fn(&str) -> Option<Instrument>,
) -> Vec<Result<Option<OrderStatus>, VenueError>> {
    push_rows::<OrderRow>(VENUE, STREAM_ORDERS, "data", data)
        .into_iter()
        .map(|row| {
            let row = row?;
            match instrument(&row.inst_id) {
                Some(i) => row.to_status(&i).map_err(in_reply(STREAM_ORDERS)),
                None => Ok(None),
            }
        })
        .collect()
}

/// The positions in one `positions` push (`data`), each row read strictly; `Ok(None)` on an
/// instrument not cached yet.
pub fn position_updates(
    data: Value,
    instrument: impl Fn(&str) -> Option<Instrument>,
) -> Vec<Result<Option<Position>, VenueError>> {
    push_rows::<PositionRow>(VENUE, STREAM_POSITIONS, "data", data)
        .into_iter()
        .map(|row| {
            let row = row?;
            match instrument(&row.inst_id) {
                Some(i) => row
                    .to_position(&i)
                    .map(Some)
                    .map_err(in_reply(STREAM_POSITIONS)),
                None => Ok(None),
            }
        })
        .collect()
}

#[derive(Debug)]
pub struct BlofinStream {
    pub url: String,
    pub http: Arc<BlofinHttp>,
    pub tracker: Arc<OrderTracker>,
    pub instruments: ByInstId,
}

impl BlofinStream {
    fn instrument(&self, inst_id: &str) -> Option<Instrument> {
        self.instruments
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(inst_id)
            .cloned()
    }
}

#[async_trait]
impl StreamSession for BlofinStream {
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
        let Some(passphrase) = creds.passphrase() else {
            return Vec::new();
        };
        let ts = self.http.clock.venue_ms();
        let nonce = self.http.nonce();
        let sign = sign_ws_login(creds.secret(), ts, &nonce);
        vec![
            json!({"op": "login", "args": [{
                "apiKey": creds.key(), "passphrase": passphrase,
                "timestamp": ts.to_string(), "sign": sign, "nonce": nonce,
            }]})
            .to_string(),
            json!({"op": "subscribe", "args": [{"channel": "orders"}, {"channel": "positions"}]})
                .to_string(),
        ]
    }

    fn handle(&self, text: &str) -> Handled {
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            // `pong`, the answer to our text ping.
            return Handled::Ok;
        };
        let channel = v
            .pointer("/arg/channel")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(event) = v.get("event").and_then(Value::as_str) {
            let code = match v.get("code") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => "0".into(),
            };
            let msg = v.get("msg").and_then(Value::as_str).unwrap_or_default();
            return match event {
                "login" if code != "0" => {
                    Handled::Reconnect(format!("login refused ({code}): {msg}"))
                }
                "error" => Handled::Reconnect(format!("stream error ({code}): {msg}")),
                "subscribe" if channel == "orders" => Handled::Ready,
                _ => Handled::Ok,
            };
        }
        let data = v.get("data").cloned().unwrap_or(Value::Null);
        let by_inst_id = |inst_id: &str| self.instrument(inst_id);
        match channel {
            "orders" => {
                for update in order_updates(data, by_inst_id) {
                    match update {
                        Ok(Some(status)) => self.tracker.update(status),
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(venue = VENUE, error = %e, "unreadable order push")
                        }
                    }
                }
            }
            "positions" => {
                for update in position_updates(data, by_inst_id) {
                    match update {
                        Ok(Some(p)) => self.tracker.update_position(p),
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(venue = VENUE, error = %e, "unreadable position push")
                        }
                    }
                }
            }
            _ => {}
        }
        Handled::Ok
    }

    fn ping_frame(&self) -> Option<String> {
        Some("ping".to_string())
    }

    fn heartbeat(&self) -> Duration {
        Duration::from_secs(25)
    }
}
