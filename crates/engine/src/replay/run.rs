//! The replay loop. Each cycle does what the live cycle does, and skips only work whose result
//! it already holds, so skipping changes nothing:
//!
//! - a symbol's blend is kept until one of its sleeves changes or a sleeve's staleness can flip
//!   (the blend reads the clock for nothing else);
//! - the positions (and the margin cap's view of them) are kept until an order was sent;
//! - the account value after a cycle that sent nothing is the value read at its start (same
//!   clock, same prices, same positions);
//! - each symbol is planned with a fixed id first, and planned again with its own id only when
//!   the plan has steps (a plan is a pure function of its input; only the ids differ), so quiet
//!   cycles build no ids;
//! - the attribution key is compared without being rebuilt while the blend and the target's
//!   zero-ness are unchanged;
//! - a symbol whose blend and position stand is left out of sizing and planning while the
//!   cycle's account value and price stay where its rounded target provably equals its
//!   position ([`super::steady`]: the plan would be empty and nothing else would move).

use std::collections::BTreeMap;
use std::sync::Arc;

use rust_decimal::Decimal;
use std::collections::VecDeque;
use tradeengine_core::attribution::{Event, Ledger};
use tradeengine_core::blend::{Blend, blend};
use tradeengine_core::plan::{PlanInput, plan};
use tradeengine_core::size::{AccountSizing, SizeInput};
use tradeengine_core::sleeve::{SleeveDecision, apply_signal};
use tradeengine_model::{
    Fill, Instrument, ManualClock, OrderKind, OrderRequest, PlanId, PlanStep, Position, Price,
    Side, Signal, Sleeve, SourceId, Symbol, Timestamp,
};
use tradeengine_venues::paper::{MemoryStore, PaperVenue};
use tradeengine_venues::{PriceFeed, Venue};

use super::pending::{Pending, Recorded, cycle_fills};
use super::steady::Steady;
use super::{ReplayError, ReplayOutcome, ReplaySetup};

/// One configured symbol's state between cycles.
struct SymbolState {
    instrument: Instrument,
    /// Its sleeves, one per source.
    sleeves: Vec<Sleeve>,
    /// The blend of `sleeves`, valid while the clock is at or before `blend_until` (`None`:
    /// until the sleeves change).
    blend: Option<Blend>,
    blend_until: Option<Timestamp>,
    /// The key of the last attribution event, and whether the blend changed since it was
    /// compared.
    attributed: Option<crate::pnl::ContributionKey>,
    blend_changed: bool,
    last_zero: Option<bool>,
    mark: Option<Price>,
    /// The skip proof for the blend and position as they stand, with whether the position is
    /// zero; dropped when either changes.
    steady: Option<(Steady, bool)>,
}

/// When a blend made at `now` from `sleeves` may first differ without a sleeve changing: the
/// earliest staleness expiry not passed yet.
fn blend_until(
    sleeves: &[Sleeve],
    policy: &tradeengine_core::blend::BlendPolicy,
    now: Timestamp,
) -> Option<Timestamp> {
    sleeves
        .iter()
        .filter_map(|s| {
            let ttl = policy.staleness.get(&s.source)?.ttl?;
            s.updated_at.checked_add_signed(ttl)
        })
        .filter(|expiry| *expiry >= now)
        .min()
}

/// The feed as one cycle sees it: every configured symbol's price at the cycle's time, read
/// from the recorded feed once and answered from here to the replay and to the paper venue
/// (which asks again for each mark, margin check and fill); any other question goes to the
/// recorded feed. The same prices: only the repeated look-ups are saved.
#[derive(Debug)]
struct CycleFeed {
    inner: Arc<dyn PriceFeed>,
    now: std::sync::Mutex<CyclePrices>,
}

/// The cycle's time and each configured symbol's price then.
type CyclePrices = (Option<Timestamp>, Vec<(Symbol, Option<Price>)>);

