//! The demo source. The embedded paper demo runs it as (`mode = "trend"`) a slow trend follower on the paper account's generated prices
//! ([`super::demo_trend`]), so the paper demo trades as a real strategy would: an opening
//! position within seconds of the first start, then a change of side only when the trend has
//! clearly turned (about once an hour per symbol on the demo's walk), with the engine's drift
//! band keeping the position at its target in between. Fees stay a small share of equity.
//! `mode = "script"` (the default) replays a seeded script instead: step `n` targets symbol
//! `n mod k` with a depth drawn from a fixed ladder by a SplitMix64 hash of (seed, n), one
//! signal every interval, for tests and benchmarks that want positions to move all the time.
//!
//! In trend mode, every `interval_secs` the source decides each symbol it is weighted in, and emits a target
//! signal when the depth changes, or every `refresh_secs` to keep its sleeve fresh (within the
//! source's `ttl_secs`). Its emission counter is kept in the store, so a restarted demo
//! continues instead of replaying, and each signal's idempotency key (`demo-<seed>-<n>`) makes
//! a replay harmless. The depth it holds is read back from its sleeves after a restart.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use tradeengine_model::{
    Intent, Signal, SignalId, SleeveOrigin, SleeveState, SourceId, Symbol, TargetIntent, Timestamp,
};
use tradeengine_venues::PriceFeed;

use super::demo_trend::{TrendParams, decide, splitmix64};
use super::{SignalSource, SourceError};
use crate::intake::{IntakeError, IntakeOutcome, SignalIntake};

/// `[sources.<name>.settings]` of a `demo` source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSettings {
    /// `trend` (the embedded demo's) or `script` (the default, for tests: a seeded script of
    /// depths, one signal per interval, alternating symbols).
    #[serde(default)]
    pub mode: DemoMode,
    /// Seed of the script, or of the trend's opening view (long or short per symbol).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Seconds between decisions.
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// Stop after this many signals (the last targets then hold); none = forever.
    #[serde(default)]
    pub max_steps: Option<u64>,
    /// Depth held long or short, fraction of account value (before the source's weight).
    #[serde(default = "default_depth")]
    pub depth: Decimal,
    /// Window of the fast mean, seconds.
    #[serde(default = "default_fast")]
    pub fast_secs: u64,
    /// Window of the slow mean, seconds.
    #[serde(default = "default_slow")]
    pub slow_secs: u64,
    /// Momentum (fast − slow) / slow needed to take or turn a side.
    #[serde(default = "default_band")]
    pub band: Decimal,
    /// Re-send an unchanged target this often (seconds), so the sleeve never goes stale.
    #[serde(default = "default_refresh")]
    pub refresh_secs: u64,
    /// The paper account whose price feed the trend is read from (default: the first paper
    /// account). Without one the opening view holds.
    #[serde(default)]
    pub account: Option<String>,
}

/// How the demo source decides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DemoMode {
    /// A seeded script of depths, one signal every interval, cycling through the symbols:
    /// positions move all the time, which tests and benchmarks want (and fees eat).
    #[default]
    Script,
    /// A slow trend follower on the paper prices ([`super::demo_trend`]).
    Trend,
}

fn default_seed() -> u64 {
    42
}

fn default_interval() -> u64 {
    3
}

fn default_depth() -> Decimal {
    Decimal::new(4, 1)
}

fn default_fast() -> u64 {
    300
}

fn default_slow() -> u64 {
    1800
}

fn default_band() -> Decimal {
    Decimal::new(2, 3)
}

fn default_refresh() -> u64 {
    600
}

impl DemoSettings {
    pub fn from_table(table: &toml::Table) -> Result<Self, String> {
        let s: Self = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| e.to_string())?;
        if s.interval_secs == 0 {
            return Err("interval_secs must be at least 1".into());
        }
        if s.depth <= Decimal::ZERO || s.depth > Decimal::ONE {
            return Err(format!("depth {} must be in (0, 1]", s.depth));
        }
        if s.fast_secs < 60 || s.slow_secs <= s.fast_secs {
            return Err("fast_secs must be at least 60 and slow_secs above it".into());
        }
        if s.band < Decimal::ZERO {
            return Err(format!("band {} must not be negative", s.band));
        }
        if s.refresh_secs == 0 {
            return Err("refresh_secs must be at least 1".into());
        }
        Ok(s)
    }

    /// The trend rule's parameters.
    pub fn trend(&self) -> TrendParams {
        TrendParams {
            depth: self.depth,
            fast_secs: self.fast_secs,
            slow_secs: self.slow_secs,
            band: self.band,
        }
    }
}

