//! Binance's user-data stream
//! (https://developers.binance.com/docs/derivatives/usds-margined-futures/user-data-streams): a
//! listen key from `POST /fapi/v1/listenKey` is the URL's only credential; it is refreshed with
//! `PUT` every 30 minutes and a `listenKeyExpired` event forces a reconnect with a new key.
//! `ORDER_TRADE_UPDATE` feeds the [`OrderTracker`] (and, since REST order objects carry no
//! commission, the fee per order, summed over `TRADE` executions); `ACCOUNT_UPDATE` positions are
//! kept for inspection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde_json::Value;
use tradeengine_model::{ClientOrderId, OrderStatus, Position};

use super::VENUE;
use super::http::{Auth, BinanceHttp};
use super::models::{AccountUpdatePosition, OrderUpdate, STREAM_ACCOUNT, STREAM_ORDER};
use crate::http::{Method, Query};
use crate::parse::{in_reply, push_rows, reply};
use crate::tracker::OrderTracker;
use crate::ws::{Handled, StreamSession};
use crate::{VenueError, VenueErrorKind};

/// Fees per client order id from the stream's `TRADE` events, with the quantity those trades
/// filled: a finished order's fee is taken from here only when the stream saw every one of its
/// executions (a reconnect can miss some); else it is read from the order's trades by REST.
#[derive(Debug, Default)]
pub struct FeeBook(Mutex<HashMap<String, (Decimal, Decimal)>>);

impl FeeBook {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Decimal, Decimal)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds one execution's fee and quantity; returns the order's fee so far.
    pub fn add(&self, id: &str, fee: Decimal, qty: Decimal) -> Decimal {
        let mut m = self.lock();
        if m.len() > 8192 {
            m.clear();
        }
        let total = m.entry(id.to_string()).or_default();
        total.0 += fee;
        total.1 += qty;
        total.0
    }

    /// The order's fee so far as the stream reported it (0 when it reported none).
    pub fn get(&self, id: &str) -> Decimal {
        self.lock().get(id).map(|t| t.0).unwrap_or_default()
    }

    /// The order's fee, when the stream's executions cover `filled`.
    pub fn covering(&self, id: &str, filled: Decimal) -> Option<Decimal> {
        self.lock()
            .get(id)
            .filter(|(_, qty)| *qty >= filled)
            .map(|(fee, _)| *fee)
    }
}

#[derive(Debug)]
pub struct BinanceStream {
    /// `wss://fstream.binance.com/ws` or the simulator's `ws://HOST/ws`.
    pub ws_base: String,
    pub http: Arc<BinanceHttp>,
    pub tracker: Arc<OrderTracker>,
    pub fees: Arc<FeeBook>,
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The order status in one `ORDER_TRADE_UPDATE` event's `o` object, read strictly, with the
/// order's commission so far (`fees` adds this event's when it is a `TRADE`); `Ok(None)` for an
/// order the engine did not place.
pub fn order_update(o: Value, fees: &FeeBook) -> Result<Option<OrderStatus>, VenueError> {
    let update: OrderUpdate = reply(VENUE, STREAM_ORDER, o)?;
    if ClientOrderId::new(&update.client_order_id).is_err() {
        return Ok(None);
    }
    let fee_now = update.commission().map_err(in_reply(STREAM_ORDER))?;
    let fee = if update.execution_type == "TRADE" {
        let qty = update.last_qty().map_err(in_reply(STREAM_ORDER))?;
        fees.add(&update.client_order_id, fee_now, qty)
    } else {
        fees.get(&update.client_order_id)
    };
    update.to_status(fee).map_err(in_reply(STREAM_ORDER))
}

/// The positions in one `ACCOUNT_UPDATE` event (`a.P`), each read strictly.
pub fn position_updates(event: &Value) -> Vec<Result<Position, VenueError>> {
    let rows = event.pointer("/a/P").cloned().unwrap_or(Value::Null);
    push_rows::<AccountUpdatePosition>(VENUE, STREAM_ACCOUNT, "a.P", rows)
        .into_iter()
        .map(|row| row.and_then(|r| r.to_position().map_err(in_reply(STREAM_ACCOUNT))))
        .collect()
}

#[async_trait]
impl StreamSession for BinanceStream {
    fn venue(&self) -> &'static str {
        VENUE
    }

    async fn url(&self) -> Result<String, VenueError> {
        let v = self
            .http
            .request(
                Method::Post,
                "/fapi/v1/listenKey",
                &Query::new(),
                Auth::KeyOnly,
                1,
                false,
            )
            .await?;
        let key = text(&v, "listenKey");
        if key.is_empty() {
            return Err(VenueError::new(
                VENUE,
                VenueErrorKind::Internal,
                "listen key missing from the reply",
            ));
        }
        Ok(format!("{}/{key}", self.ws_base.trim_end_matches('/')))
    }

    fn greeting(&self) -> Vec<String> {
        Vec::new()
    }

    fn handle(&self, raw: &str) -> Handled {
        let Ok(v) = serde_json::from_str::<Value>(raw) else {
            return Handled::Ok;
        };
        match text(&v, "e") {
            "ORDER_TRADE_UPDATE" => {
                let o = v.get("o").cloned().unwrap_or(Value::Null);
                match order_update(o, &self.fees) {
                    Ok(Some(s)) => self.tracker.update(s),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(venue = VENUE, error = %e, "unreadable order push")
                    }
                }
            }
            "ACCOUNT_UPDATE" => {
                for parsed in position_updates(&v) {
                    match parsed {
                        Ok(pos) => self.tracker.update_position(pos),
                        Err(e) => {
                            tracing::warn!(venue = VENUE, error = %e, "unreadable position push")
                        }
                    }
                }
            }
            "listenKeyExpired" => return Handled::Reconnect("listen key expired".into()),
            _ => {}
        }
        Handled::Ok
    }

    fn ping_frame(&self) -> Option<String> {
        None
    }

    fn heartbeat(&self) -> Duration {
        Duration::from_secs(60)
    }

    fn keepalive_every(&self) -> Option<Duration> {
        Some(Duration::from_secs(30 * 60))
    }

    async fn keepalive(&self) -> Result<(), VenueError> {
        self.http
            .request(
                Method::Put,
                "/fapi/v1/listenKey",
                &Query::new(),
                Auth::KeyOnly,
                1,
                false,
            )
            .await
            .map(|_| ())
    }
}
