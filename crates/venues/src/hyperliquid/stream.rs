//! Hyperliquid's user streams on `wss://api.hyperliquid.xyz/ws` (testnet
//! `wss://api.hyperliquid-testnet.xyz/ws`,
//! <https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket>): the
//! `orderUpdates` and `userFills` subscriptions of the account's master address, so a fill (with
//! its price and fee) or a cancel is known when the exchange pushes it instead of by asking
//! `/info` again. REST stays the truth: a wait on the stream that runs out falls back to
//! `orderStatus`, and positions are always read over REST.
//!
//! The protocol (same page, "Subscriptions" and "Timeouts and heartbeats"; the official Python
//! SDK's `websocket_manager.py`):
//! - no authentication: `{"method": "subscribe", "subscription": {"type": "orderUpdates",
//!   "user": ADDRESS}}`, the same for `userFills`; each is acknowledged with `{"channel":
//!   "subscriptionResponse", "data": {"method": "subscribe", "subscription": {...}}}`;
//! - pushes are `{"channel": "orderUpdates", "data": [WsOrder, …]}` and `{"channel":
//!   "userFills", "data": {"isSnapshot": bool, "user", "fills": [WsFill, …]}}`, the first
//!   `userFills` push after subscribing being the snapshot of recent fills — "missed data during
//!   the reconnect will be present in the snapshot ack on reconnect" (the WebSocket page), which
//!   is how fills missed while disconnected are recovered ([`super::stream_book`]);
//! - the server closes a connection it has heard nothing from for 60 s: `{"method": "ping"}` is
//!   sent every 30 s and answered `{"channel": "pong"}`;
//! - a refused subscription: the documentation describes no answer; servers wire-compatible
//!   with it answer `{"channel": "error", "data": …}`, taken here as a refusal (reconnect and
//!   subscribe again, with back-off).
//!
//! The stream is ready once the `userFills` subscription is acknowledged: it is sent after
//! `orderUpdates` on the same connection, so both are in place by then.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::stream_book::StreamBook;
use super::{MAINNET_URL, TESTNET_URL, VENUE};
use crate::VenueError;
use crate::tracker::OrderTracker;
use crate::ws::{Handled, StreamHandle, StreamSession};

pub const MAINNET_STREAM: &str = "wss://api.hyperliquid.xyz/ws";
pub const TESTNET_STREAM: &str = "wss://api.hyperliquid-testnet.xyz/ws";
/// Under the server's 60 s idle limit, with room for one lost ping.
const HEARTBEAT: Duration = Duration::from_secs(30);

/// The stream of a REST base: the exchange's own stream host for its hosts, else the same host
/// with `ws(s)://` and `/ws` (a simulator, a proxy), as the SDK derives it from its base URL.
pub fn stream_url(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    match base {
        MAINNET_URL => MAINNET_STREAM.to_string(),
        TESTNET_URL => TESTNET_STREAM.to_string(),
        _ => {
            let ws = if let Some(rest) = base.strip_prefix("https://") {
                format!("wss://{rest}")
            } else if let Some(rest) = base.strip_prefix("http://") {
                format!("ws://{rest}")
            } else {
                base.to_string()
            };
            format!("{ws}/ws")
        }
    }
}

/// The subscriptions of one master address.
#[derive(Debug)]
pub struct HyperliquidStream {
    pub url: String,
    /// The master address, lower case (what the exchange echoes).
    pub user: String,
    pub book: Arc<StreamBook>,
}

fn subscribe(kind: &str, user: &str) -> String {
    json!({"method": "subscribe", "subscription": {"type": kind, "user": user}}).to_string()
}

#[async_trait]
impl StreamSession for HyperliquidStream {
    fn venue(&self) -> &'static str {
        VENUE
    }

    async fn url(&self) -> Result<String, VenueError> {
        Ok(self.url.clone())
    }

    fn greeting(&self) -> Vec<String> {
        vec![
            subscribe("orderUpdates", &self.user),
            subscribe("userFills", &self.user),
        ]
    }

    fn handle(&self, text: &str) -> Handled {
        // The server greets with a plain-text line; anything not JSON is not a push.
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return Handled::Ok;
        };
        let data = v.get("data").cloned().unwrap_or(Value::Null);
        let errors = match v.get("channel").and_then(Value::as_str).unwrap_or_default() {
            "subscriptionResponse" => {
                let kind = data
                    .pointer("/subscription/type")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                return if kind == "userFills" {
                    Handled::Ready
                } else {
                    Handled::Ok
                };
            }
            "error" => return Handled::Reconnect(format!("the exchange refused: {data}")),
            "orderUpdates" => self.book.order_updates(data),
            "userFills" => {
                let own = data
                    .get("user")
                    .and_then(Value::as_str)
                    .is_none_or(|u| u.eq_ignore_ascii_case(&self.user));
                if !own {
                    return Handled::Ok;
                }
                self.book.user_fills(data)
            }
            _ => Vec::new(),
        };
        for e in errors {
            tracing::warn!(venue = VENUE, error = %e, "unreadable stream push");
        }
        Handled::Ok
    }

    fn ping_frame(&self) -> Option<String> {
        Some(json!({"method": "ping"}).to_string())
    }

    fn heartbeat(&self) -> Duration {
        HEARTBEAT
    }
}

