//! KuCoin Futures' private stream (https://www.kucoin.com/docs/, "WebSocket"): a token from the
//! signed `POST /api/v1/bullet-private` names the endpoint; connect to
//! `<endpoint>?token=…&connectId=…`, read the `welcome`, subscribe to `/contractMarket/tradeOrders`
//! and `/contract/positionAll` (private channels), and send `{"type":"ping"}` every 18 s (KuCoin's
//! `pingInterval`).
//!
//! Order changes feed the [`OrderTracker`], converted from lots with the cached instrument.
//! The push carries the last match's price, not the order's average, so the stream keeps a
//! running `Σ lots × price` per order to report the average fill price.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};
use tradeengine_model::{ClientOrderId, Instrument, OrderState, OrderStatus, Price, Side};

use super::VENUE;
use super::http::{KucoinHttp, weight};
use super::models::{PositionRow, num};
use crate::VenueError;
use crate::http::Query;
use crate::parse::bad_reply;
use crate::tracker::OrderTracker;
use crate::ws::{Handled, StreamSession};

/// Instruments by KuCoin symbol, shared by the venue (which fills it) and the stream.
pub type BySymbol = crate::instruments::VenueIndex;

/// How many orders' running fill values are kept.
const FILL_MEMORY: usize = 4096;

#[derive(Debug)]
pub struct KucoinStream {
    /// Overrides the endpoint KuCoin hands out (tests, proxies).
    pub endpoint: Option<String>,
    pub http: Arc<KucoinHttp>,
    pub tracker: Arc<OrderTracker>,
    pub instruments: BySymbol,
    connects: AtomicU64,
    /// orderId → (lots matched, Σ lots × price).
    fills: Mutex<HashMap<String, (Decimal, Decimal)>>,
}

impl KucoinStream {
    pub fn new(
        endpoint: Option<String>,
        http: Arc<KucoinHttp>,
        tracker: Arc<OrderTracker>,
        instruments: BySymbol,
    ) -> Self {
        Self {
            endpoint,
            http,
            tracker,
            instruments,
            connects: AtomicU64::new(0),
            fills: Mutex::new(HashMap::new()),
        }
    }

    fn instrument(&self, symbol: &str) -> Option<Instrument> {
        self.instruments
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(symbol)
            .cloned()
    }

