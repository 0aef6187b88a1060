//! The WebSocket connection to the validator's stream: connect, authenticate, subscribe, read
//! frames, check sequence numbers, reconnect with exponential backoff. Frames are read by
//! [`super::stream`]; what to do with them (the book, REST resyncs) is the caller's.
//!
//! The caller polls REST whenever the stream is not up, so a refused key or a dead stream costs
//! freshness, never correctness. A connection that says nothing for [`SILENCE`] (we ping every
//! [`PING_EVERY`], the server answers with a pong) is treated as dead; so is one that never
//! finishes authenticating and subscribing within it.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::client::{Sn8ClientConfig, redact_url};
use super::stream::parse_stream_frame;
use super::stream::{SequenceTracker, SequenceVerdict, StreamEvent, StreamMessage};

/// How often we ping.
pub const PING_EVERY: Duration = Duration::from_secs(30);
/// Silence after which the connection is dropped and made again.
pub const SILENCE: Duration = Duration::from_secs(90);

/// What the connection reports.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedEvent {
    /// Authenticated and subscribed: the caller should resync from REST (updates may have been
    /// missed while down) and may stop polling.
    Connected,
    Update(Box<StreamMessage>),
    /// Messages were lost: resync from REST.
    Gap {
        expected: i64,
        got: i64,
    },
    /// The server refused the key (message, code); the feed retries at its longest backoff.
    Refused(String),
    /// The connection failed or ended; the feed reconnects.
    Down(String),
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    pub url: String,
    pub api_key: Option<SecretString>,
    pub request_key: Option<SecretString>,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl FeedConfig {
    /// From the poller's settings, when its tier allows the stream and a URL is set.
    pub fn from_client(cfg: &Sn8ClientConfig) -> Option<Self> {
        Some(Self {
            url: cfg.usable_stream_url()?.to_string(),
            api_key: cfg.api_key.clone(),
            request_key: cfg.request_key.clone(),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
        })
    }
}

/// Runs until the receiver is dropped.
pub async fn run_feed(cfg: FeedConfig, tx: mpsc::Sender<FeedEvent>) {
    let mut backoff = cfg.initial_backoff;
    loop {
        let outcome = session(&cfg, &tx, &mut backoff).await;
        let (event, wait) = match outcome {
            Ended::ReceiverGone => return,
            Ended::Refused(m) => (FeedEvent::Refused(m), cfg.max_backoff),
            Ended::Down(m) => (FeedEvent::Down(m), backoff),
        };
        if tx.send(event).await.is_err() {
            return;
        }
        tokio::time::sleep(wait).await;
        backoff = (backoff * 2).min(cfg.max_backoff);
    }
}

enum Ended {
    ReceiverGone,
    Refused(String),
    Down(String),
}

async fn session(cfg: &FeedConfig, tx: &mpsc::Sender<FeedEvent>, backoff: &mut Duration) -> Ended {
    let shown = redact_url(&cfg.url);
    let mut req = match cfg.url.as_str().into_client_request() {
        Ok(r) => r,
        Err(e) => return Ended::Down(format!("{shown}: {e}")),
    };
    let header = |v: String| {
        HeaderValue::from_str(&v).map(|mut h| {
            h.set_sensitive(true);
            h
        })
    };
    if let Some(k) = &cfg.api_key {
        match header(format!("Bearer {}", k.expose_secret())) {
            Ok(h) => {
                req.headers_mut().insert("authorization", h);
            }
            Err(_) => return Ended::Refused("api_key is not a valid header value".into()),
        }
    }
    if let Some(k) = &cfg.request_key {
        match header(k.expose_secret().to_string()) {
            Ok(h) => {
                req.headers_mut().insert("x-taoshi-consumer-request-key", h);
            }
            Err(_) => return Ended::Refused("request_key is not a valid header value".into()),
        }
    }
    let (mut ws, _) =
        match tokio::time::timeout(SILENCE, tokio_tungstenite::connect_async(req)).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Ended::Down(format!("{shown}: {e}")),
            Err(_) => return Ended::Down(format!("{shown}: connect timed out")),
        };
    // Older servers read the key from a first message; current ones ignore a message without
    // a type.
    if let Some(k) = &cfg.api_key {
        let auth = serde_json::json!({"api_key": k.expose_secret(), "last_sequence": -1});
        if let Err(e) = ws.send(Message::text(auth.to_string())).await {
            return Ended::Down(format!("{shown}: {e}"));
        }
    }
    let mut authenticated = false;
    let mut seq = SequenceTracker::default();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    // Measured from the last frame heard, not from our last ping: a server that takes pings
    // and never answers is as dead as a silent one.
    let mut last_heard = tokio::time::Instant::now();
    loop {
        let frame = tokio::select! {
            f = ws.next() => f,
            _ = ping.tick() => {
                if last_heard.elapsed() >= SILENCE {
                    return Ended::Down(format!("{shown}: silent for {}s", SILENCE.as_secs()));
                }
                let p = serde_json::json!({"type": "ping", "timestamp": 0});
                if let Err(e) = ws.send(Message::text(p.to_string())).await {
                    return Ended::Down(format!("{shown}: {e}"));
                }
                continue;
            }
        };
        last_heard = tokio::time::Instant::now();
        let text = match frame {
            None => return Ended::Down(format!("{shown}: closed by the server")),
            Some(Err(e)) => return Ended::Down(format!("{shown}: {e}")),
            Some(Ok(Message::Text(t))) => t.to_string(),
            Some(Ok(Message::Close(_))) => {
                return Ended::Down(format!("{shown}: closed by the server"));
            }
            Some(Ok(_)) => continue,
        };
        let events = match parse_stream_frame(&text) {
            Ok(ev) => ev,
            Err(e) => {
                tracing::debug!(url = %shown, error = %e, "sn8 stream frame not understood");
                continue;
            }
        };
        for ev in events {
            let out = match ev {
                StreamEvent::Authenticated { .. } if !authenticated => {
                    authenticated = true;
                    let sub = serde_json::json!({"type": "subscribe", "all": true, "sender_timestamp": 0});
                    if let Err(e) = ws.send(Message::text(sub.to_string())).await {
                        return Ended::Down(format!("{shown}: {e}"));
                    }
                    None
                }
                StreamEvent::Subscribed => {
                    *backoff = cfg.initial_backoff;
                    seq.reset();
                    Some(FeedEvent::Connected)
                }
                StreamEvent::Refused { message, code } => {
                    let code = code.map(|c| format!(" ({c})")).unwrap_or_default();
                    return Ended::Refused(format!("{message}{code}"));
                }
                StreamEvent::Update(m) => match seq.check(m.sequence) {
                    SequenceVerdict::Duplicate => None,
                    SequenceVerdict::Next => Some(FeedEvent::Update(m)),
                    SequenceVerdict::Gap { expected, got } => {
                        if tx.send(FeedEvent::Gap { expected, got }).await.is_err() {
                            return Ended::ReceiverGone;
                        }
                        Some(FeedEvent::Update(m))
                    }
                },
                StreamEvent::Authenticated { .. } | StreamEvent::Other => None,
            };
            if let Some(out) = out
                && tx.send(out).await.is_err()
            {
                return Ended::ReceiverGone;
            }
        }
    }
}
