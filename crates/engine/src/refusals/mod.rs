//! Every refused signal, whatever refused it (a webhook's 4xx, the REST API's, a broker message
//! dead-lettered, SN8 payload rows dropped, a sleeve rule), goes through [`record`], so an
//! operator sees each one the same way:
//!
//! - counted in `tradeengine_signals_refused_total{source, reason}`, `reason` being a label from
//!   a fixed set ([`code`], or a sleeve rule's name), never text from the input;
//! - logged at WARN once per source and reason per minute, with the count ([`window`]);
//! - stored in `refused_signals` with its body, secrets redacted and cut to 4 KiB
//!   ([`redact`]), listed by `tradeengine signals --refused`, `GET /api/v1/signals/refused` and
//!   the dashboard. The table is bounded per source (see `tradeengine_store::NewRefusal`).
//!
//! A refusal without an idempotency key (refused before one could be read: bad authentication,
//! malformed JSON) is what anyone can cause: it is stored (bounded) but audited only with the
//! minute's log line, so a flood cannot grow the append-only audit trail.

pub mod redact;
pub mod secrets;
pub mod window;

use tradeengine_model::Timestamp;
use tradeengine_store::{NewRefusal, SignalRecordOutcome, Store, StoreError};

pub use window::LogWindows;

/// Reason labels used outside the signal parsers (which name their own:
/// `TvError::refusal_code`, `MessageError::refusal_code`).
pub mod code {
    pub const AUTH: &str = "auth";
    pub const MALFORMED: &str = "malformed";
    pub const UNKNOWN_SOURCE: &str = "unknown_source";
    pub const UNKNOWN_SYMBOL: &str = "unknown_symbol";
    pub const SOURCE_DISABLED: &str = "source_disabled";
    pub const PRICE_BAND: &str = "price_band";
    pub const SUPERSEDED: &str = "superseded";
    /// A sided exit (`exit_long`) for a sleeve on the other side: nothing of that side to close.
    pub const EXIT_SIDE: &str = "exit_side";
    pub const INVALID: &str = "invalid";
}

/// One refusal to record.
#[derive(Debug, Clone)]
pub struct Refused<'a> {
    pub source: &'a str,
    /// The signal's idempotency key, when it was read that far (deduplicates redeliveries).
    pub key: Option<&'a str>,
    /// A bounded label (see the module docs).
    pub code: &'a str,
    /// The reason in words (may echo clipped input; [`record`] blanks `secrets` in it).
    pub reason: &'a str,
    /// Context for the audit event (status, peer, the refusal's fields).
    pub detail: serde_json::Value,
    /// The body as received; redacted before it is stored.
    pub body: Option<&'a [u8]>,
    /// Secret values to blank wherever they appear in the reason, the detail, the body and the
    /// log line (the source's own secret; [`SignalIntake::refuse`](crate::intake::SignalIntake::refuse)
    /// adds the ones the source registered in [`secrets`]).
    pub secrets: &'a [&'a str],
}

/// Counts, logs (rate-limited) and stores one refusal. Returns the store's answer: `Duplicate`
/// for a keyed refusal recorded before (then nothing is counted or logged again).
pub async fn record(
    store: &dyn Store,
    windows: &LogWindows,
    r: Refused<'_>,
    now: Timestamp,
) -> Result<SignalRecordOutcome, StoreError> {
    let body = r.body.map(|b| redact::redact_body(b, r.secrets));
    // The reason and the detail may echo a field that holds the secret (an unknown symbol).
    let reason = redact::scrub(r.reason, r.secrets);
    let mut detail = r.detail;
    redact::scrub_value(&mut detail, r.secrets);
    let r = Refused {
        reason: &reason,
        detail,
        ..r
    };
    let key = r.key.filter(|k| !k.is_empty());
    // Unkeyed: never a duplicate, so count first; the minute's line decides the audit event.
    let due = match key {
        None => Some(note(windows, &r, now)),
        Some(_) => None,
    };
    let outcome = store
        .record_refused_signal(&NewRefusal {
            source: r.source,
            idempotency_key: key,
            code: r.code,
            reason: r.reason,
            detail: &r.detail,
            body: body.as_deref(),
            audit: due.flatten().is_some(),
            at: now,
        })
        .await;
    if due.is_none() && !matches!(outcome, Ok(SignalRecordOutcome::Duplicate)) {
        note(windows, &r, now);
    }
    if let Err(e) = &outcome {
        tracing::error!(source = %r.source, reason = %r.code, error = %e, "cannot store a refused signal");
    }
    outcome
}

/// The metric and the rate-limited line; the line's count when one was due.
fn note(windows: &LogWindows, r: &Refused<'_>, now: Timestamp) -> Option<u64> {
    crate::telemetry::signal_refused_code(r.source, r.code);
    let due = windows.note(r.source, r.code, now);
    if let Some(count) = due {
        tracing::warn!(
            source = %r.source,
            reason = %r.code,
            count,
            last = %crate::one_line::header_safe(r.reason),
            "signals refused (logged once per source and reason per minute; all are in `tradeengine signals --refused`)"
        );
    }
    due
}

/// Rows a source dropped from a payload it did read (SN8 miners excluded from the ranking, by
/// exclusion): counted in the metric by `count`, logged with the minute's line, and stored as
/// one row per reason with that line, not per poll, so a source that drops the same rows every
/// poll leaves one row a minute per reason.
pub async fn record_dropped(
    store: &dyn Store,
    windows: &LogWindows,
    source: &str,
    code: &str,
    count: u64,
    detail: serde_json::Value,
    now: Timestamp,
) {
    crate::telemetry::signal_refused_count(source, code, count);
    if windows.note(source, code, now).is_none() {
        return;
    }
    let reason = format!("{count} payload rows dropped: {code}");
    tracing::warn!(%source, reason = %code, count, "source payload rows dropped (logged once per source and reason per minute)");
    let body = detail.to_string();
    let stored = store
        .record_refused_signal(&NewRefusal {
            source,
            idempotency_key: None,
            code,
            reason: &reason,
            detail: &detail,
            body: Some(&body),
            audit: false,
            at: now,
        })
        .await;
    if let Err(e) = stored {
        tracing::error!(%source, reason = %code, error = %e, "cannot store a refused signal");
    }
}
