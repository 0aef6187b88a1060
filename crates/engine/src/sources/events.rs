//! Execution events for downstream consumers, in petrosa-tradeengine's
//! shape so its consumers work unchanged,
//! read from the store's audit chain so nothing the engine decides goes unreported and the
//! account workers need no hook.
//!
//! One publisher runs per broker source that has an events subject. It follows the audit chain
//! from a cursor kept in the store (`events.<source>.cursor`), so a restart neither repeats nor
//! skips events (delivery is at least once: events published just before a crash, whose cursor
//! was not yet saved, are published again). A first start begins at the chain's head: history
//! is not replayed.
//!
//! What is published to `<subject>` (e.g. `execution.events.<source>`):
//! - order state changes on symbols this source has a weight in: `placed` (leaving `intended`),
//!   `partial_fill`, `filled`, `rejected`, `cancelled`;
//! - `target_changed` for those symbols;
//! - `rejected` with `rejection_source: "signal"` for this source's refused signals.
//!
//! ```json
//! {"event_type":"filled","strategy_id":"nats-ta","order_id":"<client order id>",
//!  "timestamp":"2026-08-21T12:00:01+00:00","symbol":"BTCUSDT","side":"buy","qty":0.002,
//!  "fill_qty":0.002,"fill_price":50010.2,"fee":0.04,"fee_asset":"USDT","pnl":null,
//!  "rejection_source":null,"reason":"filled","account":"paper","seq":42, …}
//! ```
//!
//! Numbers are JSON numbers, as petrosa-tradeengine's consumers expect; they are reports, never
//! read back.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tradeengine_model::{ClientOrderId, OrderState, Side};
use tradeengine_store::{AuditEvent, AuditKind, MAX_PAGE, Store, StoreError};

use crate::state::SharedState;

/// How often the chain is read when idle.
const POLL: Duration = Duration::from_millis(200);

/// Where events go (a NATS subject, in production).
#[async_trait]
pub trait EventSink: Send + Sync {
    async fn publish(&self, subject: &str, payload: Vec<u8>) -> Result<(), String>;
    /// Waits until everything published so far has left the process.
    async fn flush(&self) -> Result<(), String>;
}

/// Follows the audit chain and publishes one source's execution events.
#[derive(Debug, Clone)]
pub struct EventsPublisher {
    source: String,
    subject: String,
    store: Arc<dyn Store>,
    state: SharedState,
}

impl EventsPublisher {
    pub fn new(source: &str, subject: &str, store: Arc<dyn Store>, state: SharedState) -> Self {
        Self {
            source: source.to_string(),
            subject: subject.to_string(),
            store,
            state,
        }
    }

    fn cursor_key(&self) -> String {
        format!("events.{}.cursor", self.source)
    }

    /// The stored cursor, else the chain's head.
    pub async fn start_cursor(&self) -> Result<i64, StoreError> {
        if let Some(v) = self.store.get_state(&self.cursor_key()).await?
            && let Some(n) = v.as_i64()
        {
            return Ok(n);
        }
        let head = chain_head(&*self.store).await?;
        self.store
            .put_state(&self.cursor_key(), &json!(head))
            .await?;
        Ok(head)
    }