impl CycleFeed {
    fn new(inner: Arc<dyn PriceFeed>, symbols: &[Symbol]) -> Self {
        Self {
            inner,
            now: std::sync::Mutex::new((None, symbols.iter().map(|s| (s.clone(), None)).collect())),
        }
    }

    /// Makes `symbol`'s price at the cycle's time `price`; returns the one it replaces.
    fn set(&self, symbol: &Symbol, price: Option<Price>) -> Option<Price> {
        let mut guard = self.now.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .1
            .iter_mut()
            .find(|(s, _)| s == symbol)
            .and_then(|(_, p)| std::mem::replace(p, price))
    }

    /// Reads every symbol's price at `at`; returns them in the symbols' order.
    fn advance(&self, at: Timestamp, out: &mut [Option<Price>]) {
        let mut guard = self.now.lock().unwrap_or_else(|p| p.into_inner());
        let (time, prices) = &mut *guard;
        *time = Some(at);
        for ((symbol, price), o) in prices.iter_mut().zip(out.iter_mut()) {
            *price = self.inner.price(symbol, at);
            *o = *price;
        }
    }
}

impl PriceFeed for CycleFeed {
    fn price(&self, symbol: &Symbol, at: Timestamp) -> Option<Price> {
        {
            let guard = self.now.lock().unwrap_or_else(|p| p.into_inner());
            if guard.0 == Some(at)
                && let Some((_, p)) = guard.1.iter().find(|(s, _)| s == symbol)
            {
                return *p;
            }
        }
        self.inner.price(symbol, at)
    }

    fn symbols(&self) -> Vec<Symbol> {
        self.inner.symbols()
    }
}

