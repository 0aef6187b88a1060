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
//! Not simulated: sleeve exits on stop-loss / take-profit / staleness timers between signals
//! (stale sleeves still count as flat in the blend), the risk gate, and the live engine's
//! timing (it cycles on signals and timers, a replay at each price time).

mod inputs;
mod session;

use std::collections::BTreeMap;
use std::sync::Arc;

use rust_decimal::Decimal;
use tradeengine_core::CoreError;
use tradeengine_core::attribution::{Event, Ledger};
use tradeengine_core::blend::{BlendPolicy, SymbolConfig, blend};
use tradeengine_core::plan::{PlanInput, plan};
use tradeengine_core::size::{AccountSizing, SizeInput};
use tradeengine_core::sleeve::{SleeveDecision, SleeveRules, apply_signal};
use tradeengine_model::{
    AccountName, Fill, ManualClock, MarginMode, OrderKind, OrderRequest, PlanId, PlanStep,
    Position, Price, Side, Signal, Sleeve, SourceId, Symbol, Timestamp,
};
use tradeengine_venues::paper::{MemoryStore, PaperConfig, PaperError, PaperVenue};
use tradeengine_venues::{PriceFeed, Venue, VenueError};

pub use inputs::{sn8_snapshots, tradingview_alerts};
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
/// same time apply in the order given) against `feed` at each of `times`.
pub async fn replay(
    setup: &ReplaySetup,
    signals: &[Signal],
    feed: Arc<dyn PriceFeed>,
    times: &[Timestamp],
) -> Result<ReplayOutcome, ReplayError> {
    let Some(first) = times.first() else {
        return Err(ReplayError::Input("no price times to replay".into()));
    };
    let clock = Arc::new(ManualClock::new(*first));
    let venue = PaperVenue::open(
        setup.paper.clone(),
        feed.clone(),
        clock.clone(),
        Box::new(MemoryStore::default()),
    )?;
    let symbols: Vec<Symbol> = setup.symbols.iter().map(|s| s.symbol.clone()).collect();
    let instruments = venue.instruments(&symbols).await?;
    let mut by_symbol = Vec::with_capacity(setup.symbols.len());
    for config in &setup.symbols {
        let Some(instrument) = instruments.iter().find(|i| i.symbol == config.symbol) else {
            return Err(ReplayError::Input(format!(
                "the paper venue has no instrument {}",
                config.symbol
            )));
        };
        by_symbol.push(instrument.clone());
    }
    let mut signals: Vec<&Signal> = signals.iter().collect();
    signals.sort_by_key(|s| s.received_at);
    let mut next_signal = 0;
    let mut sleeves: BTreeMap<(SourceId, Symbol), Sleeve> = BTreeMap::new();
    let mut attributed: BTreeMap<Symbol, crate::pnl::ContributionKey> = BTreeMap::new();
    let sizing_override = setup.leverage_override;
    let mut out = ReplayOutcome {
        orders: Vec::new(),
        fills: Vec::new(),
        ledger: Ledger::new(),
        marks: BTreeMap::new(),
        equity: Vec::with_capacity(times.len()),
        refused: 0,
        rejected: 0,
    };
    for (cycle, &now) in times.iter().enumerate() {
        clock.set(now);
        while let Some(signal) = signals.get(next_signal).filter(|s| s.received_at <= now) {
            next_signal += 1;
            let key = (signal.source.clone(), signal.symbol.clone());
            let sleeve = sleeves
                .get(&key)
                .cloned()
                .unwrap_or_else(|| Sleeve::flat(key.0.clone(), key.1.clone(), now));
            let rules = setup.rules.get(&signal.source).cloned().unwrap_or_default();
            // As live: the engine's mark is the price its last cycle read.
            let mark = out.marks.get(&signal.symbol).copied();
            match apply_signal(&sleeve, signal, mark, &rules, now)? {
                SleeveDecision::Applied { sleeve, .. } => {
                    sleeves.insert(key, sleeve);
                }
                SleeveDecision::Refused(_) => out.refused += 1,
            }
        }
        let balance = venue.account_balance().await?;
        let value = balance.value;
        let positions = venue.positions().await?;
        // Blend and size every priced symbol together, as the live cycle does (the account's
        // gross budget spans its symbols).
        let mut blends = Vec::with_capacity(setup.symbols.len());
        let mut prices = Vec::with_capacity(setup.symbols.len());
        for (k, config) in setup.symbols.iter().enumerate() {
            let Some(price) = feed.price(&config.symbol, now) else {
                continue;
            };
            out.marks.insert(config.symbol.clone(), price);
            let held: Vec<Sleeve> = sleeves
                .iter()
                .filter(|((_, s), _)| *s == config.symbol)
                .map(|(_, sl)| sl.clone())
                .collect();
            blends.push((k, blend(config, &held, &setup.policy, now)?));
            prices.push(price);
        }
        if value <= Decimal::ZERO {
            return Err(ReplayError::Input(format!(
                "account value is {value} at {now}; nothing can be sized"
            )));
        }
        let inputs: Vec<SizeInput<'_>> = blends
            .iter()
            .zip(&prices)
            .map(|((k, b), price)| SizeInput {
                blend: b,
                price: *price,
                instrument: &by_symbol[*k],
            })
            .collect();
        let account = AccountSizing {
            value,
            leverage_override: sizing_override,
        };
        let (mut targets, _) = crate::worker::pricing::size(&inputs, &account, &setup.policy)?;
        // As live: opening targets cut to the free margin (a cap that cannot be computed leaves
        // them as they are, the venue's own check standing behind it).
        if let Some(available) = balance.available_margin {
            let held = positions
                .iter()
                .map(|p| (p.symbol.clone(), p.size.get()))
                .collect();
            let _ = tradeengine_core::margin::cap_by_margin(
                &mut targets,
                &held,
                available,
                value,
                setup.margin_buffer,
            );
        }
        for target in &targets {
            let Some(((k, b), price)) = blends
                .iter()
                .zip(&prices)
                .find(|((_, b), _)| b.symbol == target.symbol)
            else {
                continue;
            };
            let instrument = &by_symbol[*k];
            let current = positions
                .iter()
                .find(|p| p.symbol == target.symbol)
                .cloned()
                .unwrap_or_else(|| Position::flat(target.symbol.clone()));
            let plan_id = PlanId::new(&format!("replay-{cycle}-{k}"))
                .map_err(|e| ReplayError::Input(e.to_string()))?;
            let made = plan(&PlanInput {
                plan_id: &plan_id,
                account: &setup.account,
                now,
                current: &current,
                target: target.qty,
                unrounded_target: target.unrounded_qty,
                target_leverage: target.leverage,
                margin_mode: setup.margin_mode,
                instrument,
                price: *price,
                drift_band: setup.drift_band,
                min_notional: instrument.min_notional.max(setup.min_notional),
                kind: OrderKind::Market,
            })?;
            // As live: an event when the plan has steps or the sources' contributions changed
            // (sources that net each other out still swap their sleeves).
            let key = crate::pnl::contribution_key(b, target);
            let changed = attributed.get(&target.symbol) != Some(&key);
            if changed {
                attributed.insert(target.symbol.clone(), key);
            }
            if made.is_empty() && !changed {
                continue;
            }
            let desired = crate::pnl::desired_for(b, target, value)?;
            out.ledger.apply(
                &setup.account,
                &target.symbol,
                &Event::Rebalance {
                    desired,
                    target: made.target.get(),
                    reference: *price,
                    orders: made.legs().map(|l| l.client_order_id.clone()).collect(),
                },
            )?;
            execute(
                &venue,
                &made.steps,
                &target.symbol,
                &setup.account,
                &mut out,
            )
            .await?;
        }
        out.equity.push((now, venue.account_value().await?));
    }
    Ok(out)
}

