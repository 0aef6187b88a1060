//! The strategy source (after Angleito/Single-Agent-Trader's LLM bot): every closed candle, per
//! symbol it is weighted in, candles → VuManChu Cipher A/B → a decision (the LLM's, validated, else
//! the rule-based fallback's) → an order intent into its own sleeve, like any other source. The
//! rationale, the deciding path, validation's adjustments and the market snapshot travel in the
//! signal's raw JSON, which the store keeps in the audit trail.
//!
//! Candles come from the account named in the settings ([`crate::candles`]): on paper its own
//! price feed, so decisions are made on the prices the account fills at; on a live venue the
//! venue's public klines, polled each interval into a bounded window, a hole refilled by
//! fetching again and never decided across.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use tradeengine_model::{
    Intent, Price, Signal, SignalId, SleeveOrigin, SleeveState, SourceId, Symbol, Timestamp,
};
use tradeengine_signals::strategy::cipher::{self, MIN_CANDLES};
use tradeengine_signals::strategy::{
    Agent, Candle, CipherAParams, CipherBParams, DecisionRules, FallbackParams, LlmClient,
    LlmConfig, Outcome, Position,
};
use tradeengine_venues::market::KlineInterval;

use super::{SignalSource, SourceError};
use crate::candles::{CandleBook, Refresh};
pub use crate::candles::{CandleSource, FeedCandles};
use crate::config::{Config, SourceKind};
use crate::intake::{IntakeError, IntakeOutcome, SignalIntake};

/// `[sources.<name>.settings.llm]`: an OpenAI-compatible endpoint. Absent = fallback rules only.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmSettings {
    pub base_url: String,
    pub model: String,
    /// Environment variable holding the key; none sends no key (local servers).
    #[serde(default)]
    pub api_key_env: Option<String>,
    #[serde(default = "default_llm_timeout")]
    pub timeout_ms: u64,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
}

/// `[sources.<name>.settings]` of a `strategy` source.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategySettings {
    /// Account whose market data gives the candles: a paper account's price feed or a live
    /// venue account's public klines. Default: the first paper account, else the first account.
    #[serde(default)]
    pub account: Option<String>,
    /// Candle length in seconds (a decision per closed candle). A live venue account needs one
    /// of its kline intervals (60, 300, 900, 1800, 3600, 14400, 86400).
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// The same as a kline name (`"1m"`, `"5m"`, `"1h"`…); sets `interval_secs`.
    #[serde(default)]
    pub interval: Option<String>,
    /// Candles kept per symbol (at least the indicators' warm-up, 61).
    #[serde(default = "default_window")]
    pub window: usize,
    /// Feed prices sampled per candle for its high and low.
    #[serde(default = "default_samples")]
    pub samples_per_candle: u32,
    /// How often to look for a newly closed candle; default a quarter candle, at most 5 s.
    #[serde(default)]
    pub poll_ms: Option<u64>,
    /// Validation caps: size in percent of account value, leverage.
    #[serde(default = "default_max_size")]
    pub max_size_pct: Decimal,
    #[serde(default = "default_max_leverage")]
    pub max_leverage: Decimal,
    /// Fallback rules: open size (percent), fixed TP/SL percentages, ATR multiples.
    #[serde(default = "default_size")]
    pub size_pct: Decimal,
    #[serde(default = "default_tp")]
    pub take_profit_pct: Decimal,
    #[serde(default = "default_sl")]
    pub stop_loss_pct: Decimal,
    /// ATR-based stops for the fallback (`false` = the fixed percentages).
    #[serde(default = "default_true")]
    pub atr_stops: bool,
    #[serde(default = "default_atr_sl")]
    pub atr_stop_multiple: f64,
    #[serde(default = "default_atr_tp")]
    pub atr_take_multiple: f64,
    #[serde(default)]
    pub llm: Option<LlmSettings>,
}

fn default_llm_timeout() -> u64 {
    10_000
}
fn default_max_tokens() -> u32 {
    400
}
fn default_interval() -> u64 {
    60
}
fn default_window() -> usize {
    200
}
fn default_samples() -> u32 {
    6
}
fn default_max_size() -> Decimal {
    Decimal::from(20)
}
fn default_max_leverage() -> Decimal {
    Decimal::from(5)
}
fn default_size() -> Decimal {
    Decimal::TEN
}
fn default_tp() -> Decimal {
    Decimal::TWO
}
fn default_sl() -> Decimal {
    Decimal::new(15, 1)
}
fn default_true() -> bool {
    true
}
fn default_atr_sl() -> f64 {
    1.5
}
fn default_atr_tp() -> f64 {
    3.0
}