/// See [`super::replay`].
pub(super) async fn run(
    setup: &ReplaySetup,
    signals: &[Signal],
    feed: Arc<dyn PriceFeed>,
    times: &[Timestamp],
    recorded: Option<Recorded<'_>>,
) -> Result<ReplayOutcome, ReplayError> {
    let Some(first) = times.first() else {
        return Err(ReplayError::Input("no price times to replay".into()));
    };
    let clock = Arc::new(ManualClock::new(*first));
    let configured: Vec<Symbol> = setup.symbols.iter().map(|s| s.symbol.clone()).collect();
    let feed = Arc::new(CycleFeed::new(feed, &configured));
    let venue = PaperVenue::open(
        setup.paper.clone(),
        feed.clone(),
        clock.clone(),
        Box::new(MemoryStore::default()),
    )?;
    let instruments = venue.instruments(&configured).await?;
    let mut states = Vec::with_capacity(setup.symbols.len());
    let mut index: BTreeMap<Symbol, usize> = BTreeMap::new();
    for (k, config) in setup.symbols.iter().enumerate() {
        let Some(instrument) = instruments.iter().find(|i| i.symbol == config.symbol) else {
            return Err(ReplayError::Input(format!(
                "the paper venue has no instrument {}",
                config.symbol
            )));
        };
        index.insert(config.symbol.clone(), k);
        states.push(SymbolState {
            instrument: instrument.clone(),
            sleeves: Vec::new(),
            blend: None,
            blend_until: None,
            attributed: None,
            blend_changed: true,
            last_zero: None,
            mark: None,
            steady: None,
        });
    }
    let probe = PlanId::new("replay-probe").map_err(|e| ReplayError::Input(e.to_string()))?;
    let mut pending = Pending::new(signals);
    // Sleeves of symbols no configured symbol trades: kept so the sleeve rules judge their
    // signals as live would, never blended.
    let mut others: BTreeMap<(SourceId, Symbol), Sleeve> = BTreeMap::new();
    let mut out = ReplayOutcome {
        orders: Vec::new(),
        fills: Vec::new(),
        ledger: Ledger::new(),
        marks: BTreeMap::new(),
        equity: Vec::with_capacity(times.len()),
        refused: 0,
        rejected: 0,
    };
    let mut positions: Option<(Vec<Position>, BTreeMap<Symbol, Decimal>)> = None;
    let mut plans = 0u64;
    let mut prices: Vec<Option<Price>> = vec![None; states.len()];
    for (cycle, &now) in times.iter().enumerate() {
        clock.set(now);
        feed.advance(now, &mut prices);
        // The signals this cycle blends: those its reading lists (each at the time it was
        // received, as the intake applied it then), else those received by now.
        let due = match recorded.as_ref().and_then(|r| r.seen.get(cycle)) {
            Some(Some(list)) => pending.seen(list),
            _ => pending.received_by(now),
        };
        for (k, recorded) in due {
            let signal = pending.signals[k];
            let at = if recorded { signal.received_at } else { now };
            apply(
                setup,
                signal,
                at,
                &index,
                &mut states,
                &mut others,
                &mut out,
            )?;
        }
        let balance = venue.account_balance().await?;
        let value = balance.value;
        if positions.is_none() {
            let held = venue.positions().await?;
            let sizes = held
                .iter()
                .map(|p| (p.symbol.clone(), p.size.get()))
                .collect();
            positions = Some((held, sizes));
        }
        let Some((held, sizes)) = positions.as_ref() else {
            continue;
        };
        for (k, config) in setup.symbols.iter().enumerate() {
            let st = &mut states[k];
            let Some(price) = prices[k] else { continue };
            st.mark = Some(price);
            let fresh = st.blend.is_some() && st.blend_until.is_none_or(|u| now <= u);
            if !fresh {
                let b = blend(config, &st.sleeves, &setup.policy, now)?;
                st.blend_changed = st.blend.as_ref().is_none_or(|old| *old != b);
                st.blend = Some(b);
                st.steady = None;
                st.blend_until = blend_until(&st.sleeves, &setup.policy, now);
            }
        }
        if value <= Decimal::ZERO {
            return Err(ReplayError::Input(format!(
                "account value is {value} at {now}; nothing can be sized"
            )));
        }
        // Blend and size every priced symbol together, as the live cycle does (the account's
        // gross budget spans its symbols).
        let mut order = Vec::with_capacity(states.len());
        let mut inputs = Vec::with_capacity(states.len());
        for (k, st) in states.iter().enumerate() {
            if let (Some(price), Some(b)) = (prices[k], st.blend.as_ref()) {
                if let Some((steady, zero)) = &st.steady
                    && !st.blend_changed
                    && st.last_zero == Some(*zero)
                    && steady.holds(value, price.get())
                {
                    #[cfg(debug_assertions)]
                    check_skip(setup, st, b, price, value, held, now);
                    continue;
                }
                order.push(k);
                inputs.push(SizeInput {
                    blend: b,
                    price,
                    instrument: &st.instrument,
                });
            }
        }
        let account = AccountSizing {
            value,
            leverage_override: setup.leverage_override,
        };
        // Nothing to size when every symbol was skipped (the policy was validated by the first
        // cycle, which skips nothing).
        let (mut targets, _) = if inputs.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            crate::worker::pricing::size(&inputs, &account, &setup.policy)?
        };
        drop(inputs);
        // As live: opening targets cut to the free margin (a cap that cannot be computed leaves
        // them as they are, the venue's own check standing behind it).
        if let Some(available) = balance.available_margin {
            let _ = tradeengine_core::margin::cap_by_margin(
                &mut targets,
                sizes,
                available,
                value,
                setup.margin_buffer,
            );
        }
        let mut traded = false;
        let mut fills = cycle_fills(recorded.as_ref(), cycle);
        for (i, target) in targets.iter().enumerate() {
            // Targets come in the inputs' order, less any symbol that could not be sized.
            let k = match order.get(i) {
                Some(&k) if states[k].instrument.symbol == target.symbol => k,
                _ => match index.get(&target.symbol) {
                    Some(&k) => k,
                    None => continue,
                },
            };
            let (Some(price), st) = (prices[k], &mut states[k]) else {
                continue;
            };
            let Some(b) = st.blend.as_ref() else { continue };
            let current = held
                .iter()
                .find(|p| p.symbol == target.symbol)
                .cloned()
                .unwrap_or_else(|| Position::flat(target.symbol.clone()));
            let input = PlanInput {
                plan_id: &probe,
                account: &setup.account,
                now,
                current: &current,
                target: target.qty,
                unrounded_target: target.unrounded_qty,
                target_leverage: target.leverage,
                margin_mode: setup.margin_mode,
                instrument: &st.instrument,
                price,
                drift_band: setup.drift_band,
                min_notional: st.instrument.min_notional.max(setup.min_notional),
                kind: OrderKind::Market,
            };
            let mut made = plan(&input)?;
            // As live: an event when the plan has steps or the sources' contributions changed
            // (sources that net each other out still swap their sleeves).
            let zero = target.qty.is_zero();
            let changed = if st.blend_changed || st.last_zero != Some(zero) {
                let key = crate::pnl::contribution_key(b, target);
                let changed = st.attributed.as_ref() != Some(&key);
                if changed {
                    st.attributed = Some(key);
                }
                st.blend_changed = false;
                st.last_zero = Some(zero);
                changed
            } else {
                false
            };
            if made.is_empty() && st.steady.is_none() {
                st.steady = steady_for(setup, b, target, &current, &st.instrument);
            }
            if made.is_empty() && !changed {
                continue;
            }
            if !made.is_empty() {
                plans += 1;
                let id = PlanId::new(&format!("replay-{plans}"))
                    .map_err(|e| ReplayError::Input(e.to_string()))?;
                made = plan(&PlanInput {
                    plan_id: &id,
                    ..input
                })?;
            }
            let desired = crate::pnl::desired_for(b, target, value)?;
            out.ledger.apply(
                &setup.account,
                &target.symbol,
                &Event::Rebalance {
                    desired,
                    target: made.target.get(),
                    reference: price,
                    orders: made.legs().map(|l| l.client_order_id.clone()).collect(),
                },
            )?;
            if !made.is_empty() {
                traded = true;
                st.steady = None;
                execute(
                    &venue,
                    (&feed, &mut fills),
                    &made.steps,
                    &target.symbol,
                    &setup.account,
                    &mut out,
                )
                .await?;
            }
        }
        if traded {
            positions = None;
            out.equity.push((now, venue.account_value().await?));
        } else {
            out.equity.push((now, value));
        }
    }
    for (st, config) in states.iter().zip(&setup.symbols) {
        if let Some(mark) = st.mark {
            out.marks.insert(config.symbol.clone(), mark);
        }
    }
    Ok(out)
}

