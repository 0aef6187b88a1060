//! RabbitMQ source: a queue consumer for algo_trading_platform's `TradingSignal` (and the other
//! formats), manual ack after the signal is stored, invalid messages dead-lettered with their
//! reason, and our own reconnect loop (lapin's auto-recovery is not trusted: amqp-rs/lapin#450
//! reports it never reconnects after a broker restart), which re-declares the queues and the
//! consumer.
//!
//! `[sources.<name>.settings]` (every key optional; a typo is refused by name):
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `url` | `amqp://127.0.0.1:5672/%2f` | broker; user and password may be in it, or below |
//! | `user`, `password_env` | `guest` / none | credentials (the password only from the environment) |
//! | `queue` | `trading_signals` | queue to consume (algo_trading_platform's) |
//! | `declare_queue` | true | declare it durable with no arguments, exactly as algo_trading_platform's producer does |
//! | `dead_letter_queue` | `<queue>.dead` | durable queue for invalid messages: original body, headers `x-tradeengine-reason`, `x-tradeengine-source` |
//! | `format` | `auto` | `auto`, `seed004`, `petrosa` or `canonical` |
//! | `prefetch` | 256 | unacknowledged messages in flight (also the batch stored together) |
//! | `repeat_window_secs` | 60 | without any id or time, an identical body first delivered within this window of the first sighting is the same message; a redelivered one always is |
//! | `max_age_secs` | 0 | older signals (by their own time, if they carry one) are dead-lettered; 0 = no limit |
//! | `scale_size_by_confidence` | true | strategy signals: `position_size_pct × confidence` |
//!
//! Dead letters are published to the default exchange with publisher confirms, and the original
//! is acknowledged only after the broker confirmed the copy (the queue is not given a
//! `x-dead-letter-exchange`, because declaring that platform's queue with other arguments than its
//! producer uses would fail). Redelivery of a message the store already holds is answered
//! Duplicate and acknowledged; the idempotency key is the AMQP `message_id` when the producer
//! sets one (FastStream does), else the body's own id or time, else the body hash and its
//! *occurrence* (`tradeengine_signals::occurrence`): a message the broker marks `redelivered`
//! keeps the key its first delivery had, whenever it comes back (across a restart too: the
//! table is rebuilt from the stored signals before consuming); a first delivery repeats an
//! earlier identical body only within `repeat_window_secs` of that body's first sighting.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use tradeengine_model::SourceId;
use tradeengine_signals::message::{MessageContext, Occurrences};
use tradeengine_signals::strategy_signal::StrategySignalOptions;

use super::bus::{self, Backoff, MessageFormat, Verdict};
use super::{SignalSource, SourceError};
use crate::config::{Config, SourceKind};
use crate::intake::SignalIntake;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default = "default_url")]
    url: String,
    user: Option<String>,
    password_env: Option<String>,
    #[serde(default = "default_queue")]
    queue: String,
    #[serde(default = "default_true")]
    declare_queue: bool,
    dead_letter_queue: Option<String>,
    #[serde(default)]
    format: MessageFormat,
    #[serde(default = "default_prefetch")]
    prefetch: u16,
    #[serde(default = "default_window")]
    repeat_window_secs: u64,
    #[serde(default)]
    max_age_secs: u64,
    #[serde(default = "default_true")]
    scale_size_by_confidence: bool,
}

fn default_url() -> String {
    "amqp://127.0.0.1:5672/%2f".into()
}
fn default_queue() -> String {
    "trading_signals".into()
}
fn default_true() -> bool {
    true
}
fn default_prefetch() -> u16 {
    256
}
fn default_window() -> u64 {
    60
}

/// A RabbitMQ source's settings, checked, with the password read from the environment.
#[derive(Clone)]
pub struct RabbitSettings {
    /// The broker URI, credentials included; never shown.
    uri: SecretString,
    /// The URI without credentials, for logs.
    pub shown_url: String,
    pub queue: String,
    pub declare_queue: bool,
    pub dead_letter_queue: String,
    pub format: MessageFormat,
    pub prefetch: u16,
    pub repeat_window: chrono::TimeDelta,
    pub max_age: Option<chrono::TimeDelta>,
    pub strategy_signal: StrategySignalOptions,
}

impl std::fmt::Debug for RabbitSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RabbitSettings")
            .field("url", &self.shown_url)
            .field("queue", &self.queue)
            .field("dead_letter_queue", &self.dead_letter_queue)
            .field("format", &self.format)
            .field("prefetch", &self.prefetch)
            .finish_non_exhaustive()
    }
}

