//! What the broker consumers ([`super::nats`], [`super::rabbitmq`]) share: reading a message in
//! the configured format, deciding what a submission's outcome means for the broker (ack, dead
//! letter, redeliver), submitting a chunk of messages in delivery order, and the reconnect
//! back-off.
//!
//! **Ack rules** (exactly once into sleeves over at-least-once delivery): a message is
//! acknowledged only after the intake answered, and the intake answers only once the signal is
//! durable. Applied, Duplicate (a redelivery the store recognised) and Refused (a stored, audited
//! decision of the source's rules) are all acknowledged. A message that can never become a signal
//! (bad schema, unknown symbol, stale) is dead-lettered with its reason and then removed. Anything
//! else (store unavailable, engine stopping) is handed back for redelivery. Every dead-lettered
//! message is also a recorded refusal ([`refuse_message`], or the intake's own for a signal it
//! refuses), so it shows in `tradeengine signals --refused`, the API and the metrics.

use std::time::Duration;

use serde::Deserialize;
use tradeengine_model::Signal;
use tradeengine_signals::SymbolMap;
use tradeengine_signals::amount_signal::amount_signal;
use tradeengine_signals::canonical::{canonical_signal, looks_like_canonical};
use tradeengine_signals::message::{MessageContext, MessageError, json_object};
use tradeengine_signals::strategy_signal::{
    StrategySignalOptions, looks_like_strategy_signal, strategy_signal,
};

use crate::config::Config;
use crate::intake::{IntakeError, IntakeOutcome, SignalIntake};

/// Which schema a source's messages follow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageFormat {
    /// Recognise each message: a strategy signal (`strategy_id` + `action`), canonical (`mode`,
    /// `target` or `order`), else an amount signal (`amount`).
    #[default]
    Auto,
    Canonical,
    /// The strategy signal schema petrosa-tradeengine's producers publish; the config keeps that
    /// project's name so its users recognise it.
    #[serde(rename = "petrosa")]
    StrategySignal,
    /// The amount-sized `TradingSignal` algo_trading_platform's producers publish; the config
    /// keeps the name users already type.
    #[serde(rename = "seed004")]
    AmountSignal,
}

/// Reads one message body as a signal.
pub fn decode(
    format: MessageFormat,
    body: &[u8],
    ctx: &MessageContext<'_>,
    strategy_opts: &StrategySignalOptions,
) -> Result<Signal, MessageError> {
    let obj = json_object(body)?;
    match format {
        MessageFormat::Canonical => canonical_signal(&obj, ctx),
        MessageFormat::StrategySignal => strategy_signal(&obj, ctx, strategy_opts),
        MessageFormat::AmountSignal => amount_signal(&obj, ctx),
        MessageFormat::Auto if looks_like_strategy_signal(&obj) => {
            strategy_signal(&obj, ctx, strategy_opts)
        }
        MessageFormat::Auto if looks_like_canonical(&obj) => canonical_signal(&obj, ctx),
        MessageFormat::Auto if obj.contains_key("amount") => amount_signal(&obj, ctx),
        MessageFormat::Auto => Err(MessageError::Invalid {
            field: "(body)".into(),
            reason: "not a known format: canonical (mode/target/order), petrosa \
                     (strategy_id, action) or seed004 (amount)"
                .into(),
        }),
    }
}

/// The symbols a source may name: every traded symbol as itself, plus `[mapping.<source>]`.
pub fn symbol_map(name: &str, config: &Config) -> Result<SymbolMap, String> {
    let mut pairs: Vec<(String, String)> = config
        .symbols
        .iter()
        .map(|s| (s.symbol.to_string(), s.symbol.to_string()))
        .collect();
    if let Some(m) = config.mapping.get(name) {
        pairs.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    SymbolMap::new(pairs).map_err(|e| format!("mapping.{name}: {e}"))
}

/// What to tell the broker about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Durable (applied, duplicate or refused by the rules): acknowledge.
    Ack,
    /// It can never become a signal: dead-letter with this reason, then remove it.
    DeadLetter(String),
    /// Not taken now (store, shutdown): redeliver later.
    Retry(String),
}