/// The skip proof for `target`'s symbol after a cycle that left its position as it was, when
/// one can be made: no gross budget or notional cap, and the position already at the margin
/// mode and leverage the plan would set (so an empty plan has no setting step either).
fn steady_for(
    setup: &ReplaySetup,
    blend: &tradeengine_core::blend::Blend,
    target: &tradeengine_core::size::SizedTarget,
    current: &Position,
    instrument: &Instrument,
) -> Option<(Steady, bool)> {
    let zero = current.size.is_zero();
    let settings_match = zero
        || (current.margin_mode == setup.margin_mode
            && current.leverage.cmp(&target.leverage) == std::cmp::Ordering::Equal);
    if setup.policy.gross_exposure_budget.is_some() || !settings_match {
        return None;
    }
    Steady::new(
        blend,
        target.sizing_leverage,
        current.size.get(),
        instrument,
    )
    .map(|s| (s, zero))
}

/// Debug builds: a skipped symbol sized and planned in full gives its position back and an
/// empty plan (see [`super::steady`]), so every replay test checks the proof.
#[cfg(debug_assertions)]
fn check_skip(
    setup: &ReplaySetup,
    st: &SymbolState,
    blend: &tradeengine_core::blend::Blend,
    price: Price,
    value: Decimal,
    held: &[Position],
    now: Timestamp,
) {
    let input = SizeInput {
        blend,
        price,
        instrument: &st.instrument,
    };
    let account = AccountSizing {
        value,
        leverage_override: setup.leverage_override,
    };
    let target = tradeengine_core::size::size_target(&input, &account, &setup.policy);
    debug_assert!(target.is_ok(), "a skipped symbol fails to size");
    let Ok(target) = target else { return };
    let current = held
        .iter()
        .find(|p| p.symbol == st.instrument.symbol)
        .cloned()
        .unwrap_or_else(|| Position::flat(st.instrument.symbol.clone()));
    debug_assert_eq!(target.qty, current.size, "a skipped symbol's target moved");
    let (Ok(id), Ok(account)) = (
        PlanId::new("replay-check"),
        tradeengine_model::AccountName::new("check"),
    ) else {
        return;
    };
    let made = plan(&PlanInput {
        plan_id: &id,
        account: &account,
        now,
        current: &current,
        target: target.qty,
        unrounded_target: target.unrounded_qty,
        target_leverage: target.leverage,
        margin_mode: setup.margin_mode,
        instrument: &st.instrument,
        price,
        drift_band: setup.drift_band,
        min_notional: st.instrument.min_notional.max(setup.min_notional),
        kind: OrderKind::Market,
    });
    debug_assert!(
        made.is_ok_and(|p| p.is_empty()),
        "a skipped symbol's plan has steps"
    );
}