/// Reads and checks a `rabbitmq` source's settings.
pub fn settings(
    name: &str,
    config: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<RabbitSettings, String> {
    let source = config
        .sources
        .get(name)
        .filter(|s| s.kind == SourceKind::Rabbitmq)
        .ok_or_else(|| format!("no rabbitmq source named {name:?}"))?;
    let raw: Raw = bus::read_settings(name, &source.settings)?;
    let mut uri: lapin::uri::AMQPUri = raw
        .url
        .parse()
        .map_err(|e: String| format!("url: not an AMQP URI ({e})"))?;
    let shown_url = format!(
        "{}://{}:{}/{}",
        if matches!(uri.scheme, lapin::uri::AMQPScheme::AMQPS) {
            "amqps"
        } else {
            "amqp"
        },
        uri.authority.host,
        uri.authority.port,
        uri.vhost
    );
    if let Some(user) = raw.user {
        uri.authority.userinfo.username = user;
    }
    if let Some(p) = bus::secret_from_env("password_env", raw.password_env.as_deref(), env)? {
        uri.authority.userinfo.password = p.expose_secret().to_string();
    }
    for (key, q) in [("queue", &raw.queue)] {
        if q.is_empty() || q.len() > 255 || q.chars().any(char::is_control) {
            return Err(format!("{key}: {q:?} is not a valid queue name"));
        }
    }
    let dead_letter_queue = raw
        .dead_letter_queue
        .unwrap_or_else(|| format!("{}.dead", raw.queue));
    if dead_letter_queue == raw.queue
        || dead_letter_queue.is_empty()
        || dead_letter_queue.len() > 255
    {
        return Err(format!(
            "dead_letter_queue: {dead_letter_queue:?} must be a valid name other than the queue"
        ));
    }
    if raw.prefetch == 0 || usize::from(raw.prefetch) > crate::intake::MAX_BATCH {
        return Err(format!(
            "prefetch: {} must be between 1 and {}",
            raw.prefetch,
            crate::intake::MAX_BATCH
        ));
    }
    if raw.repeat_window_secs == 0 {
        return Err("repeat_window_secs: must be at least 1".into());
    }
    let secs = |s: u64| chrono::TimeDelta::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000));
    Ok(RabbitSettings {
        uri: SecretString::from(uri_string(&uri)),
        shown_url,
        queue: raw.queue,
        declare_queue: raw.declare_queue,
        dead_letter_queue,
        format: raw.format,
        prefetch: raw.prefetch,
        repeat_window: secs(raw.repeat_window_secs),
        max_age: (raw.max_age_secs > 0).then(|| secs(raw.max_age_secs)),
        strategy_signal: StrategySignalOptions {
            scale_size_by_confidence: raw.scale_size_by_confidence,
        },
    })
}

/// The URI as text again (lapin connects from a string); user and password percent-encoded.
fn uri_string(uri: &lapin::uri::AMQPUri) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }
    let scheme = match uri.scheme {
        lapin::uri::AMQPScheme::AMQPS => "amqps",
        lapin::uri::AMQPScheme::AMQP => "amqp",
    };
    let a = &uri.authority;
    format!(
        "{scheme}://{}:{}@{}:{}/{}",
        enc(&a.userinfo.username),
        enc(&a.userinfo.password),
        a.host,
        a.port,
        enc(&uri.vhost)
    )
}

/// Settling tasks (ack / dead-letter / requeue of a stored chunk) that may run while the next
/// chunk is received and stored.
const SETTLING: usize = 4;

/// The consumer. Cheap to clone (the settings are shared), so settling runs in its own task.
#[derive(Debug, Clone)]
pub struct RabbitSource {
    id: SourceId,
    settings: Arc<RabbitSettings>,
    /// Body hash → first sighting, for messages without any id (module docs).
    occurrences: Arc<std::sync::Mutex<Occurrences>>,
}

impl RabbitSource {
    pub fn new(id: SourceId, settings: RabbitSettings) -> Self {
        Self {
            id,
            settings: Arc::new(settings),
            occurrences: Arc::default(),
        }
    }

    async fn declare(&self, channel: &Channel) -> Result<(), String> {
        let s = &self.settings;
        let durable = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        if s.declare_queue {
            channel
                .queue_declare(s.queue.as_str().into(), durable, FieldTable::default())
                .await
                .map_err(|e| format!("queue {}: {e}", s.queue))?;
        }
        channel
            .queue_declare(
                s.dead_letter_queue.as_str().into(),
                durable,
                FieldTable::default(),
            )
            .await
            .map_err(|e| format!("queue {}: {e}", s.dead_letter_queue))?;
        Ok(())
    }

    /// One connection's life (see the module docs).
    async fn session(
        &self,
        intake: &SignalIntake,
        shutdown: &CancellationToken,
        backoff: &mut Backoff,
    ) -> Result<(), String> {
        let s = &self.settings;
        let connection =
            Connection::connect(s.uri.expose_secret(), ConnectionProperties::default())
                .await
                .map_err(|e| format!("cannot connect to {}: {e}", s.shown_url))?;
        let result = self.consume(&connection, intake, shutdown, backoff).await;
        // Closing hands every unacknowledged message back to the queue at once.
        let _ = connection.close(200, "tradeengine stopping".into()).await;
        result
    }

