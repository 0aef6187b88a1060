//! A supervised private WebSocket: connect, authenticate and subscribe, keep it alive with the
//! venue's heartbeat, and reconnect with backoff whenever it drops — forever, until dropped.
//!
//! The venue-specific parts (URL, greeting frames, how to read a frame, the ping text, a
//! keep-alive call such as Binance's listen-key refresh) come from a [`StreamSession`].
//!
//! Timing: a heartbeat is sent every `heartbeat()`; a connection silent for three heartbeats is
//! treated as dead (half-open TCP connections never report themselves). Reconnects back off
//! 100 ms, 200 ms, … up to 30 s, and start again from 100 ms once a connection has lived for
//! 30 s. Events missed while disconnected are not replayed: the stream is a hint, REST is the
//! truth, and callers waiting on the stream fall back to REST when it is not ready.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::{SinkExt, StreamExt};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::VenueError;

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
const STABLE_AFTER: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a frame meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// The greeting is complete (authenticated and subscribed): events will follow.
    Ready,
    /// An event or an acknowledgement; nothing for the supervisor to do.
    Ok,
    /// The venue refused us or ended the session: reconnect, saying why.
    Reconnect(String),
}

/// The venue-specific half of a private stream.
#[async_trait]
pub trait StreamSession: Send + Sync + std::fmt::Debug + 'static {
    fn venue(&self) -> &'static str;
    /// Where to connect next (Binance fetches a listen key here). Never logged.
    async fn url(&self) -> Result<String, VenueError>;
    /// Frames to send right after connecting, built fresh (auth signatures expire). Empty when
    /// the URL alone authenticates; the stream is then ready at once.
    fn greeting(&self) -> Vec<String>;
    /// Reads one text frame.
    fn handle(&self, text: &str) -> Handled;
    /// The application-level ping, or `None` to send a WebSocket ping frame.
    fn ping_frame(&self) -> Option<String>;
    fn heartbeat(&self) -> Duration;
    /// How often to call [`StreamSession::keepalive`], if ever.
    fn keepalive_every(&self) -> Option<Duration> {
        None
    }
    async fn keepalive(&self) -> Result<(), VenueError> {
        Ok(())
    }
}

/// Owner's handle on a running stream; dropping it stops the stream.
#[derive(Debug)]
pub struct StreamHandle {
    ready: watch::Receiver<bool>,
    connects: Arc<AtomicU64>,
    cancel: CancellationToken,
}

impl StreamHandle {
    /// Authenticated, subscribed and connected right now.
    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// Waits up to `timeout` for the stream to become ready.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let mut rx = self.ready.clone();
        tokio::time::timeout(timeout, rx.wait_for(|r| *r))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Successful connections so far (1 + reconnects).
    pub fn connects(&self) -> u64 {
        self.connects.load(Ordering::Relaxed)
    }
}

impl Drop for StreamHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Starts supervising `session` on the current runtime.
pub fn spawn(session: Arc<dyn StreamSession>) -> StreamHandle {
    let (tx, rx) = watch::channel(false);
    let connects = Arc::new(AtomicU64::new(0));
    let cancel = CancellationToken::new();
    tokio::spawn(supervise(session, tx, connects.clone(), cancel.clone()));
    StreamHandle {
        ready: rx,
        connects,
        cancel,
    }
}

async fn supervise(
    session: Arc<dyn StreamSession>,
    ready: watch::Sender<bool>,
    connects: Arc<AtomicU64>,
    cancel: CancellationToken,
) {
    let mut backoff = MIN_BACKOFF;
    loop {
        let started = tokio::time::Instant::now();
        let outcome = run_once(&*session, &ready, &connects, &cancel).await;
        ready.send_replace(false);
        if cancel.is_cancelled() {
            return;
        }
        if started.elapsed() >= STABLE_AFTER {
            backoff = MIN_BACKOFF;
        }
        if let Err(reason) = outcome {
            tracing::warn!(venue = session.venue(), %reason, retry_in_ms = backoff.as_millis() as u64, "private stream down; reconnecting");
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn run_once(
    session: &dyn StreamSession,
    ready: &watch::Sender<bool>,
    connects: &AtomicU64,
    cancel: &CancellationToken,
) -> Result<(), String> {
    let url = session.url().await.map_err(|e| e.to_string())?;
    let (ws, _) = tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(url))
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| format!("connect failed: {e}"))?;
    connects.fetch_add(1, Ordering::Relaxed);
    let (mut write, mut read) = ws.split();
    let greeting = session.greeting();
    let needs_ack = !greeting.is_empty();
    for frame in greeting {
        write
            .send(Message::text(frame))
            .await
            .map_err(|e| format!("send failed: {e}"))?;
    }
    if !needs_ack {
        ready.send_replace(true);
    }
    let heartbeat = session.heartbeat();
    let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    let keep_every = session
        .keepalive_every()
        .unwrap_or(Duration::from_secs(86_400));
    let mut keep = tokio::time::interval_at(tokio::time::Instant::now() + keep_every, keep_every);
    let mut last_heard = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => {
                let _ = write.send(Message::Close(None)).await;
                return Ok(());
            }
            msg = read.next() => {
                last_heard = tokio::time::Instant::now();
                match msg {
                    None => return Err("closed".into()),
                    Some(Err(e)) => return Err(format!("read failed: {e}")),
                    Some(Ok(Message::Text(text))) => match session.handle(text.as_str()) {
                        Handled::Ready => { ready.send_replace(true); }
                        Handled::Ok => {}
                        Handled::Reconnect(why) => return Err(why),
                    },
                    Some(Ok(Message::Ping(p))) => {
                        write.send(Message::Pong(p)).await.map_err(|e| format!("send failed: {e}"))?;
                    }
                    Some(Ok(Message::Close(frame))) => {
                        return Err(format!("closed by the venue: {frame:?}"));
                    }
                    Some(Ok(_)) => {}
                }
            }
            _ = beat.tick() => {
                if last_heard.elapsed() > heartbeat * 3 {
                    return Err(format!("silent for {} ms", last_heard.elapsed().as_millis()));
                }
                let frame = match session.ping_frame() {
                    Some(text) => Message::text(text),
                    None => Message::Ping(Vec::new().into()),
                };
                write.send(frame).await.map_err(|e| format!("send failed: {e}"))?;
            }
            _ = keep.tick() => {
                if let Err(e) = session.keepalive().await {
                    tracing::warn!(venue = session.venue(), error = %e, "stream keep-alive failed");
                }
            }
        }
    }
}
