//! TradingView webhook sources: the configured endpoints and what happens to one alert between
//! the HTTP server and the intake.
//!
//! For each alert, in this order:
//! 1. parse, authenticate and validate it (`tradeengine-signals`). A failure is answered with its
//!    status (401 / 400 / 422), is recorded as a refused signal (with the body: only its
//!    signal fields' text kept, see `crate::refusals::redact`) and never reaches a sleeve;
//! 2. the fast duplicate check: the same `event_id`, or the same body within a minute, **among
//!    alerts whose outcome is stored**. A key enters the in-memory window only after the store
//!    committed the alert (applied or refused) or recognised it as a duplicate, so an alert
//!    answered 5xx because the store failed is taken in full when it is sent again. A superseded
//!    alert (step 3) changed nothing and never enters it: sent again, it is judged afresh. While
//!    an alert is in flight, an identical one waits for it and then either is a duplicate (the
//!    first was stored) or goes through itself (the first failed);
//! 3. sirouk/trade-engine's close/open ordering. When an alert arrives within five seconds of
//!    the last accepted alert for the same symbol, and one of the two is `flat`, the pair is put
//!    in order by explicit `signal_seq`, else by the sleeve's state before the pair. If the new
//!    alert belongs *before* the one already applied, it is recorded as superseded and does not
//!    move the sleeve. Whatever the gap, an alert older than the one already applied for its
//!    symbol is superseded too (see [`sent_before`]), and so is one sent before the newest timed
//!    alert applied for it, even with untimed ones applied since: a late alert must not undo a
//!    newer one;
//! 4. the price band: an opening alert priced more than `price_band` from the venue's mark is
//!    refused (422; see [`price_band_check`]);
//! 5. the intake, which stores it durably before the HTTP answer goes out.
//!
//! Every refusal on this path (steps 1, 3, 4, and the intake's) is recorded through
//! [`crate::refusals`]: counted, logged once a minute, stored with the body (secret redacted).

use std::collections::BTreeMap;

use chrono::Duration;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use tokio::sync::watch;
use tradeengine_model::{Price, SleeveOrigin, SourceId, Symbol, Timestamp};
use tradeengine_signals::SymbolMap;
use tradeengine_signals::tradingview::{
    DedupVerdict, Direction, OrderingBasis, PriorState, Sequenced, TvAlert, TvConfig, TvError,
    TvRequest, parse_request, resolve_order,
};

use crate::config::{Config, SourceKind};
use crate::intake::{IntakeError, IntakeOutcome, SignalIntake};
use crate::refusals::{Refused, code};
use crate::state::webhooks::Applied;
pub use crate::state::webhooks::TvEndpoint;

/// sirouk/trade-engine's window for close/open pairs.
const PAIR_WINDOW: Duration = Duration::seconds(5);

/// What became of an alert that passed authentication and validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum WebhookOutcome {
    /// Stored and applied to the source's sleeve.
    Accepted { signal_id: String },
    /// Seen before; nothing changed.
    Duplicate,
    /// Arrived late within a close/open pair and belongs before the alert already applied.
    Superseded { basis: OrderingBasis },
    /// The source's sleeve rules refused it.
    Refused { reason: String },
}

/// Why an alert was not taken.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("no TradingView source named {0:?}")]
    UnknownSource(String),
    #[error("{0}")]
    Alert(#[from] TvError),
    #[error("{0}")]
    Intake(#[from] IntakeError),
    /// The alert's price is too far from the venue's mark (see [`price_band_check`]).
    #[error("{0}")]
    PriceBand(String),
}

impl WebhookError {
    /// The HTTP status to answer with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::UnknownSource(_) => 404,
            Self::Alert(e) => e.http_status(),
            Self::PriceBand(_) => 422,
            Self::Intake(IntakeError::UnknownSymbol(_) | IntakeError::UnknownSource(_)) => 422,
            Self::Intake(IntakeError::SourceDisabled(_)) => 403,
            Self::Intake(IntakeError::Closed | IntakeError::StoreUnavailable(_)) => 503,
            Self::Intake(_) => 500,
        }
    }
}