    async fn consume(
        &self,
        connection: &Connection,
        intake: &SignalIntake,
        shutdown: &CancellationToken,
        backoff: &mut Backoff,
    ) -> Result<(), String> {
        let s = &self.settings;
        // The consuming channel stays open (held here) until the session ends.
        let (_channel, dead, consumer) = self.open_channels(connection).await?;
        tracing::info!(source = %self.id, url = %s.shown_url, queue = %s.queue, "rabbitmq source consuming");
        backoff.reset();
        let mut chunks = consumer.ready_chunks(usize::from(s.prefetch));
        let mut settling = tokio::task::JoinSet::new();
        let retried = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let outcome = loop {
            let chunk = tokio::select! {
                biased;
                _ = shutdown.cancelled() => break Ok(()),
                c = chunks.next() => c,
            };
            let Some(chunk) = chunk else {
                break Err("the consumer was cancelled by the broker".to_string());
            };
            let mut deliveries = Vec::with_capacity(chunk.len());
            let mut failed = None;
            for item in chunk {
                match item {
                    Ok(d) => deliveries.push(d),
                    Err(e) => failed = Some(e.to_string()),
                }
            }
            // Stored in delivery order; acks go out while the next chunk is stored.
            let pending = self.submit_chunk(&dead, intake, deliveries).await;
            let (me, dead, flag) = (self.clone(), dead.clone(), retried.clone());
            settling.spawn(async move {
                if me.settle_all(&dead, pending).await {
                    flag.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            });
            while settling.len() > SETTLING {
                let _ = settling.join_next().await;
            }
            if let Some(e) = failed {
                break Err(format!("consuming: {e}"));
            }
            if retried.swap(false, std::sync::atomic::Ordering::Relaxed) {
                // What went back to the queue returns at once; give the store a moment.
                tokio::select! {
                    _ = shutdown.cancelled() => break Ok(()),
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        };
        while settling.join_next().await.is_some() {}
        outcome
    }

    /// Declares the topology and starts consuming the queue (prefetch as the settings say);
    /// returns the consuming channel, the channel dead letters go out on (publisher confirms)
    /// and the consumer.
    async fn open_channels(
        &self,
        connection: &Connection,
    ) -> Result<(Channel, Channel, lapin::Consumer), String> {
        let s = &self.settings;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| format!("channel: {e}"))?;
        self.declare(&channel).await?;
        channel
            .basic_qos(s.prefetch, BasicQosOptions::default())
            .await
            .map_err(|e| format!("qos: {e}"))?;
        // Dead letters go out on their own channel with publisher confirms.
        let dead = connection
            .create_channel()
            .await
            .map_err(|e| format!("channel: {e}"))?;
        dead.confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| format!("confirm mode: {e}"))?;
        let consumer = channel
            .basic_consume(
                s.queue.as_str().into(),
                format!("tradeengine-{}", self.id).as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| format!("consume {}: {e}", s.queue))?;
        Ok((channel, dead, consumer))
    }

    /// Decodes one chunk and submits its signals in delivery order; invalid messages are
    /// dead-lettered here. Returns the deliveries waiting for their answers.
    async fn submit_chunk(
        &self,
        dead: &Channel,
        intake: &SignalIntake,
        deliveries: Vec<Delivery>,
    ) -> Vec<(Delivery, bus::Submitted)> {
        let s = &self.settings;
        let config = intake.state().config();
        let mapping = match bus::symbol_map(self.id.as_str(), &config) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(source = %self.id, error = %e, "cannot map symbols; messages go back");
                for d in &deliveries {
                    requeue(d).await;
                }
                return Vec::new();
            }
        };
        let now = intake.clock().now();
        let mut pending = Vec::with_capacity(deliveries.len());
        for d in deliveries {
            let message_id = d
                .properties
                .message_id()
                .as_ref()
                .map(|m| m.as_str().to_string());
            let ctx = MessageContext {
                transport_id: message_id.as_deref(),
                max_age: s.max_age,
                repeat_window: s.repeat_window,
                redelivered: d.redelivered,
                occurrences: Some(&self.occurrences),
                ..MessageContext::new(&self.id, &mapping, now)
            };
            match bus::decode(s.format, &d.data, &ctx, &s.strategy_signal) {
                Ok(signal) => match bus::submit_in_order(intake, signal, &d.data).await {
                    Some(submitted) => pending.push((d, submitted)),
                    None => {
                        self.settle(dead, &d, Verdict::Ack).await;
                    }
                },
                Err(e) => {
                    let key = message_id.as_deref().map(|m| format!("amqp:{m}"));
                    bus::refuse_message(intake, &self.id, key.as_deref(), &e, &d.data).await;
                    self.settle(dead, &d, Verdict::DeadLetter(e.to_string()))
                        .await;
                }
            }
        }
        pending
    }

    /// Acks, dead-letters or requeues each delivery once its submission answered; true when
    /// one went back to the queue.
    async fn settle_all(&self, dead: &Channel, pending: Vec<(Delivery, bus::Submitted)>) -> bool {
        let mut retry = false;
        for (d, submission) in pending {
            let outcome = bus::answer(submission).await;
            retry |= self.settle(dead, &d, bus::verdict(&outcome)).await;
        }
        retry
    }

    /// Tells the broker; true when the message went back for retry.
    async fn settle(&self, dead: &Channel, d: &Delivery, v: Verdict) -> bool {
        match v {
            Verdict::Ack => {
                if let Err(e) = d.acker.ack(BasicAckOptions::default()).await {
                    tracing::warn!(source = %self.id, error = %e, "ack failed; the message will be redelivered (and recognised)");
                }
                false
            }
            Verdict::Retry(reason) => {
                tracing::warn!(source = %self.id, %reason, "signal not taken now; back to the queue");
                requeue(d).await;
                true
            }
            Verdict::DeadLetter(reason) => match self.dead_letter(dead, d, &reason).await {
                Ok(()) => {
                    tracing::warn!(source = %self.id, queue = %self.settings.queue, %reason, "message dead-lettered");
                    if let Err(e) = d.acker.ack(BasicAckOptions::default()).await {
                        tracing::warn!(source = %self.id, error = %e, "cannot ack a dead-lettered message");
                    }
                    false
                }
                Err(e) => {
                    // Never drop an invalid message without its dead-letter copy.
                    tracing::error!(source = %self.id, error = %e, "cannot dead-letter; back to the queue");
                    requeue(d).await;
                    true
                }
            },
        }
    }

    async fn dead_letter(&self, dead: &Channel, d: &Delivery, reason: &str) -> Result<(), String> {
        let mut headers = FieldTable::default();
        let text = |s: &str| AMQPValue::LongString(LongString::from(s.as_bytes().to_vec()));
        headers.insert(
            ShortString::from("x-tradeengine-reason"),
            text(&crate::one_line::header_safe(reason)),
        );
        headers.insert(
            ShortString::from("x-tradeengine-source"),
            text(self.id.as_str()),
        );
        headers.insert(
            ShortString::from("x-tradeengine-queue"),
            text(&self.settings.queue),
        );
        let mut props = BasicProperties::default()
            .with_delivery_mode(2)
            .with_headers(headers);
        if let Some(id) = d.properties.message_id() {
            props = props.with_message_id(id.clone());
        }
        let confirm = dead
            .basic_publish(
                ShortString::from(""),
                self.settings.dead_letter_queue.as_str().into(),
                BasicPublishOptions::default(),
                &d.data,
                props,
            )
            .await
            .map_err(|e| e.to_string())?
            .await
            .map_err(|e| e.to_string())?;
        if confirm.is_nack() {
            return Err("the broker refused the dead-letter copy".into());
        }
        Ok(())
    }
}

