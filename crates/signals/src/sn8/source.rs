//! The SN8 source as the engine drives it: payload → guard → ranking → target signals, and
//! staleness when the validator cannot be read.
//!
//! Signals are emitted only for assets whose depth or price changed since the last emission
//! (the first accepted ranking emits every asset), as sirouk/trade-engine refreshed a symbol's
//! timestamp only on change. Each is an `Intent::Target` with the asset's depth and average price.
//!
//! `/trade-pairs` rules what may be emitted per asset ([`AssetRule`]): a deprecated pair may only
//! move toward zero (never grow or flip past the last emitted depth), a disabled pair or one the
//! validator no longer lists is held at depth 0, and the signal's record says which. A failed
//! `/trade-pairs` read keeps the last known rules.
//!
//! Staleness: the source is stale when its last accepted payload (or its start, before any) is
//! older than `ttl_secs`. Fetch failures and guard rejections do not refresh it. On becoming
//! stale [`Sn8Metrics::stale`] is set and `stale_transitions` counted; with
//! `on_stale = "flat"` every asset gets a depth-0 signal, with `"hold"` the last targets stay.
//! Without a staleness limit a dead poller's last depths would stay in force forever.
//!
//! Logging: the first failed fetch after a success is a WARN, the ones after it DEBUG (a dead
//! validator polled every few seconds must not flood the log); the engine's freshness book logs
//! the staleness itself (when it starts, a reminder every 10 minutes, when it ends).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use rust_decimal::Decimal;
use serde_json::json;
use tradeengine_model::{Clock, Intent, Price, Signal, SignalId, Symbol, TargetIntent, Timestamp};

use crate::mapping::SymbolMap;

use super::client::{Sn8Client, Sn8Error, Sn8Payload};
use super::config::{OnStale, Scoring, Sn8Config};
use super::guard::{GuardVerdict, PopulationGuard};
use super::rank::{PtnInputs, Ranking, rank};
use super::trade_pairs::{AssetRule, TradePairsDoc};
use super::types::{EliminationsDoc, PositionsDoc, StatisticsDoc};
use super::universe::Universe;

/// The depth `/trade-pairs` allows, and why: flat for a disabled or dropped pair; for a
/// deprecated one, only toward zero from the last emitted depth (never larger, never flipped).
fn ruled_depth(rule: AssetRule, ranked: Decimal, last: Decimal) -> (Decimal, &'static str) {
    match rule {
        AssetRule::Open => (ranked, "ranking"),
        AssetRule::FlatDisabled | AssetRule::FlatDropped => (
            Decimal::ZERO,
            rule.flat_reason().unwrap_or("pair_not_tradable"),
        ),
        AssetRule::ReduceOnly => {
            let same_side = !last.is_zero()
                && !ranked.is_zero()
                && last.is_sign_positive() == ranked.is_sign_positive();
            let d = if same_side {
                if ranked.abs() < last.abs() {
                    ranked
                } else {
                    last
                }
            } else {
                Decimal::ZERO
            };
            (d, "pair_deprecated_reduce_only")
        }
    }
}

/// Why [`fetch_and_rank`] produced no ranking.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RankOnceError {
    #[error(transparent)]
    Fetch(#[from] Sn8Error),
    #[error(transparent)]
    Rank(#[from] super::rank::RankError),
}

/// Fetches once and ranks, with no guard and no state: the operator's `tradeengine sn8 rank`.
pub async fn fetch_and_rank(
    client: &Sn8Client,
    cfg: &Sn8Config,
    mapping: &SymbolMap,
    now: Timestamp,
) -> Result<Ranking, RankOnceError> {
    let p = client.fetch(cfg.scoring == Scoring::Ptn).await?;
    let empty = EliminationsDoc::default();
    let ptn = p.statistics.as_ref().map(|s| PtnInputs {
        statistics: s,
        eliminations: p.eliminations.as_ref().unwrap_or(&empty),
    });
    let mut universe = Universe::from_mapping(mapping);
    if let Some(Ok(doc)) = &p.trade_pairs {
        universe.set_trade_pairs(doc);
    }
    Ok(rank(
        &p.positions,
        ptn,
        cfg,
        &universe,
        now.timestamp_millis(),
    )?)
}

/// Counters the server exports as metrics.
#[derive(Debug, Default)]
pub struct Sn8Metrics {
    pub fetch_ok: AtomicU64,
    pub fetch_failed: AtomicU64,
    pub guard_rejected: AtomicU64,
    pub rank_failed: AtomicU64,
    pub stale: AtomicBool,
    pub stale_transitions: AtomicU64,
    /// Epoch ms of the last accepted payload (0: none yet).
    pub last_success_ms: AtomicI64,
}

/// What happened in one step.
#[derive(Debug, Clone, PartialEq)]
pub enum Sn8Event {
    Ranked(Box<Ranking>),
    GuardRejected {
        count: usize,
        reason: String,
    },
    FetchFailed(String),
    RankFailed(String),
    /// A staleness check with nothing fetched.
    Tick,
}

/// One step's outcome: the signals to store and what happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Sn8Update {
    pub signals: Vec<Signal>,
    pub event: Sn8Event,
    pub stale: bool,
}