/// How long a numeric `signal_seq` orders alerts that carry no time of their own. A strategy
/// re-added on TradingView starts its counter again: without a bound, every alert after that
/// would be superseded for ever. Alerts that arrive out of order do so within seconds.
const SEQ_HORIZON: Duration = Duration::minutes(10);

/// Whether `new` was sent before `last` (the alert applied last for the same symbol), by the
/// alerts' own times when both carry one (`timenow` has one-second resolution: alerts of the
/// same second are left to the pair rule), else by a numeric `signal_seq` on both received
/// within [`SEQ_HORIZON`].
fn sent_before(
    new: &Sequenced,
    new_emitted: Option<Timestamp>,
    last: &Sequenced,
    last_emitted: Option<Timestamp>,
) -> bool {
    // An alert cannot have been sent after it arrived: a sender's clock running ahead (inside
    // the allowed future skew) must not make its alert look newer than every later one, or a
    // correctly timed close after it would be superseded and lost.
    if let (Some(new_at), Some(last_at)) = (new_emitted, last_emitted) {
        return new_at.min(new.at) < last_at.min(last.at);
    }
    let seq = |s: &Sequenced| {
        s.signal_seq
            .as_deref()
            .and_then(|v| v.trim().parse::<Decimal>().ok())
    };
    match (seq(new), seq(last)) {
        (Some(n), Some(l)) => n < l && (new.at - last.at).abs() <= SEQ_HORIZON,
        _ => false,
    }
}

/// An alert's place in the endpoint's in-flight keys; dropping it (whatever the outcome) frees the
/// key and wakes the waiters.
struct InFlight<'a> {
    endpoint: &'a TvEndpoint,
    key: String,
    _done: watch::Sender<()>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Ok(mut map) = self.endpoint.in_flight.lock() {
            map.remove(&self.key);
        }
    }
}

/// Builds the parser settings of a `tradingview` source from `[sources.<name>.settings]`.
///
/// `secret_env = "NAME"` reads the secret from an environment variable, so it need not be in the
/// file; `secret = "…"` in the file works too (keep the file at mode 0600 then).
pub fn endpoint(
    name: &str,
    config: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<TvEndpoint, String> {
    let source = config
        .sources
        .get(name)
        .filter(|s| s.kind == SourceKind::Tradingview)
        .ok_or_else(|| format!("no tradingview source named {name:?}"))?;
    let mut settings = source.settings.clone();
    if let Some(var) = settings.remove("secret_env") {
        let var = var
            .as_str()
            .ok_or("secret_env must be a string")?
            .to_string();
        let value = env(&var).ok_or_else(|| format!("environment variable {var} is not set"))?;
        settings.insert("secret".into(), toml::Value::String(value));
    }
    settings.insert("source".into(), toml::Value::String(name.to_string()));
    let tv: TvConfig = toml::Value::Table(settings)
        .try_into()
        .map_err(|e: toml::de::Error| format!("sources.{name}.settings: {}", e.message()))?;
    if tv.price_band <= Decimal::ZERO {
        return Err(format!(
            "sources.{name}.settings: price_band must be above 0 (a fraction: 0.1 is 10 %)"
        ));
    }
    if tv.secret.is_none() && !tv.allow_unauthenticated {
        return Err(format!(
            "sources.{name}.settings: set secret_env (or secret); webhooks without a secret are refused"
        ));
    }
    // Every traded symbol maps to itself; `[mapping.<name>]` adds the source's own names.
    let mut pairs: Vec<(String, String)> = config
        .symbols
        .iter()
        .map(|s| (s.symbol.to_string(), s.symbol.to_string()))
        .collect();
    if let Some(m) = config.mapping.get(name) {
        pairs.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let mapping = SymbolMap::new(pairs).map_err(|e| format!("mapping.{name}: {e}"))?;
    Ok(TvEndpoint::new(tv, mapping))
}

/// A fresh random secret (128 bits from the operating system's RNG, as hex) for the demo's
/// TradingView source.
pub fn generate_secret() -> Result<SecretString, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| format!("no OS randomness: {e}"))?;
    Ok(SecretString::from(
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>(),
    ))
}