/// The verdict for a submission's outcome (module docs).
pub fn verdict(outcome: &Result<IntakeOutcome, IntakeError>) -> Verdict {
    match outcome {
        Ok(_) => Verdict::Ack,
        Err(e @ (IntakeError::UnknownSymbol(_) | IntakeError::Core(_))) => {
            Verdict::DeadLetter(e.to_string())
        }
        Err(e) => Verdict::Retry(e.to_string()),
    }
}

/// Records a broker message that cannot become a signal (it is dead-lettered): counted,
/// logged once a minute, stored with its body (see [`crate::refusals`]). `key` (the transport's
/// message id or stream position) keeps a redelivery of the same message from being stored
/// twice.
pub async fn refuse_message(
    intake: &SignalIntake,
    source: &tradeengine_model::SourceId,
    key: Option<&str>,
    error: &MessageError,
    body: &[u8],
) {
    let reason = error.to_string();
    let key = key.filter(|k| !k.is_empty()).map(|k| format!("dead:{k}"));
    let _ = intake
        .refuse(crate::refusals::Refused {
            source: source.as_str(),
            key: key.as_deref(),
            code: error.refusal_code(),
            reason: &reason,
            detail: serde_json::json!({"dead_lettered": true, "field": error.field()}),
            body: Some(body),
            secrets: &[],
        })
        .await;
}

/// What [`submit_now`] returns: the signal queued (its outcome to come), or why it was not.
pub type Submitted = Result<crate::intake::Queued, IntakeError>;

/// Queues `signal` without waiting for its outcome: signals then reach the intake (and their
/// sleeves) in the order this is called, while their answers are awaited together.
///
/// Awaited to the end, never polled once and put aside: a submission set aside while it waited
/// for one of the engine's locks kept its place in that lock's queue, was handed the lock, and
/// held it until somebody polled it again, which could be never (the intake, the workers and
/// `/ready` all waited behind it: a NATS burst froze every source until a restart).
pub async fn submit_now(intake: &SignalIntake, signal: Signal) -> Submitted {
    intake.enqueue(signal).await
}

/// [`submit_now`] for a signal that is not superseded ([`crate::sent_order`]): `None` for one
/// sent before the newest signal already taken for its source and symbol, which is recorded as
/// refused (code `superseded`, with `body`) and never reaches the intake; the broker acks it
/// (sent again, it is judged the same way).
pub async fn submit_in_order(
    intake: &SignalIntake,
    signal: Signal,
    body: &[u8],
) -> Option<Submitted> {
    match intake
        .state()
        .sent_order
        .take(&**intake.store(), &signal)
        .await
    {
        Ok(()) => Some(submit_now(intake, signal).await),
        Err(newest) => {
            let reason = crate::sent_order::superseded_reason(&signal, newest);
            let _ = intake
                .refuse(crate::refusals::Refused {
                    source: signal.source.as_str(),
                    key: Some(&signal.idempotency_key),
                    code: crate::refusals::code::SUPERSEDED,
                    reason: &reason,
                    detail: serde_json::json!({
                        "symbol": signal.symbol,
                        "sent_at": signal.emitted_at,
                        "newest_sent_at": newest,
                    }),
                    body: Some(body),
                    secrets: &[],
                })
                .await;
            None
        }
    }
}

/// Awaits a submission made by [`submit_now`].
pub async fn answer(s: Submitted) -> Result<IntakeOutcome, IntakeError> {
    s?.outcome().await
}

/// How far back [`learn_occurrences`] reads: a redelivery after a longer outage than this may
/// count again (the occurrence table forgot its body).
pub const OCCURRENCE_HORIZON: chrono::TimeDelta = chrono::TimeDelta::days(7);
/// At most this many stored signals are read by [`learn_occurrences`].
const OCCURRENCE_SCAN: i64 = 500_000;

