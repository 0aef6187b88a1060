//! TradingView webhook sources: the configured endpoints and what happens to one alert between
//! the HTTP server and the intake.
//!
//! For each alert, in this order:
//! 1. parse, authenticate and validate it (`tradeengine-signals`). A failure is answered with its
//!    status (401 / 400 / 422), is written to the audit trail as a refused signal (without the
//!    body, which may hold a guessed secret) and never reaches a sleeve;
//! 2. the fast duplicate check: the same `event_id`, or the same body within a minute, **among
//!    alerts whose outcome is stored**. A key enters the in-memory window only after the store
//!    committed the alert (applied, refused or superseded) or recognised it as a duplicate, so an
//!    alert answered 5xx because the store failed is taken in full when it is sent again. While
//!    an alert is in flight, an identical one waits for it and then either is a duplicate (the
//!    first was stored) or goes through itself (the first failed);
//! 3. the close/open ordering of a reversal's two alerts (as sirouk/trade-engine ordered them).
//!    When an alert arrives within five seconds of the last accepted alert for the same symbol, and
//!    one of the two is `flat`, the pair is put in order by explicit `signal_seq`, else by the
//!    sleeve's state before the pair. If the new alert belongs *before* the one already applied, it
//!    is recorded as superseded and does not move the sleeve;
//! 4. the intake, which stores it durably before the HTTP answer goes out.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::Duration;
use secrecy::SecretString;
use serde::Serialize;
use tokio::sync::watch;
use tradeengine_model::{SleeveOrigin, SourceId, Symbol, Timestamp};
use tradeengine_signals::SymbolMap;
use tradeengine_signals::tradingview::{
    Dedup, DedupVerdict, OrderingBasis, PriorState, Sequenced, TvAlert, TvConfig, TvError,
    TvRequest, parse_request, resolve_order,
};

use crate::config::{Config, SourceKind};
use crate::intake::{IntakeError, IntakeOutcome, SignalIntake};

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
}

impl WebhookError {
    /// The HTTP status to answer with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::UnknownSource(_) => 404,
            Self::Alert(e) => e.http_status(),
            Self::Intake(IntakeError::UnknownSymbol(_) | IntakeError::UnknownSource(_)) => 422,
            Self::Intake(IntakeError::SourceDisabled(_)) => 403,
            Self::Intake(IntakeError::Closed | IntakeError::StoreUnavailable(_)) => 503,
            Self::Intake(_) => 500,
        }
    }
}

/// The last alert applied per symbol, for the ordering rule.
#[derive(Debug, Clone)]
struct Applied {
    alert: Sequenced,
    /// The sleeve's state before that alert.
    prior: PriorState,
}

/// One configured TradingView source.
#[derive(Debug)]
pub struct TvEndpoint {
    pub config: TvConfig,
    pub mapping: SymbolMap,
    dedup: Mutex<Dedup>,
    /// Dedup keys of alerts being stored now; a waiter learns when the holder finished.
    in_flight: Mutex<HashMap<String, watch::Receiver<()>>>,
    last: Mutex<BTreeMap<Symbol, Applied>>,
}

/// An alert's place in [`TvEndpoint::in_flight`]; dropping it (whatever the outcome) frees the
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
    if tv.secret.is_none() && !tv.allow_unauthenticated {
        return Err(format!(
            "sources.{name}.settings: set secret_env (or secret); webhooks without a secret are refused"
        ));
    }
    // Every traded symbol maps to itself; `[mapping.<name>]` adds the source's own names.
    let mut pairs: Vec<(String, String)> = config
        .symbols
        .iter()
        .map(|s| (s.symbol.clone(), s.symbol.clone()))
        .collect();
    if let Some(m) = config.mapping.get(name) {
        pairs.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let mapping = SymbolMap::new(pairs).map_err(|e| format!("mapping.{name}: {e}"))?;
    Ok(TvEndpoint {
        config: tv,
        mapping,
        dedup: Mutex::new(Dedup::new(
            Duration::hours(24),
            Duration::seconds(60),
            100_000,
        )),
        in_flight: Mutex::new(HashMap::new()),
        last: Mutex::new(BTreeMap::new()),
    })
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
                if let Err(store_err) = intake
                    .store()
                    .record_refused_signal(source, None, &e.to_string(), &detail, now)
                    .await
                {
                    tracing::warn!(error = %store_err, "cannot audit a refused webhook");
                }
                return Err(e.into());
            }
        };
        let Some(_in_flight) = self.claim(&alert, now).await else {
            return Ok(WebhookOutcome::Duplicate);
        };
        let outcome = self.take(alert.clone(), intake, now).await?;
        // Stored (or recognised by the store): from now on the fast path may fold repeats.
        if let Ok(mut d) = self.dedup.lock() {
            d.record(&alert, now);
        }
        Ok(outcome)
    }

    /// Waits until no identical alert is in flight; `None` when one stored earlier makes this a
    /// duplicate, else this alert's claim on its key.
    async fn claim(&self, alert: &TvAlert, now: Timestamp) -> Option<InFlight<'_>> {
        let key = format!(
            "{}\u{0}{}",
            alert.event_id.is_some(),
            alert.event_id.as_deref().unwrap_or(&alert.body_hash)
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
        now: Timestamp,
    ) -> Result<WebhookOutcome, WebhookError> {
        let source = self.config.source.as_str();
        let new = Sequenced::from(&alert);
        let symbol = alert.signal.symbol.clone();
        if let Some(basis) = self.superseded_by(&new) {
            let reason = format!("superseded: arrived late within a close/open pair ({basis:?})");
            intake
                .store()
                .record_refused_signal(
                    source,
                    Some(&alert.signal.idempotency_key),
                    &reason,
                    &serde_json::json!({"signal": alert.signal}),
                    now,
                )
                .await
                .map_err(IntakeError::from)?;
            return Ok(WebhookOutcome::Superseded { basis });
        }
        let prior = self
            .prior_state(intake, &alert.signal.source, &symbol)
            .await;
        let signal_id = alert.signal.id.to_string();
        match intake.submit(alert.signal).await? {
            IntakeOutcome::Applied(_) => {
                if let Ok(mut last) = self.last.lock() {
                    last.insert(symbol, Applied { alert: new, prior });
                }
                Ok(WebhookOutcome::Accepted { signal_id })
            }
            IntakeOutcome::Duplicate => Ok(WebhookOutcome::Duplicate),
            IntakeOutcome::Refused(r) => Ok(WebhookOutcome::Refused {
                reason: r.to_string(),
            }),
        }
    }

    /// `Some(basis)` when `new` resolves to before the alert last applied for its symbol.
    fn superseded_by(&self, new: &Sequenced) -> Option<OrderingBasis> {
        let last = self.last.lock().ok()?.get(&new.symbol).cloned()?;
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
        let sleeves = intake.state().sleeves.read().await;
        let open = sleeves
            .get(&(source.clone(), symbol.clone()))
            .is_some_and(|s| !matches!(s.exposure, SleeveOrigin::Depth(d) | SleeveOrigin::Base(d) if d.is_zero()));
        if open {
            PriorState::Open
        } else {
            PriorState::Flat
        }
    }
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
            endpoint(name, config, env).map(|e| (name.clone(), std::sync::Arc::new(e)))
        })
        .collect()
}