impl TvEndpoint {
    /// Takes one webhook request. See the module docs for the steps.
    pub async fn handle(
        &self,
        request: &TvRequest<'_>,
        intake: &SignalIntake,
        now: Timestamp,
    ) -> Result<WebhookOutcome, WebhookError> {
        let source = self.config.source.as_str();
        let alert = match parse_request(request, &self.config, &self.mapping, now) {
            Ok(a) => a,
            Err(e) => {
                let detail = serde_json::json!({
                    "status": e.http_status(),
                    "peer": request.peer.map(|p| p.to_string()),
                    "body_bytes": request.body.len(),
                });
                let reason = e.to_string();
                let secret = self.config.secret.as_ref().map(|s| s.expose_secret());
                let _ = intake
                    .refuse(Refused {
                        source,
                        key: None,
                        code: e.refusal_code(),
                        reason: &reason,
                        detail,
                        body: Some(request.body),
                        secrets: &secret.into_iter().collect::<Vec<_>>(),
                    })
                    .await;
                return Err(e.into());
            }
        };
        let Some(_in_flight) = self.claim(&alert, now).await else {
            return Ok(WebhookOutcome::Duplicate);
        };
        let outcome = self.take(alert.clone(), intake).await?;
        // Stored (or recognised by the store): from now on the fast path may fold repeats.
        // Except a superseded alert: it changed nothing, and the same alert sent again (a
        // trader re-sending an exit the pair rule set aside) is judged afresh, not answered
        // "duplicate" for a minute (or a day, by `event_id`) while the position stays open.
        if let Ok(mut d) = self.dedup.lock()
            && !matches!(outcome, WebhookOutcome::Superseded { .. })
        {
            d.record(&alert, now);
        }
        Ok(outcome)
    }