impl StrategySettings {
    pub fn from_table(table: &toml::Table) -> Result<Self, String> {
        let mut s: Self = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| e.to_string())?;
        if let Some(name) = &s.interval {
            let i = KlineInterval::parse(name)?;
            if table.contains_key("interval_secs") && s.interval_secs != i.minutes() * 60 {
                return Err(format!(
                    "interval = {name:?} and interval_secs = {} disagree; set one",
                    s.interval_secs
                ));
            }
            s.interval_secs = i.minutes() * 60;
        }
        if s.interval_secs == 0 {
            return Err("interval_secs must be at least 1".into());
        }
        if s.window < MIN_CANDLES {
            return Err(format!("window must be at least {MIN_CANDLES} candles"));
        }
        if s.samples_per_candle == 0 {
            return Err("samples_per_candle must be at least 1".into());
        }
        let pct = |name: &str, v: Decimal, hi: u32| -> Result<(), String> {
            if v <= Decimal::ZERO || v > Decimal::from(hi) {
                return Err(format!("{name} = {v} must be in (0, {hi}]"));
            }
            Ok(())
        };
        pct("max_size_pct", s.max_size_pct, 100)?;
        pct("size_pct", s.size_pct, 100)?;
        pct("take_profit_pct", s.take_profit_pct, 20)?;
        pct("stop_loss_pct", s.stop_loss_pct, 10)?;
        if s.max_leverage < Decimal::ONE || s.max_leverage > Decimal::ONE_HUNDRED {
            return Err(format!(
                "max_leverage = {} must be in [1, 100]",
                s.max_leverage
            ));
        }
        for (name, m) in [
            ("atr_stop_multiple", s.atr_stop_multiple),
            ("atr_take_multiple", s.atr_take_multiple),
        ] {
            if !(m.is_finite() && m > 0.0 && m <= 50.0) {
                return Err(format!("{name} = {m} must be in (0, 50]"));
            }
        }
        if let Some(l) = &s.llm {
            if l.timeout_ms == 0 || l.max_tokens == 0 {
                return Err("llm.timeout_ms and llm.max_tokens must be at least 1".into());
            }
            if l.model.trim().is_empty() {
                return Err("llm.model is empty".into());
            }
        }
        Ok(s)
    }

    /// The decision maker these settings describe; reads the key variable through `env`.
    pub fn agent(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Agent, String> {
        let llm = match &self.llm {
            None => None,
            Some(l) => {
                let api_key = match &l.api_key_env {
                    None => None,
                    Some(var) => Some(
                        env(var)
                            .ok_or_else(|| format!("llm.api_key_env: variable {var} is not set"))?
                            .into(),
                    ),
                };
                let client = LlmClient::new(LlmConfig {
                    base_url: l.base_url.clone(),
                    model: l.model.clone(),
                    api_key,
                    timeout: Duration::from_millis(l.timeout_ms),
                    temperature: l.temperature,
                    max_tokens: l.max_tokens,
                })
                .map_err(|e| format!("llm: {e}"))?;
                Some(client)
            }
        };
        Ok(Agent {
            llm,
            rules: DecisionRules {
                max_size_pct: self.max_size_pct,
                max_leverage: self.max_leverage,
            },
            fallback: FallbackParams {
                size_pct: self.size_pct,
                take_profit_pct: self.take_profit_pct,
                stop_loss_pct: self.stop_loss_pct,
                atr_multiples: self
                    .atr_stops
                    .then_some((self.atr_stop_multiple, self.atr_take_multiple)),
                leverage: None,
            },
        })
    }

    fn poll(&self) -> Duration {
        let ms = self
            .poll_ms
            .unwrap_or_else(|| (self.interval_secs * 250).min(5_000))
            .max(10);
        Duration::from_millis(ms)
    }
}