/// The SN8 source's state.
#[derive(Debug)]
pub struct Sn8Source {
    cfg: Sn8Config,
    universe: Universe,
    guard: PopulationGuard,
    started_at: Timestamp,
    last_success: Option<Timestamp>,
    last_emitted: BTreeMap<Symbol, (Decimal, Option<Price>)>,
    last_ranking: Option<Ranking>,
    stale: bool,
    /// The last fetch failed (the next failures log at DEBUG).
    failing: bool,
    /// The last `/trade-pairs` read failed (the next failures log at DEBUG).
    trade_pairs_failing: bool,
    metrics: Arc<Sn8Metrics>,
}

impl Sn8Source {
    pub fn new(cfg: Sn8Config, mapping: &SymbolMap, now: Timestamp) -> Self {
        Self {
            guard: PopulationGuard::new(cfg.guard.clone()),
            universe: Universe::from_mapping(mapping),
            cfg,
            started_at: now,
            last_success: None,
            last_emitted: BTreeMap::new(),
            last_ranking: None,
            stale: false,
            failing: false,
            trade_pairs_failing: false,
            metrics: Arc::new(Sn8Metrics::default()),
        }
    }

    pub fn metrics(&self) -> Arc<Sn8Metrics> {
        Arc::clone(&self.metrics)
    }

    pub fn last_ranking(&self) -> Option<&Ranking> {
        self.last_ranking.as_ref()
    }

    pub fn universe(&self) -> &Universe {
        &self.universe
    }

    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// Whether ranking needs `/statistics` (PTN scoring).
    pub fn needs_validator_view(&self) -> bool {
        self.cfg.scoring == Scoring::Ptn
    }

    /// Fetches once and handles the outcome.
    pub async fn poll_once(&mut self, client: &Sn8Client, clock: &dyn Clock) -> Sn8Update {
        let result = client.fetch(self.cfg.scoring == Scoring::Ptn).await;
        let now = clock.now();
        match result {
            Ok(p) => self.on_payload(&p, now),
            Err(e) => self.on_fetch_error(&e, now),
        }
    }

    /// Handles a fetched payload.
    pub fn on_payload(&mut self, p: &Sn8Payload, now: Timestamp) -> Sn8Update {
        self.on_trade_pairs(p.trade_pairs.as_ref());
        self.on_positions(
            &p.positions,
            p.statistics.as_ref(),
            p.eliminations.as_ref(),
            now,
        )
    }

    /// Applies a `/trade-pairs` read (a failure keeps the last known rules).
    pub fn on_trade_pairs(&mut self, doc: Option<&Result<TradePairsDoc, Sn8Error>>) {
        match doc {
            Some(Ok(doc)) => {
                self.universe.set_trade_pairs(doc);
                self.trade_pairs_failing = false;
            }
            Some(Err(e)) if self.trade_pairs_failing => {
                tracing::debug!(source = %self.cfg.source, error = %e, "sn8 /trade-pairs failed again");
            }
            Some(Err(e)) => {
                self.trade_pairs_failing = true;
                tracing::warn!(source = %self.cfg.source, error = %e, "sn8 /trade-pairs could not be read; the pairs' last known rules stay");
            }
            None => {}
        }
    }