    /// Waits until no identical alert is in flight; `None` when one stored earlier makes this a
    /// duplicate, else this alert's claim on its key.
    async fn claim(&self, alert: &TvAlert, now: Timestamp) -> Option<InFlight<'_>> {
        let key = format!(
            "{}\u{0}{}",
            alert.event_id.as_deref().unwrap_or_default(),
            alert.body_hash
        );
        loop {
            let mut wait = {
                let seen = self
                    .dedup
                    .lock()
                    .map(|mut d| d.seen(alert, now))
                    .unwrap_or(DedupVerdict::Fresh);
                if let DedupVerdict::Duplicate { .. } = seen {
                    return None;
                }
                let Ok(mut map) = self.in_flight.lock() else {
                    // A poisoned lock: go without the fast path; the store still deduplicates.
                    let (done, _) = watch::channel(());
                    return Some(InFlight {
                        endpoint: self,
                        key: String::new(),
                        _done: done,
                    });
                };
                match map.get(&key) {
                    Some(rx) => rx.clone(),
                    None => {
                        let (done, rx) = watch::channel(());
                        map.insert(key.clone(), rx);
                        return Some(InFlight {
                            endpoint: self,
                            key,
                            _done: done,
                        });
                    }
                }
            };
            // Resolves when the holder drops its sender (stored or failed); then look again.
            let _ = wait.changed().await;
        }
    }

    /// Steps 3 and 4 of the module docs for an alert that is not a known duplicate.
    async fn take(
        &self,
        alert: TvAlert,
        intake: &SignalIntake,
    ) -> Result<WebhookOutcome, WebhookError> {
        let source = self.config.source.as_str();
        let new = Sequenced::from(&alert);
        let symbol = alert.signal.symbol.clone();
        self.restore_applied(&symbol, intake).await;
        if let Some(basis) = self.superseded_by(&new, alert.signal.emitted_at) {
            let reason = match basis {
                OrderingBasis::SentBeforeApplied => {
                    "superseded: sent before the alert already applied for this symbol".to_string()
                }
                _ => format!("superseded: arrived late within a close/open pair ({basis:?})"),
            };
            intake
                .refuse(Refused {
                    source,
                    key: Some(&alert.signal.idempotency_key),
                    code: code::SUPERSEDED,
                    reason: &reason,
                    detail: serde_json::json!({"signal": alert.signal}),
                    body: None,
                    secrets: &[],
                })
                .await
                .map_err(IntakeError::from)?;
            return Ok(WebhookOutcome::Superseded { basis });
        }
        if let Some(reason) = self.wrong_side_exit(&alert, intake).await {
            intake
                .refuse(Refused {
                    source,
                    key: Some(&alert.signal.idempotency_key),
                    code: code::EXIT_SIDE,
                    reason: &reason,
                    detail: serde_json::json!({"signal": alert.signal}),
                    body: None,
                    secrets: &[],
                })
                .await
                .map_err(IntakeError::from)?;
            return Ok(WebhookOutcome::Refused { reason });
        }
        if let Some(reason) = self.price_band(&alert, intake).await {
            let body = serde_json::to_vec(&alert.signal.raw).unwrap_or_default();
            intake
                .refuse(Refused {
                    source,
                    key: Some(&alert.signal.idempotency_key),
                    code: code::PRICE_BAND,
                    reason: &reason,
                    detail: serde_json::json!({"signal": alert.signal.id, "symbol": symbol}),
                    body: Some(&body),
                    secrets: &[],
                })
                .await
                .map_err(IntakeError::from)?;
            return Err(WebhookError::PriceBand(reason));
        }
        let prior = self
            .prior_state(intake, &alert.signal.source, &symbol)
            .await;
        let signal_id = alert.signal.id.to_string();
        let emitted_at = alert.signal.emitted_at;
        match intake.submit(alert.signal).await? {
            IntakeOutcome::Applied(_) => {
                let before = self
                    .last
                    .lock()
                    .ok()
                    .and_then(|l| l.get(&symbol)?.newest_sent);
                let sent = emitted_at.map(|e| e.min(new.at));
                let applied = Applied {
                    newest_sent: before.max(sent),
                    alert: new,
                    emitted_at,
                    prior,
                };
                if let Ok(mut last) = self.last.lock() {
                    last.insert(symbol, applied.clone());
                }
                super::tv_applied::save(&**intake.store(), source, &applied).await;
                Ok(WebhookOutcome::Accepted { signal_id })
            }
            IntakeOutcome::Duplicate => Ok(WebhookOutcome::Duplicate),
            IntakeOutcome::Refused(r) => Ok(WebhookOutcome::Refused {
                reason: r.to_string(),
            }),
        }
    }

    /// Why a sided exit is refused, if it is: `exit_long` while the source's sleeve is short
    /// (or `exit_short` while long) has nothing of its side to close, and taking it as "flat"
    /// closed the other side (a late exit of the previous trade closed the new one).
    async fn wrong_side_exit(&self, alert: &TvAlert, intake: &SignalIntake) -> Option<String> {
        let side = alert.closes_only()?;
        let sleeve = intake
            .state()
            .sleeve(&(alert.signal.source.clone(), alert.signal.symbol.clone()))
            .await?;
        let (SleeveOrigin::Depth(d) | SleeveOrigin::Base(d)) = sleeve.exposure;
        let held = if d > Decimal::ZERO {
            Direction::Long
        } else if d < Decimal::ZERO {
            Direction::Short
        } else {
            return None;
        };
        (held != side).then(|| {
            format!(
                "{} closes a {} position, but this source holds {} {}: nothing to close",
                alert.action.as_deref().unwrap_or("exit"),
                side_word(side),
                side_word(held),
                alert.signal.symbol
            )
        })
    }

    /// Why the alert's price is refused, if it is: see [`price_band_check`]. The venue's mark
    /// is the engine's latest price for the symbol.
    async fn price_band(&self, alert: &TvAlert, intake: &SignalIntake) -> Option<String> {
        let tradeengine_model::Intent::Target(t) = &alert.signal.intent else {
            return None;
        };
        let price = t.reference_price?;
        let mark = intake.state().price(&alert.signal.symbol).await;
        if mark.is_none() && !t.depth.is_zero() {
            tracing::warn!(source = %self.config.source, symbol = %alert.signal.symbol, %price, "no mark yet: the alert's price is taken unchecked");
        }
        price_band_check(t.depth, price, mark, self.config.price_band)
    }

    /// After a restart, the alert applied last for `symbol` before it, from the store (see
    /// [`super::tv_applied`]), when this process has applied none yet.
    async fn restore_applied(&self, symbol: &Symbol, intake: &SignalIntake) {
        let known = self
            .last
            .lock()
            .map(|l| l.contains_key(symbol))
            .unwrap_or(true);
        if known {
            return;
        }
        let source = self.config.source.as_str();
        if let Some(applied) = super::tv_applied::load(&**intake.store(), source, symbol).await
            && let Ok(mut last) = self.last.lock()
        {
            last.entry(symbol.clone()).or_insert(applied);
        }
    }

    /// `Some(basis)` when `new` was sent, or resolves to, before the alert last applied for
    /// its symbol.
    fn superseded_by(
        &self,
        new: &Sequenced,
        emitted_at: Option<Timestamp>,
    ) -> Option<OrderingBasis> {
        let last = self.last.lock().ok()?.get(&new.symbol).cloned()?;
        if sent_before(new, emitted_at, &last.alert, last.emitted_at) {
            return Some(OrderingBasis::SentBeforeApplied);
        }
        // Sent before a timed alert applied earlier, whatever was applied since (an untimed
        // alert in between used to reset the rule, and a late alert then undid newer ones).
        if let (Some(e), Some(newest)) = (emitted_at, last.newest_sent)
            && e.min(new.at) < newest
        {
            return Some(OrderingBasis::SentBeforeApplied);
        }
        // Sent after it by the alerts' own clocks: in order, whatever the pair rule would
        // guess. (A flat sent five seconds after a long is that position's close, not the
        // first half of a reversal; the pair rule took it for one and the close was lost.)
        if sent_before(&last.alert, last.emitted_at, new, emitted_at) {
            return None;
        }
        let prior = last.prior;
        let resolution = resolve_order(&[last.alert, new.clone()], |_| Some(prior), PAIR_WINDOW);
        let order = resolution.by_symbol.get(&new.symbol)?;
        let decides = order.last()?;
        (decides.index == 0).then_some(decides.basis)
    }

    async fn prior_state(
        &self,
        intake: &SignalIntake,
        source: &SourceId,
        symbol: &Symbol,
    ) -> PriorState {
        let open = intake
            .state()
            .sleeve(&(source.clone(), symbol.clone()))
            .await
            .is_some_and(|s| !matches!(s.exposure, SleeveOrigin::Depth(d) | SleeveOrigin::Base(d) if d.is_zero()));
        if open {
            PriorState::Open
        } else {
            PriorState::Flat
        }
    }
}