/// Checks source `name`'s settings (for `config check` and start).
pub fn settings(
    name: &str,
    config: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(StrategySettings, Agent), String> {
    let s = config
        .sources
        .get(name)
        .filter(|s| s.kind == SourceKind::Strategy)
        .ok_or_else(|| format!("no strategy source {name}"))?;
    let settings = StrategySettings::from_table(&s.settings)?;
    crate::candles::candle_account(config, settings.account.as_deref(), settings.interval_secs)
        .map_err(|e| format!("account: {e}"))?;
    let agent = settings.agent(env)?;
    Ok((settings, agent))
}

/// The candle source the settings name (see [`crate::candles::candle_account`]).
pub fn candles_for(
    settings: &StrategySettings,
    config: &Config,
    paper: &std::collections::BTreeMap<
        tradeengine_model::AccountName,
        Arc<tradeengine_venues::PaperVenue>,
    >,
) -> Result<Arc<dyn CandleSource>, String> {
    let account = crate::candles::candle_account(
        config,
        settings.account.as_deref(),
        settings.interval_secs,
    )?;
    crate::candles::source_for(
        config,
        account,
        settings.interval_secs,
        settings.samples_per_candle,
        paper,
    )
}

/// What one step did for one symbol (for the CLI's dry run and tests).
#[derive(Debug, Clone)]
pub struct StepReport {
    pub symbol: Symbol,
    pub candle_open_ms: i64,
    pub outcome: Outcome,
    pub signal: Signal,
}

/// The strategy source.
#[derive(Debug)]
pub struct StrategySource {
    id: SourceId,
    settings: StrategySettings,
    agent: Agent,
    candles: CandleBook,
    /// Open time of the last candle decided per symbol.
    decided: Mutex<HashMap<Symbol, i64>>,
    /// What the current pass saw of the candles, for the freshness book.
    health: super::strategy_health::CandleHealth,
}

impl StrategySource {
    pub fn new(
        id: SourceId,
        settings: StrategySettings,
        agent: Agent,
        candles: Arc<dyn CandleSource>,
    ) -> Self {
        let interval_ms = i64::try_from(settings.interval_secs)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000);
        Self {
            id,
            candles: CandleBook::new(candles, interval_ms, settings.window),
            settings,
            agent,
            decided: Mutex::new(HashMap::new()),
            health: Default::default(),
        }
    }

    /// Brings `symbol`'s window up to the last candle closed at `now_ms`; returns the contiguous
    /// run when it ends with that candle (never a run across a hole).
    pub async fn refresh(&self, symbol: &Symbol, now_ms: i64) -> Option<Vec<Candle>> {
        match self.candles.refresh(symbol, now_ms).await {
            Ok(Refresh::Ready(run)) => {
                self.health.read();
                Some(run)
            }
            Ok(Refresh::NotReady(why)) => {
                self.health.read();
                tracing::debug!(source = %self.id, %symbol, why, "no decision");
                None
            }
            Err(e) => {
                self.health.failed(symbol.as_str(), &e.to_string());
                tracing::warn!(source = %self.id, %symbol, candles = %self.candles.source().describe(), error = %e, "candles not refreshed");
                None
            }
        }
    }

    /// Where this source's candles come from, for logs and the CLI.
    pub fn candle_source(&self) -> String {
        self.candles.source().describe()
    }

    /// The strategy's own position in `symbol`, from its sleeve.
    async fn position(&self, intake: &SignalIntake, symbol: &Symbol) -> Position {
        let sleeves = intake.state().sleeves_of(symbol).await;
        let Some(s) = sleeves.iter().find(|s| s.source == self.id) else {
            return Position::Flat;
        };
        if s.state != SleeveState::Open {
            return Position::Flat;
        }
        let v = match s.exposure {
            SleeveOrigin::Depth(d) => d,
            SleeveOrigin::Base(q) => q,
        };
        if v > Decimal::ZERO {
            Position::Long
        } else if v < Decimal::ZERO {
            Position::Short
        } else {
            Position::Flat
        }
    }

    /// Decides for `symbol` on the candle closed at `now`, once per candle. `None` when there is
    /// nothing new to decide on, or not enough candles yet.
    pub async fn decide(
        &self,
        symbol: &Symbol,
        position: Position,
        now: Timestamp,
    ) -> Option<StepReport> {
        let candles = self.refresh(symbol, now.timestamp_millis()).await?;
        let open_ms = candles.last()?.open_ms;
        {
            let decided = self.decided.lock().unwrap_or_else(|p| p.into_inner());
            if decided.get(symbol) == Some(&open_ms) {
                return None;
            }
        }
        let state = match cipher::market_state(
            symbol.as_str(),
            self.settings.interval_secs,
            &candles,
            &CipherAParams::default(),
            &CipherBParams::default(),
        ) {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(source = %self.id, %symbol, error = %e, "strategy warming up");
                return None;
            }
        };
        let outcome = self.agent.decide(&state, position).await;
        self.decided
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(symbol.clone(), open_ms);
        let key = format!("strategy-{}-{}-{open_ms}", self.id, symbol);
        let reference = Decimal::from_f64(state.price).and_then(|p| Price::new(p).ok());
        let signal = Signal {
            id: SignalId::new(&key).ok()?,
            source: self.id.clone(),
            symbol: symbol.clone(),
            intent: Intent::Order(outcome.decision.to_intent(reference)),
            emitted_at: Some(now),
            received_at: now,
            idempotency_key: key,
            raw: serde_json::json!({
                "strategy": self.id,
                "candle_open_ms": open_ms,
                "decision": outcome.decision,
                "rationale": outcome.decision.rationale,
                "decided_by": outcome.origin,
                "adjustments": outcome.adjustments,
                "market": state,
            }),
        };
        Some(StepReport {
            symbol: symbol.clone(),
            candle_open_ms: open_ms,
            outcome,
            signal,
        })
    }

    /// The symbols this source is weighted in.
    pub fn symbols(&self, config: &Config) -> Vec<Symbol> {
        config
            .symbols
            .iter()
            .filter(|s| s.weights.contains_key(self.id.as_str()))
            .map(|s| s.symbol.clone())
            .collect()
    }

    /// One pass at `now`: decide every symbol with a newly closed candle and submit the signals.
    pub async fn step(
        &self,
        intake: &SignalIntake,
        now: Timestamp,
    ) -> Result<Vec<StepReport>, IntakeError> {
        let config = intake.state().config();
        let mut out = Vec::new();
        self.health.begin();
        for symbol in self.symbols(&config) {
            let position = self.position(intake, &symbol).await;
            let Some(report) = self.decide(&symbol, position, now).await else {
                continue;
            };
            let outcome = intake.submit(report.signal.clone()).await?;
            let d = &report.outcome.decision;
            tracing::info!(
                source = %self.id, %symbol, action = ?d.action, size_pct = %d.size_pct,
                by = ?report.outcome.origin, applied = matches!(outcome, IntakeOutcome::Applied(_)),
                rationale = %d.rationale, "strategy decision"
            );
            out.push(report);
        }
        Ok(out)
    }
}