/// Applies one signal to its sleeve, as the intake does (the mark is the price the last cycle
/// read, as the live engine's is).
fn apply(
    setup: &ReplaySetup,
    signal: &Signal,
    now: Timestamp,
    index: &BTreeMap<Symbol, usize>,
    states: &mut [SymbolState],
    others: &mut BTreeMap<(SourceId, Symbol), Sleeve>,
    out: &mut ReplayOutcome,
) -> Result<(), ReplayError> {
    let rules = setup.rules.get(&signal.source).cloned().unwrap_or_default();
    let flat = || Sleeve::flat(signal.source.clone(), signal.symbol.clone(), now);
    let Some(st) = index.get(&signal.symbol).and_then(|&k| states.get_mut(k)) else {
        let key = (signal.source.clone(), signal.symbol.clone());
        let sleeve = others.get(&key).cloned().unwrap_or_else(flat);
        match apply_signal(&sleeve, signal, None, &rules, now)? {
            SleeveDecision::Applied { sleeve, .. } => {
                others.insert(key, sleeve);
            }
            SleeveDecision::Refused(_) => out.refused += 1,
        }
        return Ok(());
    };
    let at = st.sleeves.iter().position(|s| s.source == signal.source);
    let sleeve = at.map_or_else(flat, |i| st.sleeves[i].clone());
    match apply_signal(&sleeve, signal, st.mark, &rules, now)? {
        SleeveDecision::Applied { sleeve, .. } => {
            match at {
                Some(i) => st.sleeves[i] = sleeve,
                None => st.sleeves.push(sleeve),
            }
            // Blended again at the next cycle.
            st.blend = None;
        }
        SleeveDecision::Refused(_) => out.refused += 1,
    }
    Ok(())
}

/// Sends a plan's steps to the paper venue and books each fill. An order whose live fill's
/// market price was recorded fills there (the feed answers that price while it is placed).
async fn execute(
    venue: &PaperVenue,
    (feed, fills): (&CycleFeed, &mut BTreeMap<Symbol, VecDeque<Price>>),
    steps: &[PlanStep],
    symbol: &Symbol,
    account: &tradeengine_model::AccountName,
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
                let at_fill = fills.get_mut(symbol).and_then(VecDeque::pop_front);
                let reading = at_fill.map(|p| feed.set(symbol, Some(p)));
                let placed = venue.place_order(&request).await;
                if let Some(reading) = reading {
                    feed.set(symbol, reading);
                }
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