fn side_word(d: Direction) -> &'static str {
    match d {
        Direction::Long => "long",
        Direction::Short => "short",
        Direction::Flat => "flat",
    }
}

/// The price band: an alert that opens or changes a position (depth not zero) priced more than
/// `band` (a fraction) from the venue's `mark` is refused with the reason. Not checked:
///
/// - **with no mark yet** (the first moments after start, before the venue's feed priced the
///   symbol): the alert is accepted, its price unchecked. TradingView never sends a refused
///   alert again, so refusing would lose a real position change for want of a price we are
///   about to have; the mark-based checks downstream (the risk gate's own `price_band` on
///   orders, sizing at the mark) still apply to every order it causes;
/// - **for a close** (depth 0): a wrong price must never keep a position open, and a close sets
///   no stops, so its price anchors nothing.
pub fn price_band_check(
    depth: Decimal,
    price: Price,
    mark: Option<Price>,
    band: Decimal,
) -> Option<String> {
    let mark = mark?.get();
    if depth.is_zero() || mark <= Decimal::ZERO {
        return None;
    }
    let off = (price.get() - mark).abs().checked_div(mark)?;
    (off > band).then(|| {
        format!(
            "price {} is {}% away from the mark {} (price_band {}%)",
            price.get().normalize(),
            (off * Decimal::ONE_HUNDRED).round_dp(2).normalize(),
            mark.normalize(),
            (band * Decimal::ONE_HUNDRED).normalize()
        )
    })
}

/// Every enabled TradingView source of a configuration, by name.
pub fn endpoints(
    config: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, std::sync::Arc<TvEndpoint>>, String> {
    config
        .sources
        .iter()
        .filter(|(_, s)| s.kind == SourceKind::Tradingview && s.enabled)
        .map(|(name, _)| {
            let e = endpoint(name, config, env)?;
            // Refusals of this source are scrubbed of its secret whatever path records them.
            crate::refusals::secrets::register(
                &config.engine.data_dir,
                name,
                e.config.secret.iter().cloned().collect(),
            );
            Ok((name.clone(), std::sync::Arc::new(e)))
        })
        .collect()
}
