//! Replay: recorded signals against recorded prices, through the money core and the paper
//! venue, with an injected clock, and P&L by source from the same attribution books the live
//! engine keeps (see [`crate::pnl`]).
//!
//! One cycle per price time, in order: the signals received up to that time update their
//! sleeves ([`tradeengine_core::sleeve::apply_signal`]), then every symbol is blended, sized
//! from the paper account's value, planned from its position, and each order is placed on the
//! paper venue, whose fills (fee and slippage included) feed the attribution books. Everything
//! is a function of the inputs: the same signals, prices and settings give the same orders,
//! fills and P&L to the last decimal.
//!
//! As live: the signals' mark is the price the previous cycle read, symbols are sized together
//! (the gross budget spans them), opening targets are cut to the free margin, an event is kept
//! when a plan has steps or the sources' contributions changed, and a venue refusal stops its
//! plan. Replaying a paper session's own store (see [`stored_session`], [`replay_recorded`])
//! gives its orders, fills and books to the last decimal (`tests/live_replay.rs`): each cycle
//! blends the signals the live cycle had blended (its reading lists them; a live cycle reads
//! the sleeves as the intake has committed them, which may leave out a signal received just
//! before its time or take in one received just after), each applied at its receive time; and
//! each order fills at the market price the live fill in its place was made at (a paper order
//! fills at the price when it reaches the venue, which can have moved since the reading).
//!
//! Not simulated: sleeve exits on stop-loss / take-profit / staleness timers between signals
//! (stale sleeves still count as flat in the blend), the pre-trade risk gate and loss limits,
//! the kill switch, positions the engine did not open, the venue-refusal back-off, and the live
//! engine's timing (it cycles on signals and timers, a replay at each price time).

mod inputs;
mod klines;
mod pending;
mod run;
mod session;
mod steady;

use std::collections::BTreeMap;
use std::sync::Arc;

use rust_decimal::Decimal;
use tradeengine_core::CoreError;
use tradeengine_core::attribution::Ledger;
use tradeengine_core::blend::{BlendPolicy, SymbolConfig};
use tradeengine_core::sleeve::SleeveRules;
use tradeengine_model::{
    AccountName, Fill, MarginMode, OrderRequest, Price, Signal, SourceId, Symbol, Timestamp,
};
use tradeengine_venues::paper::{PaperConfig, PaperError};
use tradeengine_venues::{PriceFeed, VenueError};

