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
use serde_json::{Value, json};

use super::VENUE;
use super::auth::sign;
use super::contracts::ContractBook;
use super::http::MexcHttp;
use super::json::quote_numbers;
use super::models::{OrderRow, PositionRow};
use crate::VenueError;
use crate::tracker::OrderTracker;
use crate::ws::{Handled, StreamSession};

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
                if let Ok(row) = serde_json::from_value::<OrderRow>(data) {
                    match self.contracts.contract_size(&row.symbol) {
                        Some(cs) => match row.to_status(cs) {
                            Ok(Some(status)) => self.tracker.update(status),
                            Ok(None) => {}
                            Err(e) => {
                                tracing::warn!(venue = VENUE, error = %e, "unreadable order push");
                            }
                        },
                        None => {
                            tracing::debug!(venue = VENUE, symbol = %row.symbol, "order push for an uncached contract")
                        }
                    }
                }
                Handled::Ok
            }
            "push.personal.position" => {
                if let Ok(row) = serde_json::from_value::<PositionRow>(data)
                    && let Some(cs) = self.contracts.contract_size(&row.symbol)
                {
                    match row.to_position(cs) {
                        Ok(p) => self.tracker.update_position(p),
                        Err(e) => {
                            tracing::warn!(venue = VENUE, error = %e, "unreadable position push");
                        }
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
