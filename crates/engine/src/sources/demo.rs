//! The demo source: replays a seeded script of target signals so the paper demo trades within
//! seconds of starting, with no outside input.
//!
//! The script is a pure function of (seed, step): step `n` targets symbol `n mod k` of the
//! configured symbols with a depth drawn from a fixed ladder by a SplitMix64 hash of (seed, n).
//! The step counter is kept in the store, so a restarted demo continues its script instead of
//! replaying it, and each signal's idempotency key (`demo-<seed>-<n>`) makes a replay harmless.

use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use tradeengine_model::{Intent, Signal, SignalId, SourceId, Symbol, TargetIntent};

use super::{SignalSource, SourceError};
use crate::intake::{IntakeError, IntakeOutcome, SignalIntake};

/// `[sources.<name>.settings]` of a `demo` source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSettings {
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Seconds between signals.
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// Stop after this many signals (the script then holds its last targets); none = forever.
    #[serde(default)]
    pub max_steps: Option<u64>,
}

fn default_seed() -> u64 {
    42
}

fn default_interval() -> u64 {
    3
}

impl DemoSettings {
    pub fn from_table(table: &toml::Table) -> Result<Self, String> {
        let s: Self = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| e.to_string())?;
        if s.interval_secs == 0 {
            return Err("interval_secs must be at least 1".into());
        }
        Ok(s)
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

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

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
}

impl DemoSource {
    pub fn new(id: SourceId, settings: DemoSettings) -> Self {
        Self { id, settings }
    }

    fn cursor_key(&self) -> String {
        format!("source.{}.cursor", self.id)
    }

    /// Emits step `n` now.
    async fn emit(&self, intake: &SignalIntake, n: u64) -> Result<(), IntakeError> {
        let config = intake.state().config();
        let symbols: Vec<Symbol> = config
            .symbols
            .iter()
            .filter(|s| s.weights.contains_key(self.id.as_str()))
            .filter_map(|s| Symbol::new(&s.symbol).ok())
            .collect();
        let Some((symbol, depth)) = script_step(self.settings.seed, n, &symbols) else {
            return Ok(());
        };
        let now = intake.clock().now();
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
            match self.emit(&intake, n).await {
                Ok(()) => {
                    n += 1;
                    if let Err(e) = store
                        .put_state(&self.cursor_key(), &serde_json::json!(n))
                        .await
                    {
                        tracing::warn!(source = %self.id, error = %e, "cannot save demo cursor");
                    }
                }
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
    fn settings_refuse_unknown_keys() {
        let mut t = toml::Table::new();
        t.insert("sed".into(), toml::Value::Integer(1));
        assert!(DemoSettings::from_table(&t).is_err());
    }
}