pub use inputs::{sn8_snapshots, tradingview_alerts};
pub use klines::venue_klines;
pub use session::{StepFeed, StoredSession, stored_session, stored_signals};

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("replay: {0}")]
    Core(#[from] CoreError),
    #[error("replay: paper venue: {0}")]
    Paper(#[from] PaperError),
    #[error("replay: paper venue: {0}")]
    Venue(#[from] VenueError),
    #[error("replay: {0}")]
    Input(String),
}

/// What a replay trades with.
#[derive(Debug, Clone)]
pub struct ReplaySetup {
    pub account: AccountName,
    /// The symbols and their weights (override weights here to try other ones).
    pub symbols: Vec<SymbolConfig>,
    pub policy: BlendPolicy,
    /// Sleeve rules per source; a source not listed uses the defaults.
    pub rules: BTreeMap<SourceId, SleeveRules>,
    pub paper: PaperConfig,
    pub drift_band: Decimal,
    pub min_notional: Decimal,
    pub margin_mode: MarginMode,
    /// The account's `leverage_override` (used in sizing as the live cycle uses it).
    pub leverage_override: Option<Decimal>,
    /// `[risk] margin_buffer`: opening targets are cut to the free margin less this share of
    /// the account's value, as the live cycle cuts them.
    pub margin_buffer: Decimal,
}

/// What a replay did.
#[derive(Debug, Clone)]
pub struct ReplayOutcome {
    pub orders: Vec<OrderRequest>,
    pub fills: Vec<Fill>,
    pub ledger: Ledger,
    /// Each symbol's last price.
    pub marks: BTreeMap<Symbol, Price>,
    /// Account value after each cycle.
    pub equity: Vec<(Timestamp, Decimal)>,
    /// Signals the sleeve rules refused.
    pub refused: usize,
    /// Orders the paper venue refused (each stopped its plan).
    pub rejected: usize,
}

/// Runs `signals` (any order; sorted by receive time here, stably, so signals received at the
/// same time apply in the order given) against `feed` at each of `times`: see [`run`].
pub async fn replay(
    setup: &ReplaySetup,
    signals: &[Signal],
    feed: Arc<dyn PriceFeed>,
    times: &[Timestamp],
) -> Result<ReplayOutcome, ReplayError> {
    run::run(setup, signals, feed, times, None).await
}

/// [`replay`] of a stored session at its readings: before each cycle, the signals its reading
/// lists (up to each sleeve's listed signal, in the store's order, each at its receive time),
/// rather than those received by then (a reading that lists none, stored before readings kept
/// them, takes the signals received by then); and each order fills at the market price the
/// reading recorded for the live fill in its place (the symbol's next one in the cycle), else
/// at the reading.
pub async fn replay_recorded(
    setup: &ReplaySetup,
    session: &StoredSession,
) -> Result<ReplayOutcome, ReplayError> {
    let recorded = pending::Recorded {
        seen: &session.seen,
        fills: &session.fill_prices,
    };
    run::run(
        setup,
        &session.signals,
        Arc::new(session.feed.clone()),
        &session.times,
        Some(recorded),
    )
    .await
}

impl ReplaySetup {
    /// The setup a configured account trades with: its symbols and weights, blend policy and
    /// risk limits, each source's sleeve rules, its paper settings (fees, slippage, balance;
    /// defaults for an exchange account), drift band, minimum order value and margin mode.
    pub fn from_config(
        config: &crate::config::Config,
        account: &crate::config::AccountConfig,
    ) -> Result<Self, ReplayError> {
        use crate::worker::targets::{blend_policy, configured_symbols, symbol_config};
        let limits = config.risk_limits(Some(account));
        let p = account.paper.clone().unwrap_or_default();
        Ok(Self {
            account: AccountName::new(&account.name)
                .map_err(|e| ReplayError::Input(e.to_string()))?,
            symbols: configured_symbols(config)
                .iter()
                .map(symbol_config)
                .collect(),
            policy: blend_policy(config, &limits),
            rules: config
                .sources
                .iter()
                .filter_map(|(name, s)| {
                    Some((SourceId::new(name).ok()?, crate::sleeve_rules::rules_for(s)))
                })
                .collect(),
            paper: PaperConfig {
                starting_balance: p.starting_balance,
                taker_fee_rate: p.taker_fee,
                slippage_bps: p.slippage_bps,
                max_leverage: limits.max_leverage.max(Decimal::ONE),
                ..PaperConfig::default()
            },
            drift_band: config.engine.drift_band,
            min_notional: account.min_order_notional,
            margin_mode: account.margin_mode,
            leverage_override: account.leverage_override,
            margin_buffer: limits.margin_buffer,
        })
    }

    /// The same setup with every symbol's weights replaced by `weights`.
    pub fn with_weights(&self, weights: &BTreeMap<SourceId, Decimal>) -> Self {
        let mut out = self.clone();
        for s in &mut out.symbols {
            s.weights = weights.clone();
        }
        out
    }
}

/// One cycle per candle of every series in `feed`, at the candle's last millisecond (its close
/// is known then, so a replay never trades on a price from its future), in time order.
pub fn candle_times(feed: &tradeengine_venues::RecordedFeed, symbols: &[Symbol]) -> Vec<Timestamp> {
    let mut ms: Vec<i64> = Vec::new();
    for s in symbols {
        let Some(series) = feed.series(s) else {
            continue;
        };
        let step = series.interval_ms().max(1);
        let mut t = series.first_open_ms();
        while t < series.end_ms() {
            ms.push(t + step - 1);
            t += step;
        }
    }
    ms.sort_unstable();
    ms.dedup();
    ms.into_iter()
        .filter_map(chrono::DateTime::from_timestamp_millis)
        .collect()
}
