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
use tradeengine_model::{
    ClientOrderId, Instrument, OrderState, OrderStatus, Position, Price, Side,
};

use super::VENUE;
use super::http::{KucoinHttp, weight};
use super::models::{PositionRow, STREAM_ORDERS, STREAM_POSITION, required};
use crate::VenueError;
use crate::http::Query;
use crate::parse::{bad_reply, in_reply, reply};
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
    fills: Fills,
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
}

/// Running fill values per KuCoin order id: (lots matched, Σ lots × price).
pub type Fills = Mutex<HashMap<String, (Decimal, Decimal)>>;

/// The order status in one `orderChange` push (`data`), read strictly and converted from lots
/// with `instrument` (by KuCoin symbol); `fills` keeps the running average fill price.
/// `Ok(None)` for an order the engine did not place or on an instrument not cached yet.
pub fn order_change(
    data: Value,
    instrument: impl Fn(&str) -> Option<Instrument>,
    fills: &Fills,
) -> Result<Option<OrderStatus>, VenueError> {
    let push: OrderPush = reply(VENUE, STREAM_ORDERS, data)?;
    let Some(i) = instrument(&push.symbol) else {
        return Ok(None);
    };
    let Some(Ok(client_order_id)) = push.client_oid.as_deref().map(ClientOrderId::new) else {
        return Ok(None);
    };
    push.to_status(&i, client_order_id, fills)
        .map_err(in_reply(STREAM_ORDERS))
}

/// The `data` of a `/contractMarket/tradeOrders` push
/// (<https://www.kucoin.com/docs/websocket/futures-trading/private-channels/trade-orders>).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderPush {
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
    /// Only on `match` pushes.
    match_size: Option<Value>,
    match_price: Option<Value>,
    /// `null` for an order placed without one.
    client_oid: Option<String>,
    /// Not every push carries it; REST, read at every reconciliation, always does.
    reduce_only: Option<bool>,
    /// Nanoseconds.
    ts: Value,
}

impl OrderPush {
    fn to_status(
        &self,
        i: &Instrument,
        client_order_id: ClientOrderId,
        fills: &Fills,
    ) -> Result<Option<OrderStatus>, VenueError> {
        let (size, filled) = (
            required(&self.size, "size")?,
            required(&self.filled_size, "filledSize")?,
        );
        let avg = {
            let mut fills = fills.lock().unwrap_or_else(|p| p.into_inner());
            if self.kind == "match" {
                let q = required(
                    self.match_size.as_ref().unwrap_or(&Value::Null),
                    "matchSize",
                )?;
                let p = required(
                    self.match_price.as_ref().unwrap_or(&Value::Null),
                    "matchPrice",
                )?;
                if fills.len() >= FILL_MEMORY && !fills.contains_key(&self.order_id) {
                    fills.clear();
                }
                let entry = fills.entry(self.order_id.clone()).or_default();
                entry.0 += q;
                entry.1 += q * p;
            }
            fills
                .get(&self.order_id)
                .filter(|(q, _)| !q.is_zero())
                .and_then(|(q, v)| v.checked_div(*q))
                .and_then(|p| Price::new(p.round_dp(8).normalize()).ok())
        };
        let state = match self.status.as_str() {
            "done" if size > Decimal::ZERO && filled >= size => OrderState::Filled,
            "done" => OrderState::Cancelled,
            _ if filled.is_zero() => OrderState::Acknowledged,
            _ => OrderState::PartiallyFilled,
        };
        let side = match self.side.as_str() {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            other => return Err(bad_reply(VENUE, "side", other)),
        };
        let base = |field: &str, lots: Decimal| super::models::to_base(i, field, lots);
        let ts_ms = i64::try_from((required(&self.ts, "ts")? / Decimal::from(1_000_000)).trunc())
            .map_err(|_| bad_reply(VENUE, "ts", &self.ts.to_string()))?;
        Ok(Some(OrderStatus {
            client_order_id,
            venue_order_id: Some(self.order_id.clone()),
            symbol: i.symbol.clone(),
            side,
            state,
            qty: base("size", size)?,
            filled_qty: base("filledSize", filled)?,
            avg_fill_price: avg,
            fee: Decimal::ZERO,
            reduce_only: self.reduce_only.unwrap_or(false),
            updated_at: crate::parse::ms(VENUE, "ts", ts_ms)?,
        }))
    }
}

/// The position in one `position.change` push (`data`), read strictly; `Ok(None)` on an
/// instrument not cached yet.
pub fn position_change(
    data: Value,
    instrument: impl Fn(&str) -> Option<Instrument>,
) -> Result<Option<Position>, VenueError> {
    let row: PositionRow = reply(VENUE, STREAM_POSITION, data)?;
    match instrument(&row.symbol) {
        Some(i) => row
            .to_position(&i)
            .map(Some)
            .map_err(in_reply(STREAM_POSITION)),
        None => Ok(None),
    }
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
        let subject = v.get("subject").and_then(Value::as_str).unwrap_or_default();
        let by_symbol = |symbol: &str| self.instrument(symbol);
        if topic.starts_with("/contractMarket/tradeOrders") {
            match order_change(data, by_symbol, &self.fills) {
                Ok(Some(s)) => self.tracker.update(s),
                Ok(None) => {}
                Err(e) => tracing::warn!(venue = VENUE, error = %e, "unreadable order push"),
            }
        } else if topic.starts_with("/contract/position") && subject == "position.change" {
            // `position.settlement` (funding) pushes carry no position.
            match position_change(data, by_symbol) {
                Ok(Some(p)) => self.tracker.update_position(p),
                Ok(None) => {}
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
