//! NATS JetStream source: a durable pull consumer on the signal subjects (petrosa-tradeengine's
//! producers publish on `signals.trading.<strategy>`), explicit ack only after the signal is
//! stored, invalid messages dead-lettered with their reason, reconnection by itself, and execution
//! events published back.
//!
//! `[sources.<name>.settings]` (every key optional; a typo is refused by name):
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `url` | `nats://127.0.0.1:4222` | server(s), comma-separated |
//! | `subject` | `signals.trading` | signals subject; without a wildcard, `<subject>.>` is taken too (as petrosa-tradeengine does) |
//! | `stream` | `TRADEENGINE_SIGNALS` | stream holding the subject; created when missing unless `create_stream = false`. Sources share it by default: each adds its subjects to it, and takes only its own subjects' messages |
//! | `durable` | `tradeengine-<name>` | durable consumer name (progress survives restarts) |
//! | `format` | `auto` | `auto`, `canonical`, `petrosa` (strategy signals) or `seed004` (amount signals) |
//! | `dead_letter_subject` | `signals.dead.<name>` | where invalid messages go, with header `Tradeengine-Reason` |
//! | `dead_letter_stream` | `TRADEENGINE_DEAD` | stream keeping them (created when missing); `""` publishes without a stream |
//! | `events_subject` | `execution.events` | execution events go to `<events_subject>.<name>`; `""` turns them off |
//! | `max_age_secs` | 300 | older signals (by their own time) are dead-lettered as stale; 0 = no limit |
//! | `ack_wait_secs` | 30 | unacknowledged messages are redelivered after this |
//! | `batch` | 256 | messages pulled and stored together (one transaction) |
//! | `scale_size_by_confidence` | true | strategy signals: `position_size_pct × confidence` |
//! | `user`, `password_env`, `token_env` | none | credentials; secrets only from the environment |
//!
//! Idempotency key of a message: its `Nats-Msg-Id` header, else its body id, else its stream
//! position `<stream>:<stream created, ns>:<sequence>` (see `tradeengine_signals::message`).

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::pull, stream};
use async_trait::async_trait;
use futures::StreamExt;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;
use tradeengine_model::SourceId;
use tradeengine_signals::message::MessageContext;

use super::bus::{self, Backoff, Verdict};
use super::events::{EventSink, EventsPublisher};
use super::{SignalSource, SourceError};
use crate::config::Config;
use crate::intake::SignalIntake;

mod settings;

pub use settings::{NatsSettings, settings};

/// Settling tasks (ack / dead-letter / nak of a stored chunk) that may run while the next
/// chunk is pulled and stored.
const SETTLING: usize = 4;

/// A message waiting for its submission's answer.
type Pending = (jetstream::Message, String, bus::Submitted);

/// The consumer. Cheap to clone (the settings are shared), so settling runs in its own task.
#[derive(Debug, Clone)]
pub struct NatsSource {
    id: SourceId,
    settings: Arc<NatsSettings>,
}

impl NatsSource {
    pub fn new(id: SourceId, settings: NatsSettings) -> Self {
        Self {
            id,
            settings: Arc::new(settings),
        }
    }

    async fn connect(&self) -> Result<async_nats::Client, String> {
        let mut options = async_nats::ConnectOptions::new()
            .name(format!("tradeengine-{}", self.id))
            .connection_timeout(Duration::from_secs(5));
        if let Some((u, p)) = &self.settings.user {
            options = options.user_and_password(u.clone(), p.expose_secret().to_string());
        }
        if let Some(t) = &self.settings.token {
            options = options.token(t.expose_secret().to_string());
        }
        let servers: Vec<&str> = self.settings.url.split(',').map(str::trim).collect();
        options.connect(servers).await.map_err(|e| {
            format!(
                "cannot connect to {}: {e}",
                crate::config::redact::redact_url(&self.settings.url)
            )
        })
    }