/// The adapter's side of the stream: the tracker the pushes feed, the running stream (none
/// without an account address or with `ws_url = "off"`), and how long to wait for a push.
#[derive(Debug)]
pub struct Live {
    pub(crate) tracker: Arc<OrderTracker>,
    pub(crate) handle: Option<StreamHandle>,
    pub(crate) fill_wait: Duration,
}

impl Default for Live {
    fn default() -> Self {
        Self {
            tracker: Arc::new(OrderTracker::new()),
            handle: None,
            fill_wait: Duration::from_secs(1),
        }
    }
}

impl Live {
    /// Starts the streams of `user` at `url`, feeding a new tracker.
    pub fn start(url: String, user: String, fill_wait: Duration) -> Self {
        let tracker = Arc::new(OrderTracker::new());
        let session = HyperliquidStream {
            url,
            user: user.to_ascii_lowercase(),
            book: Arc::new(StreamBook::new(tracker.clone())),
        };
        Self {
            tracker,
            handle: Some(crate::ws::spawn(Arc::new(session))),
            fill_wait,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_urls_follow_the_rest_host() {
        assert_eq!(stream_url("https://api.hyperliquid.xyz/"), MAINNET_STREAM);
        assert_eq!(stream_url(TESTNET_URL), TESTNET_STREAM);
        assert_eq!(
            stream_url("http://127.0.0.1:9001"),
            "ws://127.0.0.1:9001/ws"
        );
        assert_eq!(
            stream_url("https://proxy.example"),
            "wss://proxy.example/ws"
        );
    }

    fn session() -> (HyperliquidStream, Arc<OrderTracker>) {
        let tracker = Arc::new(OrderTracker::new());
        let s = HyperliquidStream {
            url: "ws://x/ws".into(),
            user: "0x00000000000000000000000000000000000000aa".into(),
            book: Arc::new(StreamBook::new(tracker.clone())),
        };
        (s, tracker)
    }

    #[test]
    fn subscribes_both_streams_and_is_ready_when_fills_are_acknowledged() {
        let (s, _) = session();
        let greeting: Vec<Value> = s
            .greeting()
            .iter()
            .filter_map(|f| serde_json::from_str(f).ok())
            .collect();
        assert_eq!(greeting.len(), 2);
        assert_eq!(greeting[0]["subscription"]["type"], "orderUpdates");
        assert_eq!(greeting[1]["subscription"]["type"], "userFills");
        assert_eq!(greeting[1]["subscription"]["user"], s.user.as_str());
        assert_eq!(s.handle("Websocket connection established."), Handled::Ok);
        let ack = |kind: &str| {
            json!({"channel": "subscriptionResponse", "data": {"method": "subscribe",
                "subscription": {"type": kind, "user": s.user}}})
            .to_string()
        };
        assert_eq!(s.handle(&ack("orderUpdates")), Handled::Ok);
        assert_eq!(s.handle(&ack("userFills")), Handled::Ready);
        assert_eq!(s.handle(r#"{"channel":"pong"}"#), Handled::Ok);
        assert!(matches!(
            s.handle(r#"{"channel":"error","data":"Invalid subscription"}"#),
            Handled::Reconnect(why) if why.contains("Invalid subscription")
        ));
        assert_eq!(s.ping_frame().as_deref(), Some(r#"{"method":"ping"}"#));
    }

    #[test]
    fn pushes_reach_the_tracker_and_other_users_fills_do_not() {
        let (s, tracker) = session();
        let order = json!({"channel": "orderUpdates", "data": [{"order": {
            "coin": "BTC", "side": "A", "limitPx": "60000", "sz": "0.0", "oid": 5,
            "timestamp": 1, "origSz": "0.01", "cloid": "0x000000000000000000000000000000ff"},
            "status": "filled", "statusTimestamp": 2}]});
        s.handle(&order.to_string());
        let fill = |user: &str, tid: u64| {
            json!({"channel": "userFills", "data": {"isSnapshot": false, "user": user,
                "fills": [{"coin": "BTC", "px": "60000", "sz": "0.01", "side": "A", "time": 3,
                "oid": 5, "fee": "0.3", "tid": tid}]}})
            .to_string()
        };
        s.handle(&fill("0x00000000000000000000000000000000000000bb", 1));
        let key = "000000000000000000000000000000ff";
        assert_eq!(
            tracker.get(key).map(|t| t.filled_qty),
            Some(rust_decimal::Decimal::ZERO)
        );
        s.handle(&fill("0x00000000000000000000000000000000000000AA", 2));
        let got = tracker.get(key).unwrap_or_else(|| panic!("no status"));
        assert_eq!(got.state, tradeengine_model::OrderState::Filled);
        assert_eq!(got.fee, rust_decimal::Decimal::new(3, 1));
    }
}
