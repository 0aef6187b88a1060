//! MEXC's private stream (`wss://contract.mexc.com/edge`,
//! https://mexcdevelop.github.io/apidocs/contract_v1_en/): `login` with `hex(HMAC(secret, apiKey +
//! reqTime))`, answered by `rs.login` (or `rs.error`); then order and position pushes arrive
//! without subscribing. `{"method":"ping"}` every 15 s (MEXC drops a connection silent for a
//! minute). Order pushes feed the [`OrderTracker`]; pushes are in contracts and are converted with
//! the cached contract sizes (a push for a contract not yet cached is skipped: REST answers for
//! it).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tradeengine_model::{OrderStatus, Position};

use super::VENUE;
use super::auth::sign;
use super::contracts::ContractBook;
use super::http::MexcHttp;
use super::json::quote_numbers;
use super::models::{OrderRow, PositionRow, STREAM_ORDER, STREAM_POSITION};
use crate::VenueError;
use crate::parse::{in_reply, reply};
use crate::tracker::OrderTracker;
use crate::ws::{Handled, StreamSession};

/// The order status in one `push.personal.order` (`data`, numbers already quoted), read
/// strictly and converted from contracts with `contract_size` (by MEXC symbol); `Ok(None)` for
/// an order the engine did not place or a contract not cached yet (REST answers for it).
pub fn order_push(
    data: Value,
    contract_size: impl Fn(&str) -> Option<Decimal>,
) -> Result<Option<OrderStatus>, VenueError> {
    let row: OrderRow = reply(VENUE, STREAM_ORDER, data)?;
    match contract_size(&row.symbol) {
        Some(cs) => row.to_status(cs).map_err(in_reply(STREAM_ORDER)),
        None => {
            tracing::debug!(venue = VENUE, symbol = %row.symbol, "order push for an uncached contract");
            Ok(None)
        }
    }
}

/// The position in one `push.personal.position` (`data`, numbers already quoted), read
/// strictly; `Ok(None)` for a contract not cached yet.
pub fn position_push(
    data: Value,
    contract_size: impl Fn(&str) -> Option<Decimal>,
) -> Result<Option<Position>, VenueError> {
    let row: PositionRow = reply(VENUE, STREAM_POSITION, data)?;
    match contract_size(&row.symbol) {
        Some(cs) => row
            .to_position(cs)
            .map(Some)
            .map_err(in_reply(STREAM_POSITION)),
        None => Ok(None),
    }
}

#[derive(Debug)]
pub struct MexcStream {
    pub url: String,
    pub http: Arc<MexcHttp>,
    pub tracker: Arc<OrderTracker>,
    pub contracts: Arc<ContractBook>,
}

#[async_trait]
impl StreamSession for MexcStream {
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
        let req_time = self.http.clock.venue_ms();
        let signature = sign(creds.secret(), creds.key(), req_time, "");
        vec![
            json!({"method": "login", "param": {"apiKey": creds.key(), "reqTime": req_time.to_string(), "signature": signature}})
                .to_string(),
        ]
    }

    fn handle(&self, text: &str) -> Handled {
        let Ok(v) = serde_json::from_slice::<Value>(&quote_numbers(text.as_bytes())) else {
            return Handled::Ok;
        };
        let channel = v.get("channel").and_then(Value::as_str).unwrap_or_default();
        let data = v.get("data").cloned().unwrap_or(Value::Null);
        match channel {
            "rs.login" if data.as_str() == Some("success") => Handled::Ready,
            "rs.login" | "rs.error" => Handled::Reconnect(format!(
                "login refused: {}",
                data.as_str().unwrap_or("no reason given")
            )),
            "push.personal.order" => {
                let size = |symbol: &str| self.contracts.contract_size(symbol);
                match order_push(data, size) {
                    Ok(Some(status)) => self.tracker.update(status),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(venue = VENUE, error = %e, "unreadable order push");
                    }
                }
                Handled::Ok
            }
            "push.personal.position" => {
                let size = |symbol: &str| self.contracts.contract_size(symbol);
                match position_push(data, size) {
                    Ok(Some(p)) => self.tracker.update_position(p),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(venue = VENUE, error = %e, "unreadable position push");
                    }
                }
                Handled::Ok
            }
            _ => Handled::Ok,
        }
    }

    fn ping_frame(&self) -> Option<String> {
        Some(json!({"method": "ping"}).to_string())
    }

    fn heartbeat(&self) -> Duration {
        Duration::from_secs(15)
    }
}