    fn order_change(&self, data: &Value) -> Result<Option<OrderStatus>, VenueError> {
        let Ok(push) = serde_json::from_value::<OrderPush>(data.clone()) else {
            return Ok(None);
        };
        let Some(i) = self.instrument(&push.symbol) else {
            return Ok(None);
        };
        let Ok(client_order_id) = ClientOrderId::new(&push.client_oid) else {
            return Ok(None);
        };
        let lots = |v: &Value| num(v).unwrap_or_default();
        let (size, filled) = (lots(&push.size), lots(&push.filled_size));
        let avg = {
            let mut fills = self.fills.lock().unwrap_or_else(|p| p.into_inner());
            if push.kind == "match"
                && let (Some(q), Some(p)) = (num(&push.match_size), num(&push.match_price))
            {
                if fills.len() >= FILL_MEMORY && !fills.contains_key(&push.order_id) {
                    fills.clear();
                }
                let entry = fills.entry(push.order_id.clone()).or_default();
                entry.0 += q;
                entry.1 += q * p;
            }
            fills
                .get(&push.order_id)
                .filter(|(q, _)| !q.is_zero())
                .and_then(|(q, v)| v.checked_div(*q))
                .and_then(|p| Price::new(p.round_dp(8).normalize()).ok())
        };
        let state = match push.status.as_str() {
            "done" if size > Decimal::ZERO && filled >= size => OrderState::Filled,
            "done" => OrderState::Cancelled,
            _ if filled.is_zero() => OrderState::Acknowledged,
            _ => OrderState::PartiallyFilled,
        };
        let side = match push.side.as_str() {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            other => return Err(bad_reply(VENUE, "side", other)),
        };
        let base = |field: &str, lots: Decimal| super::models::to_base(&i, field, lots);
        // `ts` is in nanoseconds.
        let ts_ms = num(&push.ts)
            .map(|t| t / Decimal::from(1_000_000))
            .and_then(|t| i64::try_from(t.trunc()).ok())
            .unwrap_or(0);
        Ok(Some(OrderStatus {
            client_order_id,
            venue_order_id: Some(push.order_id.clone()),
            symbol: i.symbol.clone(),
            side,
            state,
            qty: base("size", size)?,
            filled_qty: base("filledSize", filled)?,
            avg_fill_price: avg,
            fee: Decimal::ZERO,
            reduce_only: push.reduce_only,
            updated_at: crate::parse::ms(VENUE, "ts", ts_ms)?,
        }))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct OrderPush {
    order_id: String,
    symbol: String,
    /// `open`, `match`, `filled`, `canceled`, `update`.
    #[serde(rename = "type")]
    kind: String,
    /// `open`, `match`, `done`.
    status: String,
    side: String,
    size: Value,
    filled_size: Value,
    match_size: Value,
    match_price: Value,
    client_oid: String,
    reduce_only: bool,
    ts: Value,
}

#[async_trait]
impl StreamSession for KucoinStream {
    fn venue(&self) -> &'static str {
        VENUE
    }

    /// A fresh token for every connection (tokens are single-use per connection).
    async fn url(&self) -> Result<String, VenueError> {
        let data = self
            .http
            .post("/api/v1/bullet-private", &json!({}), weight::ACCOUNT)
            .await?;
        let token = data
            .get("token")
            .and_then(Value::as_str)
            .ok_or_else(|| bad_reply(VENUE, "bullet-private.token", "missing"))?;
        let endpoint = match &self.endpoint {
            Some(e) => e.clone(),
            None => data
                .pointer("/instanceServers/0/endpoint")
                .and_then(Value::as_str)
                .ok_or_else(|| bad_reply(VENUE, "instanceServers.endpoint", "missing"))?
                .to_string(),
        };
        let n = self.connects.fetch_add(1, Ordering::Relaxed);
        let q = Query::new()
            .with("token", token)
            .with("connectId", format!("te-{n}"));
        Ok(format!("{endpoint}?{}", q.as_str()))
    }

    fn greeting(&self) -> Vec<String> {
        vec![
            json!({"id": "orders", "type": "subscribe", "topic": "/contractMarket/tradeOrders", "privateChannel": true, "response": true}).to_string(),
            json!({"id": "positions", "type": "subscribe", "topic": "/contract/positionAll", "privateChannel": true, "response": true}).to_string(),
        ]
    }

    fn handle(&self, text: &str) -> Handled {
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return Handled::Ok;
        };
        let id = v.get("id").and_then(Value::as_str).unwrap_or_default();
        match v.get("type").and_then(Value::as_str).unwrap_or_default() {
            "ack" if id == "orders" => return Handled::Ready,
            "error" => {
                let msg = v.get("data").map(Value::to_string).unwrap_or_default();
                return Handled::Reconnect(format!("stream error: {msg}"));
            }
            "message" => {}
            _ => return Handled::Ok,
        }
        let topic = v.get("topic").and_then(Value::as_str).unwrap_or_default();
        let data = v.get("data").cloned().unwrap_or(Value::Null);
        if topic.starts_with("/contractMarket/tradeOrders") {
            match self.order_change(&data) {
                Ok(Some(s)) => self.tracker.update(s),
                Ok(None) => {}
                Err(e) => tracing::warn!(venue = VENUE, error = %e, "unreadable order push"),
            }
        } else if topic.starts_with("/contract/position")
            && let Ok(row) = serde_json::from_value::<PositionRow>(data)
            && let Some(i) = self.instrument(&row.symbol)
        {
            match row.to_position(&i) {
                Ok(p) => self.tracker.update_position(p),
                Err(e) => tracing::warn!(venue = VENUE, error = %e, "unreadable position push"),
            }
        }
        Handled::Ok
    }

    fn ping_frame(&self) -> Option<String> {
        Some(json!({"id": "ping", "type": "ping"}).to_string())
    }

    fn heartbeat(&self) -> Duration {
        Duration::from_secs(18)
    }
}