    /// One connection's life: set up the stream and the consumer, then take messages until
    /// shutdown (`Ok`) or an error that needs a new session (`Err`).
    async fn session(
        &self,
        intake: &SignalIntake,
        shutdown: &CancellationToken,
        backoff: &mut Backoff,
    ) -> Result<(), String> {
        let s = &self.settings;
        let client = self.connect().await?;
        let js = jetstream::new(client.clone());
        let (stream, created) = self.open_stream(&js).await?;
        let messages = self.open_messages(&stream).await?;
        tracing::info!(source = %self.id, stream = %s.stream, durable = %s.durable, "nats source consuming");
        backoff.reset();

        let events = s.events_subject.as_ref().map(|subject| {
            let publisher = EventsPublisher::new(
                self.id.as_str(),
                subject,
                intake.store().clone(),
                intake.state().clone(),
            );
            let sink = NatsSink(client.clone());
            let stop = shutdown.child_token();
            let guard = stop.clone().drop_guard();
            let task = tokio::spawn(async move { publisher.run(&sink, stop).await });
            (task, guard)
        });

        // Chunks are stored in delivery order; while one chunk's acks go out, the next is
        // pulled and stored.
        let mut chunks = messages.ready_chunks(s.batch);
        let mut settling = tokio::task::JoinSet::new();
        let outcome = loop {
            let chunk = tokio::select! {
                biased;
                _ = shutdown.cancelled() => break Ok(()),
                c = chunks.next() => c,
            };
            let Some(chunk) = chunk else {
                break Err("the message stream ended".to_string());
            };
            let mut msgs = Vec::with_capacity(chunk.len());
            let mut failed = None;
            for item in chunk {
                match item {
                    Ok(m) => msgs.push(m),
                    Err(e) => failed = Some(e.to_string()),
                }
            }
            // Messages already pulled are handled (or handed back) before anything else.
            let pending = self.submit_chunk(&js, intake, msgs, created).await;
            let me = self.clone();
            let js = js.clone();
            settling.spawn(async move { me.settle_all(&js, pending).await });
            while settling.len() > SETTLING {
                let _ = settling.join_next().await;
            }
            if let Some(e) = failed {
                break Err(format!("pulling messages: {e}"));
            }
        };
        while settling.join_next().await.is_some() {}
        if let Some((task, guard)) = events {
            drop(guard);
            let _ = task.await;
        }
        outcome
    }

    /// The stream (created when the settings ask), its creation time in nanoseconds (part of
    /// every message's position), and the dead-letter stream when one is set.
    ///
    /// Sources share the default stream names, so a stream made for one source lacks the next
    /// source's subjects: when the settings let the engine create streams, the subjects a
    /// stream does not cover yet are added to it (publishers to them got no stream before, and
    /// dead letters were retried for ever).
    async fn open_stream(&self, js: &jetstream::Context) -> Result<(stream::Stream, i128), String> {
        let s = &self.settings;
        let mut stream = if s.create_stream {
            covering_stream(js, &s.stream, &s.subjects).await?
        } else {
            js.get_stream(&s.stream)
                .await
                .map_err(|e| format!("stream {}: {e}", s.stream))?
        };
        let created = stream
            .info()
            .await
            .map_err(|e| format!("stream {}: {e}", s.stream))?
            .created
            .unix_timestamp_nanos();
        if let Some(dead) = &s.dead_letter_stream {
            covering_stream(js, dead, std::slice::from_ref(&s.dead_letter_subject))
                .await
                .map_err(|e| format!("dead-letter {e}"))?;
        }
        Ok((stream, created))
    }

