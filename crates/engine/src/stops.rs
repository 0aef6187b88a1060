//! Default stop-loss / take-profit distances for the sleeves of any source (TradingView, SN8,
//! NATS, RabbitMQ, REST, strategies), ATR stops as the broker sources' producers use them.
//!
//! A source's `stops` is `fixed` (its `default_stop_loss` / `default_take_profit` fractions, the
//! default) or `atr`: `stop_multiple × ATR(period)` and `take_multiple × ATR(period)` from entry,
//! over `interval` candles of an account (a paper feed or a live venue's klines, see
//! [`crate::candles`]). An [`AtrTracker`] keeps the latest ATR per account, interval, period and
//! symbol in an [`AtrBook`]; the intake reads it when a signal opens a sleeve.
//!
//! ATR is indicator math, computed in `f64`; the distance is on the order path, so it is
//! converted **once** to `Decimal` and rounded **up** to the instrument's tick ([`distance`]):
//! a stop is never tighter than asked. When no fresh ATR is known (no window yet, a gap, the
//! venue unreachable) the fixed fractions apply, and the audit trail says which one was used.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tradeengine_core::sleeve::SleeveRules;
use tradeengine_model::{Clock, Symbol};
use tradeengine_signals::strategy::indicators;
use tradeengine_venues::market::KlineInterval;

use crate::candles::{CandleBook, Refresh, candle_account, source_for};
use crate::config::{Config, SourceConfig, StopsConfig};

/// The latest ATR of one symbol.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AtrReading {
    pub atr: f64,
    /// The instrument's price tick on the candle account.
    pub tick: Decimal,
    /// Open time of the last candle the ATR includes.
    pub last_open_ms: i64,
}

/// (account, interval, period, symbol).
pub type AtrKey = (String, KlineInterval, usize, Symbol);

/// The latest ATR readings, shared by the tracker (writer) and the intake (reader).
#[derive(Debug, Clone, Default)]
pub struct AtrBook(Arc<RwLock<HashMap<AtrKey, AtrReading>>>);

impl AtrBook {
    pub fn get(&self, key: &AtrKey) -> Option<AtrReading> {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .copied()
    }