/// Depths the script picks from: longs, shorts and flats, as fractions of account value.
const LADDER: [(i64, u32); 8] = [
    (30, 2),
    (50, 2),
    (-20, 2),
    (0, 0),
    (40, 2),
    (-40, 2),
    (15, 2),
    (-10, 2),
];

/// Step `n` of the script: which symbol and which depth.
pub fn script_step(seed: u64, n: u64, symbols: &[Symbol]) -> Option<(Symbol, Decimal)> {
    if symbols.is_empty() {
        return None;
    }
    let symbol = symbols[(n % symbols.len() as u64) as usize].clone();
    let pick = splitmix64(seed ^ splitmix64(n)) % LADDER.len() as u64;
    let (mantissa, scale) = LADDER[pick as usize];
    Some((symbol, Decimal::new(mantissa, scale)))
}

/// The demo source.
#[derive(Debug)]
pub struct DemoSource {
    id: SourceId,
    settings: DemoSettings,
    feed: Option<Arc<dyn PriceFeed>>,
}

/// What was last sent per symbol: the depth and when.
type Sent = BTreeMap<Symbol, (Decimal, Timestamp)>;

impl DemoSource {
    /// `feed`: the paper account's prices the trend is read from (see [`DemoSettings::account`]).
    pub fn new(id: SourceId, settings: DemoSettings, feed: Option<Arc<dyn PriceFeed>>) -> Self {
        Self { id, settings, feed }
    }

    fn cursor_key(&self) -> String {
        format!("source.{}.cursor", self.id)
    }

    /// The depth this source holds in `symbol` now, from its sleeve (after a restart).
    async fn held(&self, intake: &SignalIntake, symbol: &Symbol) -> Option<Decimal> {
        let sleeve = intake
            .state()
            .sleeve(&(self.id.clone(), symbol.clone()))
            .await?;
        match (sleeve.state, &sleeve.exposure) {
            (SleeveState::Open, SleeveOrigin::Depth(d)) => Some(*d),
            _ => None,
        }
    }

    /// Decides every symbol and emits what changed (or is due a refresh); returns the next
    /// emission counter.
    async fn step(
        &self,
        intake: &SignalIntake,
        sent: &mut Sent,
        mut n: u64,
    ) -> Result<u64, IntakeError> {
        let config = intake.state().config();
        let symbols: Vec<Symbol> = config
            .symbols
            .iter()
            .filter(|s| s.weights.contains_key(self.id.as_str()))
            .map(|s| s.symbol.clone())
            .collect();
        let now = intake.clock().now();
        if self.settings.mode == DemoMode::Script {
            let Some((symbol, depth)) = script_step(self.settings.seed, n, &symbols) else {
                return Ok(n);
            };
            self.emit(intake, n, &symbol, depth, now).await?;
            return Ok(n + 1);
        }
        let refresh = chrono::Duration::seconds(self.settings.refresh_secs as i64);
        for symbol in symbols {
            if self.settings.max_steps.is_some_and(|max| n >= max) {
                break;
            }
            let previous = match sent.get(&symbol) {
                Some((d, _)) => Some(*d),
                None => self.held(intake, &symbol).await,
            };
            let depth = decide(
                self.feed.as_deref(),
                &symbol,
                now,
                previous,
                self.settings.seed,
                &self.settings.trend(),
            );
            let due = match sent.get(&symbol) {
                Some((d, at)) => *d != depth || now - *at >= refresh,
                None => true,
            };
            if !due {
                continue;
            }
            self.emit(intake, n, &symbol, depth, now).await?;
            sent.insert(symbol, (depth, now));
            n += 1;
        }
        Ok(n)
    }