    /// The durable pull consumer's messages, in batches of the settings' size.
    async fn open_messages(&self, stream: &stream::Stream) -> Result<pull::Stream, String> {
        let s = &self.settings;
        let consumer: jetstream::consumer::PullConsumer = stream
            .get_or_create_consumer(
                &s.durable,
                pull::Config {
                    durable_name: Some(s.durable.clone()),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: s.ack_wait,
                    max_ack_pending: i64::try_from(s.batch.saturating_mul(4)).unwrap_or(1024),
                    deliver_policy: jetstream::consumer::DeliverPolicy::All,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| format!("consumer {}: {e}", s.durable))?;
        consumer
            .stream()
            .max_messages_per_batch(s.batch)
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
            .await
            .map_err(|e| format!("consumer {}: {e}", s.durable))
    }

    /// Decodes one chunk and submits its signals in order; invalid messages are dead-lettered
    /// here. Returns the messages waiting for their answers.
    async fn submit_chunk(
        &self,
        js: &jetstream::Context,
        intake: &SignalIntake,
        msgs: Vec<jetstream::Message>,
        created_ns: i128,
    ) -> Vec<Pending> {
        let s = &self.settings;
        let config = intake.state().config();
        let mapping = match bus::symbol_map(self.id.as_str(), &config) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(source = %self.id, error = %e, "cannot map symbols; messages go back");
                for m in &msgs {
                    nak(m, Duration::from_secs(5)).await;
                }
                return Vec::new();
            }
        };
        let now = intake.clock().now();
        let mut pending = Vec::with_capacity(msgs.len());
        for msg in msgs {
            // The stream may hold other sources' subjects, and this source's durable consumer
            // sees them all: they are not this source's signals (another source takes them).
            if !s
                .subjects
                .iter()
                .any(|p| settings::subject_matches(p, &msg.subject))
            {
                if let Err(e) = msg.ack().await {
                    tracing::debug!(source = %self.id, error = %e, "cannot ack another source's message here");
                }
                continue;
            }
            let transport_id = msg
                .headers
                .as_ref()
                .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
                .map(|v| v.as_str().to_string());
            let position = msg
                .info()
                .ok()
                .map(|i| format!("{}:{created_ns}:{}", i.stream, i.stream_sequence));
            let ctx = MessageContext {
                transport_id: transport_id.as_deref(),
                position: position.as_deref(),
                max_age: s.max_age,
                ..MessageContext::new(&self.id, &mapping, now)
            };
            match bus::decode(s.format, &msg.payload, &ctx, &s.strategy_signal) {
                Ok(signal) => {
                    let key = signal.idempotency_key.clone();
                    match bus::submit_in_order(intake, signal, &msg.payload).await {
                        Some(submitted) => pending.push((msg, key, submitted)),
                        None => self.settle(js, &msg, &key, Verdict::Ack).await,
                    }
                }
                Err(e) => {
                    let key = transport_id.or(position).unwrap_or_default();
                    bus::refuse_message(intake, &self.id, Some(&key), &e, &msg.payload).await;
                    self.settle(js, &msg, &key, Verdict::DeadLetter(e.to_string()))
                        .await;
                }
            }
        }
        pending
    }

    /// Acks, dead-letters or naks each message once its submission answered.
    async fn settle_all(&self, js: &jetstream::Context, pending: Vec<Pending>) {
        for (msg, key, submission) in pending {
            let outcome = bus::answer(submission).await;
            self.settle(js, &msg, &key, bus::verdict(&outcome)).await;
        }
    }

    async fn settle(
        &self,
        js: &jetstream::Context,
        msg: &jetstream::Message,
        key: &str,
        v: Verdict,
    ) {
        match v {
            Verdict::Ack => {
                if let Err(e) = msg.ack().await {
                    tracing::warn!(source = %self.id, error = %e, "ack failed; the message will be redelivered (and recognised)");
                }
            }
            Verdict::Retry(reason) => {
                tracing::warn!(source = %self.id, %reason, "signal not taken now; redelivering later");
                nak(msg, Duration::from_secs(2)).await;
            }
            Verdict::DeadLetter(reason) => match self.dead_letter(js, msg, key, &reason).await {
                Ok(()) => {
                    tracing::warn!(source = %self.id, subject = %msg.subject, %reason, "message dead-lettered");
                    if let Err(e) = msg.ack_with(AckKind::Term).await {
                        tracing::warn!(source = %self.id, error = %e, "cannot terminate a dead-lettered message");
                    }
                }
                Err(e) => {
                    // Never drop an invalid message without its dead-letter copy.
                    tracing::error!(source = %self.id, error = %e, "cannot dead-letter; redelivering later");
                    nak(msg, Duration::from_secs(5)).await;
                }
            },
        }
    }

    async fn dead_letter(
        &self,
        js: &jetstream::Context,
        msg: &jetstream::Message,
        key: &str,
        reason: &str,
    ) -> Result<(), String> {
        let s = &self.settings;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(
            "Tradeengine-Reason",
            crate::one_line::header_safe(reason).as_str(),
        );
        headers.insert("Tradeengine-Source", self.id.as_str());
        headers.insert("Tradeengine-Subject", msg.subject.as_str());
        if !key.is_empty() {
            // The dead-letter stream drops a second copy of the same message (a redelivery).
            headers.insert(
                async_nats::header::NATS_MESSAGE_ID,
                crate::one_line::header_safe(&format!("dead:{key}")).as_str(),
            );
        }
        if s.dead_letter_stream.is_some() {
            js.publish_with_headers(s.dead_letter_subject.clone(), headers, msg.payload.clone())
                .await
                .map_err(|e| e.to_string())?
                .await
                .map_err(|e| e.to_string())?;
        } else {
            let client = js.client();
            client
                .publish_with_headers(s.dead_letter_subject.clone(), headers, msg.payload.clone())
                .await
                .map_err(|e| e.to_string())?;
            client.flush().await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// The stream `name`, created with `subjects` when missing; subjects it does not cover yet are
/// added to it.
async fn covering_stream(
    js: &jetstream::Context,
    name: &str,
    subjects: &[String],
) -> Result<stream::Stream, String> {
    let mut stream = js
        .get_or_create_stream(stream::Config {
            name: name.to_string(),
            subjects: subjects.to_vec(),
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("stream {name}: {e}"))?;
    let mut config = stream
        .info()
        .await
        .map_err(|e| format!("stream {name}: {e}"))?
        .config
        .clone();
    let missing: Vec<String> = subjects
        .iter()
        .filter(|want| {
            !config
                .subjects
                .iter()
                .any(|have| have == *want || settings::subject_matches(have, want))
        })
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(stream);
    }
    tracing::info!(stream = %name, subjects = ?missing, "adding this source's subjects to the stream");
    config.subjects.extend(missing);
    js.update_stream(config)
        .await
        .map_err(|e| format!("stream {name}: adding subjects: {e}"))?;
    Ok(stream)
}

async fn nak(msg: &jetstream::Message, delay: Duration) {
    if let Err(e) = msg.ack_with(AckKind::Nak(Some(delay))).await {
        tracing::warn!(error = %e, "nak failed; the message comes back after ack_wait");
    }
}

/// Execution events over the source's connection.
struct NatsSink(async_nats::Client);

#[async_trait]
impl EventSink for NatsSink {
    async fn publish(&self, subject: &str, payload: Vec<u8>) -> Result<(), String> {
        self.0
            .publish(subject.to_string(), payload.into())
            .await
            .map_err(|e| e.to_string())
    }

    async fn flush(&self) -> Result<(), String> {
        self.0.flush().await.map_err(|e| e.to_string())
    }
}

#[async_trait]
impl SignalSource for NatsSource {
    fn id(&self) -> &SourceId {
        &self.id
    }

    async fn run(
        &self,
        intake: SignalIntake,
        shutdown: CancellationToken,
    ) -> Result<(), SourceError> {
        let mut backoff = Backoff::new();
        loop {
            match self.session(&intake, &shutdown, &mut backoff).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(source = %self.id, error = %e, retry_in_ms = delay.as_millis() as u64, "nats session ended; reconnecting");
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
    Ok(Arc::new(NatsSource::new(id, settings(name, config, env)?)))
}