    /// Publishes everything after `cursor` (one page), then saves the new cursor. Returns how
    /// many events were published.
    pub async fn pump_once(&self, sink: &dyn EventSink, cursor: &mut i64) -> Result<usize, String> {
        let events = self
            .store
            .audit_events(*cursor, MAX_PAGE)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(0);
        };
        let config = self.state.config();
        let relevant = |symbol: Option<&str>| {
            symbol.is_some_and(|s| {
                config
                    .symbol(s)
                    .is_some_and(|c| c.weights.contains_key(&self.source))
            })
        };
        let mut sent = 0;
        for event in &events {
            let payload = match event.kind {
                AuditKind::OrderStateChanged if relevant(event.symbol.as_deref()) => {
                    self.order_event(event).await
                }
                AuditKind::TargetChanged if relevant(event.symbol.as_deref()) => {
                    Some(target_event(event, &self.source))
                }
                AuditKind::SignalRefused
                    if event.payload.get("source").and_then(Value::as_str)
                        == Some(self.source.as_str()) =>
                {
                    Some(refusal_event(event, &self.source))
                }
                _ => None,
            };
            if let Some(p) = payload {
                let bytes = serde_json::to_vec(&p).map_err(|e| e.to_string())?;
                sink.publish(&self.subject, bytes).await?;
                sent += 1;
            }
        }
        sink.flush().await?;
        *cursor = last;
        self.store
            .put_state(&self.cursor_key(), &json!(last))
            .await
            .map_err(|e| e.to_string())?;
        Ok(sent)
    }

    async fn order_event(&self, event: &AuditEvent) -> Option<Value> {
        let p = &event.payload;
        let state = |k: &str| p.get(k).and_then(Value::as_str).and_then(OrderState::parse);
        let (from, to) = (state("from")?, state("to")?);
        let event_type = match to {
            OrderState::Filled => "filled",
            OrderState::PartiallyFilled => "partial_fill",
            OrderState::Rejected => "rejected",
            OrderState::Cancelled => "cancelled",
            OrderState::Sent | OrderState::Acknowledged if from == OrderState::Intended => "placed",
            _ => return None,
        };
        let client_id = p.get("client_order_id").and_then(Value::as_str)?;
        // Side and quantity are on the order, not in the state change.
        let order = match ClientOrderId::new(client_id) {
            Ok(id) => self.store.order(&id).await.ok().flatten(),
            Err(_) => None,
        };
        let error = p.get("error").and_then(Value::as_str);
        Some(json!({
            "event_type": event_type,
            "decision_id": Value::Null,
            "strategy_id": self.source,
            "order_id": client_id,
            "venue_order_id": p.get("venue_order_id"),
            "timestamp": event.at.to_rfc3339(),
            "reason": error.unwrap_or(to.as_str()),
            "symbol": event.symbol,
            "account": event.account,
            "side": order.as_ref().map(|o| match o.side { Side::Buy => "buy", Side::Sell => "sell" }),
            "qty": order.as_ref().map(|o| number(o.qty)),
            "fill_qty": decimal_field(p, "filled_qty"),
            "fill_price": decimal_field(p, "avg_fill_price"),
            "fee": decimal_field(p, "fee"),
            "fee_asset": "USDT",
            "pnl": Value::Null,
            "rejection_source": (to == OrderState::Rejected).then_some("exchange"),
            "rejection_reason": if to == OrderState::Rejected { error.map(Value::from).unwrap_or(Value::Null) } else { Value::Null },
            "seq": event.seq,
        }))
    }

    /// Runs until `shutdown`, publishing as the chain grows. Errors are logged and retried.
    pub async fn run(&self, sink: &dyn EventSink, shutdown: CancellationToken) {
        let mut cursor = loop {
            match self.start_cursor().await {
                Ok(c) => break c,
                Err(e) => {
                    tracing::warn!(source = %self.source, error = %e, "execution events: cannot read the cursor");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        };
        loop {
            let busy = match self.pump_once(sink, &mut cursor).await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::warn!(source = %self.source, error = %e, "execution events not published; retrying");
                    false
                }
            };
            if busy {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }
}

/// The highest audit sequence number (0 for an empty chain), found by galloping then bisecting
/// over `audit_events(after, 1)`: O(log n) reads, since sequence numbers have no gaps.
pub async fn chain_head(store: &dyn Store) -> Result<i64, StoreError> {
    let exists =
        |after: i64| async move { store.audit_events(after, 1).await.map(|e| !e.is_empty()) };
    // Invariant: an event after `lo` exists (or lo = 0 is the start); none after `hi`.
    if !exists(0).await? {
        return Ok(0);
    }
    let mut lo = 0_i64;
    let mut hi = 1_i64;
    while exists(hi).await? {
        lo = hi;
        hi = hi.saturating_mul(2);
    }
    // Now events exist after lo and not after hi: the head is in (lo, hi].
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if exists(mid).await? {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(hi)
}

fn number(d: Decimal) -> Value {
    serde_json::from_str::<serde_json::Number>(&d.normalize().to_string())
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn decimal_field(p: &Value, key: &str) -> Value {
    let d = match p.get(key) {
        Some(Value::String(s)) => s.parse::<Decimal>().ok(),
        Some(Value::Number(n)) => n.to_string().parse::<Decimal>().ok(),
        _ => None,
    };
    d.map(number).unwrap_or(Value::Null)
}

fn target_event(event: &AuditEvent, source: &str) -> Value {
    let t = &event.payload;
    json!({
        "event_type": "target_changed",
        "strategy_id": source,
        "timestamp": event.at.to_rfc3339(),
        "symbol": event.symbol,
        "account": event.account,
        "depth": decimal_field(t, "depth"),
        "leverage": decimal_field(t, "leverage"),
        "qty": decimal_field(t, "quantity"),
        "seq": event.seq,
    })
}

fn refusal_event(event: &AuditEvent, source: &str) -> Value {
    let p = &event.payload;
    let raw = p.get("raw");
    let signal = raw.and_then(|r| r.get("signal"));
    json!({
        "event_type": "rejected",
        "strategy_id": source,
        "timestamp": event.at.to_rfc3339(),
        "symbol": signal.and_then(|s| s.get("symbol")),
        "reason": p.get("reason"),
        "rejection_source": "signal",
        "rejection_reason": p.get("reason"),
        "rejected_at": event.at.to_rfc3339(),
        "signal_id": signal.and_then(|s| s.get("id")),
        "seq": event.seq,
    })
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn numbers_are_json_numbers_without_trailing_zeros() {
        assert_eq!(number(dec!(0.00200)).to_string(), "0.002");
        assert_eq!(
            decimal_field(&json!({"x": "50010.20"}), "x").to_string(),
            "50010.2"
        );
        assert_eq!(decimal_field(&json!({"x": null}), "x"), Value::Null);
    }
}