    /// Emits signal `n`: `symbol` at `depth`.
    async fn emit(
        &self,
        intake: &SignalIntake,
        n: u64,
        symbol: &Symbol,
        depth: Decimal,
        now: Timestamp,
    ) -> Result<(), IntakeError> {
        let key = format!("demo-{}-{n}", self.settings.seed);
        let signal = Signal {
            id: SignalId::new(&key).map_err(|e| IntakeError::UnknownSource(e.to_string()))?,
            source: self.id.clone(),
            symbol: symbol.clone(),
            intent: Intent::Target(TargetIntent {
                depth,
                leverage: None,
                reference_price: None,
            }),
            emitted_at: Some(now),
            received_at: now,
            idempotency_key: key.clone(),
            raw: serde_json::json!({"demo_step": n, "symbol": symbol, "depth": depth}),
        };
        let outcome = intake.submit(signal).await?;
        if matches!(outcome, IntakeOutcome::Applied(_)) {
            tracing::info!(source = %self.id, %symbol, %depth, step = n, "demo signal");
        }
        Ok(())
    }
}

#[async_trait]
impl SignalSource for DemoSource {
    fn id(&self) -> &SourceId {
        &self.id
    }

    async fn run(
        &self,
        intake: SignalIntake,
        shutdown: CancellationToken,
    ) -> Result<(), SourceError> {
        let err = |reason: String| SourceError {
            source_id: self.id.to_string(),
            reason,
        };
        let store = intake.store().clone();
        let mut n = match store.get_state(&self.cursor_key()).await {
            Ok(Some(v)) => v.as_u64().unwrap_or(0),
            Ok(None) => 0,
            Err(e) => return Err(err(format!("cannot read cursor: {e}"))),
        };
        let mut sent = Sent::new();
        let mut ticker = tokio::time::interval(Duration::from_secs(self.settings.interval_secs));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = ticker.tick() => {}
            }
            if self.settings.max_steps.is_some_and(|max| n >= max) {
                shutdown.cancelled().await;
                return Ok(());
            }
            match self.step(&intake, &mut sent, n).await {
                Ok(next) if next != n => {
                    n = next;
                    if let Err(e) = store
                        .put_state(&self.cursor_key(), &serde_json::json!(n))
                        .await
                    {
                        tracing::warn!(source = %self.id, error = %e, "cannot save demo cursor");
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(source = %self.id, error = %e, "demo signal not taken"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syms() -> Vec<Symbol> {
        ["BTCUSDT", "ETHUSDT"]
            .iter()
            .filter_map(|s| Symbol::new(s).ok())
            .collect()
    }

    #[test]
    fn script_is_deterministic_and_alternates_symbols() {
        let a: Vec<_> = (0..20)
            .filter_map(|n| script_step(42, n, &syms()))
            .collect();
        let b: Vec<_> = (0..20)
            .filter_map(|n| script_step(42, n, &syms()))
            .collect();
        assert_eq!(a, b);
        assert_eq!(a[0].0.as_str(), "BTCUSDT");
        assert_eq!(a[1].0.as_str(), "ETHUSDT");
        let depths: std::collections::BTreeSet<_> = a.iter().map(|(_, d)| *d).collect();
        assert!(
            depths.len() >= 3,
            "the script must move positions around: {depths:?}"
        );
        let other: Vec<_> = (0..20)
            .filter_map(|n| script_step(43, n, &syms()))
            .collect();
        assert_ne!(a, other, "another seed gives another script");
    }

    #[test]
    fn depths_stay_within_one() {
        for n in 0..1000 {
            if let Some((_, d)) = script_step(7, n, &syms()) {
                assert!(d.abs() <= Decimal::ONE);
            }
        }
    }

    #[test]
    fn settings_refuse_unknown_keys_and_bad_values() {
        let mut t = toml::Table::new();
        t.insert("sed".into(), toml::Value::Integer(1));
        assert!(DemoSettings::from_table(&t).is_err());
        let mut t = toml::Table::new();
        t.insert("depth".into(), toml::Value::Float(1.5));
        assert!(DemoSettings::from_table(&t).is_err());
        let mut t = toml::Table::new();
        t.insert("fast_secs".into(), toml::Value::Integer(3600));
        assert!(DemoSettings::from_table(&t).is_err());
    }

    #[test]
    fn the_default_is_the_script_and_the_trend_reads_a_slow_trend() {
        let s = DemoSettings::from_table(&toml::Table::new()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.mode, DemoMode::Script);
        assert_eq!(s.interval_secs, 3);
        assert_eq!(s.trend().fast_secs, 300);
        assert_eq!(s.trend().slow_secs, 1800);
        assert_eq!(s.depth, Decimal::new(4, 1));
    }
}
