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
use tradeengine_model::{ClientOrderId, MarginMode, OrderStatus, Position, Quantity};

use super::VENUE;
use super::http::{Auth, BinanceHttp};
use super::models::{id_text, order_state, side};
use crate::http::{Method, Query};
use crate::parse::{dec_or_zero, ms, price_opt, symbol};
use crate::tracker::OrderTracker;
use crate::ws::{Handled, StreamSession};
use crate::{VenueError, VenueErrorKind};

/// Fees per client order id, from the stream.
#[derive(Debug, Default)]
pub struct FeeBook(Mutex<HashMap<String, Decimal>>);

impl FeeBook {
    fn add(&self, id: &str, fee: Decimal) -> Decimal {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > 8192 {
            m.clear();
        }
        let total = m.entry(id.to_string()).or_insert(Decimal::ZERO);
        *total += fee;
        *total
    }

    pub fn get(&self, id: &str) -> Decimal {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .copied()
            .unwrap_or_default()
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

impl BinanceStream {
    fn order_update(&self, o: &Value) -> Result<Option<OrderStatus>, VenueError> {
        let c = text(o, "c");
        let Ok(client_order_id) = ClientOrderId::new(c) else {
            return Ok(None);
        };
        let fee_now = dec_or_zero(VENUE, "o.n", text(o, "n"))?;
        let fee = if text(o, "x") == "TRADE" {
            self.fees.add(c, fee_now)
        } else {
            self.fees.get(c)
        };
        Ok(Some(OrderStatus {
            client_order_id,
            venue_order_id: o.get("i").and_then(id_text),
            symbol: symbol(VENUE, text(o, "s"))?,
            side: side(text(o, "S"))?,
            state: order_state(text(o, "X"))
                .ok_or_else(|| crate::parse::bad_reply(VENUE, "o.X", text(o, "X")))?,
            qty: dec_or_zero(VENUE, "o.q", text(o, "q"))?,
            filled_qty: dec_or_zero(VENUE, "o.z", text(o, "z"))?,
            avg_fill_price: price_opt(VENUE, "o.ap", text(o, "ap"))?,
            fee,
            reduce_only: o.get("R").and_then(Value::as_bool).unwrap_or(false),
            updated_at: ms(
                VENUE,
                "o.T",
                o.get("T").and_then(Value::as_i64).unwrap_or(0),
            )?,
        }))
    }
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
                if let Some(o) = v.get("o") {
                    match self.order_update(o) {
                        Ok(Some(s)) => self.tracker.update(s),
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(venue = VENUE, error = %e, "unreadable order push")
                        }
                    }
                }
            }
            "ACCOUNT_UPDATE" => {
                let rows = v
                    .pointer("/a/P")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for p in rows {
                    let parsed = (|| -> Result<Position, VenueError> {
                        let size = dec_or_zero(VENUE, "a.P.pa", text(&p, "pa"))?;
                        Ok(Position {
                            symbol: symbol(VENUE, text(&p, "s"))?,
                            size: Quantity::new(size),
                            entry_price: price_opt(VENUE, "a.P.ep", text(&p, "ep"))?,
                            leverage: Decimal::ONE,
                            margin_mode: if text(&p, "mt") == "isolated" {
                                MarginMode::Isolated
                            } else {
                                MarginMode::Cross
                            },
                        })
                    })();
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