    /// Handles positions (a REST payload or the stream-fed book) with the validator's view.
    pub fn on_positions(
        &mut self,
        positions: &PositionsDoc,
        statistics: Option<&StatisticsDoc>,
        eliminations: Option<&EliminationsDoc>,
        now: Timestamp,
    ) -> Sn8Update {
        self.metrics.fetch_ok.fetch_add(1, Ordering::Relaxed);
        self.failing = false;
        let count = positions.miners.len();
        let verdict = self.guard.check(count);
        match &verdict {
            GuardVerdict::Reject { count, reason } => {
                self.metrics.guard_rejected.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(source = %self.cfg.source, count, %reason, "sn8 payload refused by the population guard");
                return self.after(
                    now,
                    Sn8Event::GuardRejected {
                        count: *count,
                        reason: reason.clone(),
                    },
                );
            }
            GuardVerdict::AcceptConfirmed { previous_median } => {
                tracing::warn!(source = %self.cfg.source, count, previous_median, "sn8 miner population changed; accepted after confirmation");
            }
            GuardVerdict::Accept => {}
        }
        let empty = EliminationsDoc::default();
        let ptn = statistics.map(|s| PtnInputs {
            statistics: s,
            eliminations: eliminations.unwrap_or(&empty),
        });
        let ranking = match rank(
            positions,
            ptn,
            &self.cfg,
            &self.universe,
            now.timestamp_millis(),
        ) {
            Ok(r) => r,
            Err(e) => {
                self.metrics.rank_failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(source = %self.cfg.source, error = %e, "sn8 ranking failed");
                return self.after(now, Sn8Event::RankFailed(e.to_string()));
            }
        };
        self.last_success = Some(now);
        self.metrics
            .last_success_ms
            .store(now.timestamp_millis(), Ordering::Relaxed);
        if self.stale {
            self.stale = false;
            self.metrics.stale.store(false, Ordering::Relaxed);
            tracing::debug!(source = %self.cfg.source, "sn8 source is fresh again");
        }
        if !ranking.unusable.is_empty() {
            tracing::debug!(source = %self.cfg.source, unusable = ?ranking.unusable, "sn8 rows the source could not use");
        }
        let mut signals = Vec::new();
        for (i, a) in ranking.assets.iter().enumerate() {
            let rule = self.universe.asset_rule(i);
            let last = self.last_emitted.get(&a.symbol).map(|(d, _)| *d);
            let (depth, reason) = ruled_depth(rule, a.depth, last.unwrap_or_default());
            let price = if depth.is_zero() { None } else { a.price };
            let now_val = (depth, price);
            if self.last_emitted.get(&a.symbol) == Some(&now_val) {
                continue;
            }
            let raw = json!({
                "reason": reason,
                "pair_rule": rule,
                "ranked_depth": a.depth.to_string(),
                "tier": ranking.tier,
                "depth": depth.to_string(),
                "unclamped": a.unclamped.to_string(),
                "price": a.price.map(|p| p.get().to_string()),
                "contributors": a.contributors,
                "ranked_miners": ranking.miners.len(),
                "scoring": format!("{:?}", ranking.scoring).to_lowercase(),
            });
            signals.extend(self.signal(&a.symbol, depth, price, raw, now));
            self.last_emitted.insert(a.symbol.clone(), now_val);
        }
        self.last_ranking = Some(ranking.clone());
        Sn8Update {
            signals,
            event: Sn8Event::Ranked(Box::new(ranking)),
            stale: false,
        }
    }

    /// Handles a failed fetch.
    pub fn on_fetch_error(&mut self, e: &Sn8Error, now: Timestamp) -> Sn8Update {
        self.metrics.fetch_failed.fetch_add(1, Ordering::Relaxed);
        if self.failing {
            tracing::debug!(source = %self.cfg.source, error = %e, "sn8 fetch failed again");
        } else {
            tracing::warn!(source = %self.cfg.source, error = %e, "sn8 fetch failed (further failures log at DEBUG until one succeeds; staleness is logged when the TTL passes)");
        }
        self.failing = true;
        self.after(now, Sn8Event::FetchFailed(e.to_string()))
    }

    /// A staleness check between fetches.
    pub fn tick(&mut self, now: Timestamp) -> Sn8Update {
        self.after(now, Sn8Event::Tick)
    }

    /// Applies staleness after a step that did not refresh the source.
    fn after(&mut self, now: Timestamp, event: Sn8Event) -> Sn8Update {
        let since = self.last_success.unwrap_or(self.started_at);
        let age = now.signed_duration_since(since).num_seconds();
        let ttl = i64::try_from(self.cfg.ttl_secs).unwrap_or(i64::MAX);
        let mut signals = Vec::new();
        if age > ttl && !self.stale {
            self.stale = true;
            self.metrics.stale.store(true, Ordering::Relaxed);
            self.metrics
                .stale_transitions
                .fetch_add(1, Ordering::Relaxed);
            // The engine's freshness book logs it at WARN (with a reminder while it lasts).
            tracing::debug!(
                source = %self.cfg.source,
                age_secs = age,
                ttl_secs = ttl,
                on_stale = ?self.cfg.on_stale,
                "sn8 source is stale: no accepted payload within its TTL"
            );
            if self.cfg.on_stale == OnStale::Flat {
                let symbols: Vec<Symbol> = self.universe.symbols().to_vec();
                for s in symbols {
                    if self.last_emitted.get(&s).is_some_and(|(d, _)| d.is_zero()) {
                        continue;
                    }
                    let raw = json!({"reason": "stale_flat", "age_secs": age, "ttl_secs": ttl});
                    signals.extend(self.signal(&s, Decimal::ZERO, None, raw, now));
                    self.last_emitted.insert(s, (Decimal::ZERO, None));
                }
            }
        }
        Sn8Update {
            signals,
            event,
            stale: self.stale,
        }
    }

    fn signal(
        &self,
        symbol: &Symbol,
        depth: Decimal,
        price: Option<Price>,
        raw: serde_json::Value,
        now: Timestamp,
    ) -> Option<Signal> {
        let source = self.cfg.source.as_str();
        let key = format!("sn8:{source}:{symbol}:{}", now.timestamp_millis());
        let hash = blake3::hash(key.as_bytes()).to_hex();
        // 44 characters of [a-z0-9-]: always a valid id, so `None` cannot happen in practice.
        let id = SignalId::new(&format!("sn8-{}", &hash[..40])).ok()?;
        Some(Signal {
            id,
            source: self.cfg.source.clone(),
            symbol: symbol.clone(),
            intent: Intent::Target(TargetIntent {
                depth,
                leverage: None,
                reference_price: price,
            }),
            emitted_at: self.last_success,
            received_at: now,
            idempotency_key: key,
            raw,
        })
    }
}