#[async_trait]
impl SignalSource for StrategySource {
    fn id(&self) -> &SourceId {
        &self.id
    }

    async fn run(
        &self,
        intake: SignalIntake,
        shutdown: CancellationToken,
    ) -> Result<(), SourceError> {
        let mut ticker = tokio::time::interval(self.settings.poll());
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let source = self.id.as_str();
        // Stale once no candle was read for the source's TTL, or three candle intervals (at
        // least three minutes) without one.
        let ttl = intake
            .state()
            .config()
            .sources
            .get(source)
            .and_then(|s| s.ttl_secs)
            .unwrap_or((self.settings.interval_secs.saturating_mul(3)).max(180));
        let book = intake.state().freshness_board();
        let started = intake.clock().now();
        book.register(source, "strategy", ttl, started);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = ticker.tick() => {}
            }
            let now = intake.clock().now();
            if let Err(e) = self.step(&intake, now).await {
                tracing::warn!(source = %self.id, error = %e, "strategy signal not taken");
            }
            self.health.report(&book, source, ttl, started, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn settings_defaults_and_refusals() {
        let s = StrategySettings::from_table(&toml::Table::new()).unwrap();
        assert_eq!(s.interval_secs, 60);
        assert!(s.llm.is_none() && s.atr_stops);
        let no_env = |_: &str| None;
        assert!(s.agent(&no_env).unwrap().llm.is_none());
        for bad in [
            "intervl_secs = 5",
            "interval_secs = 0",
            "window = 10",
            "size_pct = 0",
            "stop_loss_pct = 11",
            "max_leverage = 0.5",
            "atr_stop_multiple = -1.0",
            "[llm]\nbase_url = \"http://x\"\nmodel = \"m\"\nkey = \"k\"",
        ] {
            assert!(StrategySettings::from_table(&table(bad)).is_err(), "{bad}");
        }
        let with_llm = StrategySettings::from_table(&table(
            "[llm]\nbase_url = \"http://127.0.0.1:1/v1\"\nmodel = \"m\"\napi_key_env = \"TE_TEST_LLM_KEY\"",
        ))
        .unwrap();
        let e = with_llm.agent(&no_env).unwrap_err();
        assert!(e.contains("TE_TEST_LLM_KEY"), "{e}");
        let env = |_: &str| Some("sk-fake".to_string());
        assert!(with_llm.agent(&env).unwrap().llm.is_some());
    }
}