/// Fills a source's occurrence table (`tradeengine_signals::occurrence`) from the body-keyed
/// signals the store holds for it, newest first, back to [`OCCURRENCE_HORIZON`]. Returns how many
/// were learned.
pub async fn learn_occurrences(
    source: &tradeengine_model::SourceId,
    intake: &SignalIntake,
    table: &std::sync::Mutex<tradeengine_signals::message::Occurrences>,
) -> Result<usize, IntakeError> {
    let page = tradeengine_store::MAX_PAGE;
    let oldest = intake.clock().now() - OCCURRENCE_HORIZON;
    let (mut offset, mut learned) = (0_i64, 0_usize);
    while offset < OCCURRENCE_SCAN {
        let signals = intake.store().recent_signals(page, offset).await?;
        let Some(last) = signals.last() else { break };
        let done = last.received_at < oldest;
        let Ok(mut t) = table.lock() else { break };
        for s in signals.iter().filter(|s| &s.source == source) {
            if s.received_at >= oldest && s.idempotency_key.starts_with("body:") {
                t.learn_key(&s.idempotency_key, s.received_at);
                learned += 1;
            }
        }
        drop(t);
        if done || i64::try_from(signals.len()).unwrap_or(page) < page {
            break;
        }
        offset += page;
    }
    tracing::debug!(%source, learned, "occurrences of id-less messages read from the store");
    Ok(learned)
}

/// Reconnect delays: 100 ms doubling to 10 s, back to the start after a session that ran.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(10);

    pub fn new() -> Self {
        Self { next: Self::FIRST }
    }

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        d
    }

    pub fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads `value` (a source's `settings` table) into `T`, naming the source in errors.
pub fn read_settings<T: serde::de::DeserializeOwned>(
    name: &str,
    settings: &toml::Table,
) -> Result<T, String> {
    toml::Value::Table(settings.clone())
        .try_into()
        .map_err(|e: toml::de::Error| format!("sources.{name}.settings: {}", e.message()))
}

/// Reads a secret from the environment variable a setting names.
pub fn secret_from_env(
    key: &str,
    var: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<secrecy::SecretString>, String> {
    match var {
        None => Ok(None),
        Some(v) => env(v)
            .map(|s| Some(secrecy::SecretString::from(s)))
            .ok_or_else(|| format!("{key}: environment variable {v} is not set")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradeengine_core::sleeve::Refusal;
    use tradeengine_model::SourceId;

    #[test]
    fn verdicts_ack_durable_outcomes_and_retry_the_rest() {
        assert_eq!(verdict(&Ok(IntakeOutcome::Duplicate)), Verdict::Ack);
        assert_eq!(
            verdict(&Ok(IntakeOutcome::Refused(Refusal::AlreadyOpen))),
            Verdict::Ack
        );
        assert!(matches!(
            verdict(&Err(IntakeError::UnknownSymbol("X".into()))),
            Verdict::DeadLetter(_)
        ));
        assert!(matches!(
            verdict(&Err(IntakeError::Closed)),
            Verdict::Retry(_)
        ));
        assert!(matches!(
            verdict(&Err(IntakeError::BatchFailed("disk".into()))),
            Verdict::Retry(_)
        ));
    }

    #[test]
    fn auto_format_recognises_each_schema() {
        let source = SourceId::new("bus").unwrap_or_else(|_| unreachable!());
        let map = SymbolMap::new([("BTCUSDT", "BTCUSDT")]).unwrap_or_default();
        let ctx = MessageContext::new(&source, &map, chrono::Utc::now());
        let opts = StrategySignalOptions::default();
        let petrosa = br#"{"strategy_id":"s","symbol":"BTCUSDT","action":"hold","confidence":0.5,
            "price":1,"quantity":0,"current_price":1,"source":"x","strategy":"s"}"#;
        let canonical = br#"{"symbol":"BTCUSDT","target":{"side":"flat"}}"#;
        let s4 = br#"{"symbol":"BTCUSDT","amount":"10","action":3,"source":"t"}"#;
        for body in [&petrosa[..], &canonical[..], &s4[..]] {
            assert!(decode(MessageFormat::Auto, body, &ctx, &opts).is_ok());
        }
        let e = decode(MessageFormat::Auto, br#"{"x":1}"#, &ctx, &opts);
        assert!(e.is_err_and(|e| e.to_string().contains("not a known format")));
        // A fixed format does not guess.
        assert!(decode(MessageFormat::AmountSignal, canonical, &ctx, &opts).is_err());
    }

    #[test]
    fn backoff_doubles_to_a_cap_and_resets() {
        let mut b = Backoff::new();
        let delays: Vec<u128> = (0..9).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(
            delays,
            [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]
        );
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(100));
    }
}