/// Sends a plan's steps to the paper venue and books each fill.
async fn execute(
    venue: &PaperVenue,
    steps: &[PlanStep],
    symbol: &Symbol,
    account: &AccountName,
    out: &mut ReplayOutcome,
) -> Result<(), ReplayError> {
    for step in steps {
        match step {
            PlanStep::SetMarginMode { mode } => venue.set_margin_mode(symbol, *mode).await?,
            PlanStep::SetLeverage { leverage } => venue.set_leverage(symbol, *leverage).await?,
            PlanStep::Order(leg) => {
                let request = OrderRequest {
                    client_order_id: leg.client_order_id.clone(),
                    symbol: symbol.clone(),
                    side: leg.side,
                    qty: leg.qty,
                    kind: leg.kind,
                    reduce_only: leg.reduce_only,
                };
                let placed = venue.place_order(&request).await;
                out.orders.push(request);
                let status = match placed {
                    Ok(status) => status,
                    // As live: the venue refused the order; the plan stops there.
                    Err(e) if e.kind == tradeengine_venues::VenueErrorKind::Rejected => {
                        out.rejected += 1;
                        return Ok(());
                    }
                    Err(e) => return Err(e.into()),
                };
                let Some(price) = status
                    .avg_fill_price
                    .filter(|_| !status.filled_qty.is_zero())
                else {
                    continue;
                };
                let signed = match status.side {
                    Side::Buy => status.filled_qty,
                    Side::Sell => -status.filled_qty,
                };
                out.ledger.apply(
                    account,
                    symbol,
                    &Event::Fill {
                        client_order_id: Some(status.client_order_id.clone()),
                        qty: signed,
                        price,
                        fee: status.fee,
                    },
                )?;
                out.fills.push(Fill {
                    client_order_id: status.client_order_id,
                    venue_order_id: status.venue_order_id,
                    symbol: symbol.clone(),
                    side: status.side,
                    qty: status.filled_qty,
                    price,
                    fee: status.fee,
                    filled_at: status.updated_at,
                });
            }
        }
    }
    Ok(())
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