async fn requeue(d: &Delivery) {
    let options = BasicNackOptions {
        requeue: true,
        ..Default::default()
    };
    if let Err(e) = d.acker.nack(options).await {
        tracing::warn!(error = %e, "nack failed; the message comes back when the channel closes");
    }
}

#[async_trait]
impl SignalSource for RabbitSource {
    fn id(&self) -> &SourceId {
        &self.id
    }

    async fn run(
        &self,
        intake: SignalIntake,
        shutdown: CancellationToken,
    ) -> Result<(), SourceError> {
        let mut backoff = Backoff::new();
        // Nothing is consumed before the stored occurrences are known: a redelivery would
        // otherwise look new.
        while let Err(e) = bus::learn_occurrences(&self.id, &intake, &self.occurrences).await {
            let delay = backoff.next_delay();
            tracing::warn!(source = %self.id, error = %e, retry_in_ms = delay.as_millis() as u64, "cannot read the stored signals; not consuming yet");
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(delay) => {}
            }
        }
        backoff.reset();
        loop {
            match self.session(&intake, &shutdown, &mut backoff).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(source = %self.id, error = %e, retry_in_ms = delay.as_millis() as u64, "rabbitmq session ended; reconnecting");
                    tokio::select! {
                        _ = shutdown.cancelled() => return Ok(()),
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }
}

/// Builds the source (for `build_sources`).
pub fn build(
    id: SourceId,
    name: &str,
    config: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Arc<dyn SignalSource>, String> {
    Ok(Arc::new(RabbitSource::new(
        id,
        settings(name, config, env)?,
    )))
}

#[cfg(test)]
#[path = "rabbitmq_tests.rs"]
mod tests;