    pub fn insert(&self, key: AtrKey, reading: AtrReading) {
        self.0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, reading);
    }

    pub fn remove(&self, key: &AtrKey) {
        self.0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

/// `multiple × atr`, converted once to a decimal and rounded **up** to a whole number of ticks
/// (at least one): the distance from entry is never shorter than asked. `None` for an ATR that
/// is not a finite positive number or a tick that is not positive.
pub fn distance(multiple: Decimal, atr: f64, tick: Decimal) -> Option<Decimal> {
    if !(atr.is_finite() && atr > 0.0) || tick <= Decimal::ZERO || multiple <= Decimal::ZERO {
        return None;
    }
    let raw = Decimal::from_f64(atr)?.checked_mul(multiple)?;
    let ticks = raw.checked_div(tick)?.ceil().max(Decimal::ONE);
    ticks.checked_mul(tick).map(|d| d.normalize())
}

/// Which default levels a signal got, for the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "stops", rename_all = "snake_case")]
pub enum StopChoice {
    /// The fixed fractions (the source asks for nothing else).
    Fixed {
        stop_loss: Option<Decimal>,
        take_profit: Option<Decimal>,
    },
    /// ATR distances.
    Atr {
        atr: f64,
        period: usize,
        interval: &'static str,
        stop_distance: Decimal,
        take_distance: Decimal,
        candle_open_ms: i64,
    },
    /// ATR was asked for but not available: the fixed fractions were used.
    FixedFallback {
        reason: &'static str,
        stop_loss: Option<Decimal>,
        take_profit: Option<Decimal>,
    },
}

/// The source's sleeve rules for a signal in `symbol` at `now_ms`, with ATR distances when the
/// source asks for them and a fresh reading (its last candle is the last or the one before the
/// last closed at `now_ms`) is in `book`.
pub fn rules_for_signal(
    source: &SourceConfig,
    symbol: &Symbol,
    book: &AtrBook,
    now_ms: i64,
) -> (SleeveRules, StopChoice) {
    let mut rules = crate::sleeve_rules::rules_for(source);
    let (stop_loss, take_profit) = (source.default_stop_loss, source.default_take_profit);
    let StopsConfig::Atr {
        period,
        stop_multiple,
        take_multiple,
        interval,
        account,
    } = &source.stops
    else {
        return (
            rules,
            StopChoice::Fixed {
                stop_loss,
                take_profit,
            },
        );
    };
    let fallback = |reason| StopChoice::FixedFallback {
        reason,
        stop_loss,
        take_profit,
    };
    let Ok(interval) = KlineInterval::parse(interval) else {
        return (rules, fallback("bad interval"));
    };
    let key = (
        account.clone().unwrap_or_default(),
        interval,
        *period,
        symbol.clone(),
    );
    let Some(reading) = book.get(&key) else {
        return (rules, fallback("no ATR yet (no candles, or a gap)"));
    };
    let step = interval.millis();
    let last_closed = now_ms.div_euclid(step) * step - step;
    if reading.last_open_ms < last_closed - step {
        return (rules, fallback("ATR is stale (candles stopped)"));
    }
    let (Some(stop), Some(take)) = (
        distance(*stop_multiple, reading.atr, reading.tick),
        distance(*take_multiple, reading.atr, reading.tick),
    ) else {
        return (rules, fallback("ATR is not a usable number"));
    };
    rules.default_stop_distance = Some(stop);
    rules.default_take_distance = Some(take);
    (
        rules,
        StopChoice::Atr {
            atr: reading.atr,
            period: *period,
            interval: interval.as_str(),
            stop_distance: stop,
            take_distance: take,
            candle_open_ms: reading.last_open_ms,
        },
    )
}

/// One (account, interval, period) and the symbols whose ATR it keeps.
#[derive(Debug)]
struct Job {
    account: String,
    interval: KlineInterval,
    period: usize,
    symbols: Vec<Symbol>,
    candles: CandleBook,
    ticks: tokio::sync::Mutex<HashMap<Symbol, Decimal>>,
}

/// Keeps the ATR of every symbol a source with ATR stops is weighted in.
#[derive(Debug)]
pub struct AtrTracker {
    book: AtrBook,
    jobs: Vec<Job>,
}

impl AtrTracker {
    /// The jobs `config`'s enabled sources ask for; `None` when no source uses ATR stops.
    /// Readings are keyed by the account named in `stops.account` ("" for the default), as the
    /// intake looks them up.
    pub fn build(
        config: &Config,
        book: AtrBook,
        paper: &BTreeMap<tradeengine_model::AccountName, Arc<tradeengine_venues::PaperVenue>>,
    ) -> Result<Option<Self>, String> {
        let mut wanted: BTreeMap<(String, KlineInterval, usize), Vec<Symbol>> = BTreeMap::new();
        for (name, s) in config.sources.iter().filter(|(_, s)| s.enabled) {
            let StopsConfig::Atr {
                period,
                interval,
                account,
                ..
            } = &s.stops
            else {
                continue;
            };
            let interval = KlineInterval::parse(interval).map_err(|e| format!("{name}: {e}"))?;
            let symbols = wanted
                .entry((account.clone().unwrap_or_default(), interval, *period))
                .or_default();
            for sym in config
                .symbols
                .iter()
                .filter(|x| x.weights.contains_key(name))
            {
                if !symbols.contains(&sym.symbol) {
                    symbols.push(sym.symbol.clone());
                }
            }
        }
        if wanted.is_empty() {
            return Ok(None);
        }
        let mut jobs = Vec::new();
        for ((account, interval, period), symbols) in wanted {
            let secs = interval.minutes() * 60;
            let named = (!account.is_empty()).then_some(account.as_str());
            let acc = candle_account(config, named, secs)?;
            let source = source_for(config, acc, secs, 6, paper)?;
            jobs.push(Job {
                candles: CandleBook::new(source, interval.millis(), (period * 3).max(period + 2)),
                account,
                interval,
                period,
                symbols,
                ticks: tokio::sync::Mutex::new(HashMap::new()),
            });
        }
        Ok(Some(Self { book, jobs }))
    }

    pub fn book(&self) -> &AtrBook {
        &self.book
    }

    /// Refreshes every job's symbols at `now_ms`. A symbol whose window has a gap, or whose
    /// source fails, loses its reading (the intake then falls back to the fixed fractions).
    pub async fn poll_once(&self, now_ms: i64) {
        for job in &self.jobs {
            for symbol in &job.symbols {
                let key = (
                    job.account.clone(),
                    job.interval,
                    job.period,
                    symbol.clone(),
                );
                match self.reading(job, symbol, now_ms).await {
                    Ok(Some(r)) => self.book.insert(key, r),
                    Ok(None) => self.book.remove(&key),
                    Err(e) => {
                        tracing::warn!(%symbol, source = %job.candles.source().describe(), error = %e, "ATR not refreshed");
                        self.book.remove(&key);
                    }
                }
            }
        }
    }

    async fn reading(
        &self,
        job: &Job,
        symbol: &Symbol,
        now_ms: i64,
    ) -> Result<Option<AtrReading>, String> {
        let Refresh::Ready(run) = job.candles.refresh(symbol, now_ms).await? else {
            return Ok(None);
        };
        if run.len() <= job.period {
            return Ok(None);
        }
        let high: Vec<f64> = run.iter().map(|c| c.high).collect();
        let low: Vec<f64> = run.iter().map(|c| c.low).collect();
        let close: Vec<f64> = run.iter().map(|c| c.close).collect();
        let Some(atr) = indicators::atr(&high, &low, &close, job.period)
            .last()
            .copied()
            .filter(|a| a.is_finite() && *a > 0.0)
        else {
            return Ok(None);
        };
        let tick = {
            let mut ticks = job.ticks.lock().await;
            match ticks.get(symbol) {
                Some(t) => *t,
                None => {
                    let t = job.candles.source().tick_size(symbol).await?;
                    ticks.insert(symbol.clone(), t);
                    t
                }
            }
        };
        Ok(run.last().map(|c| AtrReading {
            atr,
            tick,
            last_open_ms: c.open_ms,
        }))
    }

    /// Polls until `shutdown`: a quarter of the shortest interval, at most every second.
    pub async fn run(self, clock: Arc<dyn Clock>, shutdown: CancellationToken) {
        let shortest = self
            .jobs
            .iter()
            .map(|j| j.interval.millis())
            .min()
            .unwrap_or(60_000);
        let every = Duration::from_millis(u64::try_from(shortest / 4).unwrap_or(1000).min(1000));
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            self.poll_once(clock.now().timestamp_millis()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn distances_round_up_to_the_tick_and_never_below_one_tick() {
        // 1.5 × 1.234 = 1.851 → 1.86 on a 0.01 tick: wider, never tighter.
        assert_eq!(distance(dec!(1.5), 1.234, dec!(0.01)), Some(dec!(1.86)));
        // Already on the tick: unchanged.
        assert_eq!(distance(dec!(2), 0.25, dec!(0.05)), Some(dec!(0.5)));
        // A tick of 0.5: 3 × 0.7 = 2.1 → 2.5.
        assert_eq!(distance(dec!(3), 0.7, dec!(0.5)), Some(dec!(2.5)));
        // Tiny ATR: one tick.
        assert_eq!(distance(dec!(1), 1e-9, dec!(0.1)), Some(dec!(0.1)));
        assert_eq!(distance(dec!(1), f64::NAN, dec!(0.1)), None);
        assert_eq!(distance(dec!(1), 1.0, dec!(0)), None);
        for (m, atr, tick) in [
            (dec!(1.5), 37.123_456, dec!(0.1)),
            (dec!(0.7), 0.000_123, dec!(0.000_01)),
        ] {
            let d = distance(m, atr, tick).unwrap_or_default();
            let exact = Decimal::from_f64(atr).unwrap_or_default() * m;
            assert!(d >= exact && d - exact < tick, "{m} × {atr} on {tick}: {d}");
            assert!((d / tick).fract().is_zero());
        }
    }
}
