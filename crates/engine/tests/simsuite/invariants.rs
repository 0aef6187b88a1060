//! The order-path invariants of ARCHITECTURE.md, checked against the store and the simulator after
//! the scenario's clean cycle. Each check returns what broke, in words, for the failure report.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use tradeengine_core::risk::PortfolioState;
use tradeengine_model::{AccountName, OrderState, Side};
use tradeengine_store::{OrderFilter, StoredOrder};
use tradeengine_venue_sim::{SimHandle, SimOrder, SimStatus, VenueId};

use super::world::Engine;

/// What one account's check found, for the report.
#[derive(Debug, Default, Clone)]
pub struct AccountFigures {
    pub orders_at_venue: usize,
    /// Order-entry HTTP requests the simulator received (faulted ones included).
    pub create_requests: u64,
    /// Create requests that reached the matching engine.
    pub submissions: u64,
    /// Create requests beyond the first for one client id that reached the matching engine
    /// (each refused there as a duplicate).
    pub resubmissions: u64,
    /// Orders the store holds, by final state.
    pub store_orders: BTreeMap<&'static str, u64>,
    /// The account ended halted (with its reason) instead of converged.
    pub halted: Option<String>,
}

fn signed(side: Side, qty: Decimal) -> Decimal {
    match side {
        Side::Buy => qty,
        Side::Sell => -qty,
    }
}

async fn all_orders(engine: &Engine, account: &AccountName) -> Result<Vec<StoredOrder>, String> {
    let mut out = Vec::new();
    loop {
        let page = engine
            .store
            .orders(&OrderFilter {
                account: Some(account.clone()),
                limit: Some(500),
                offset: Some(out.len() as i64),
                ..OrderFilter::default()
            })
            .await
            .map_err(|e| format!("store orders: {e}"))?;
        let n = page.len();
        out.extend(page);
        if n < 500 {
            return Ok(out);
        }
    }
}

/// Checks one account after the clean cycle.
pub async fn check_account(
    engine: &Engine,
    name: &str,
    sim: &SimHandle,
) -> Result<AccountFigures, String> {
    let account = AccountName::new(name).map_err(|e| e.to_string())?;
    let mut fig = AccountFigures::default();
    let venue_orders = sim.orders();
    fig.orders_at_venue = venue_orders.len();
    fig.create_requests = sim
        .counters()
        .get("POST", super::world::order_path(sim.venue()));
    let stored = all_orders(engine, &account).await?;
    // Hyperliquid carries each id as its 128-bit cloid: the store's ids by their cloid.
    let by_cloid: BTreeMap<String, String> = stored
        .iter()
        .map(|o| {
            let id = o.client_order_id.as_str();
            (
                tradeengine_venues::hyperliquid::wire::cloid_for(id),
                id.to_string(),
            )
        })
        .collect();
    // The engine's form of each id (BloFin carries `-` as `_`).
    let engine_id = |id: &str| match sim.venue() {
        VenueId::Blofin => id.replace('_', "-"),
        VenueId::Hyperliquid => by_cloid.get(id).cloned().unwrap_or_else(|| id.to_string()),
        _ => id.to_string(),
    };
    let venue_orders: Vec<SimOrder> = venue_orders
        .into_iter()
        .map(|mut o| {
            o.client_id = engine_id(&o.client_id);
            o
        })
        .collect();
    let submissions: BTreeMap<String, u32> = sim
        .client_id_submissions()
        .into_iter()
        .map(|(id, n)| (engine_id(&id), n))
        .collect();
    fig.submissions = submissions.values().map(|n| u64::from(*n)).sum();
    fig.resubmissions = submissions.values().map(|n| u64::from(n - 1)).sum();

    // Invariant 1: no client order id used for two orders, at the venue or in the store.
    let mut seen = BTreeSet::new();
    for o in &venue_orders {
        if !seen.insert(o.client_id.clone()) {
            return Err(format!("{name}: client id {} accepted twice", o.client_id));
        }
    }
    let by_id: BTreeMap<String, &StoredOrder> = stored
        .iter()
        .map(|o| (o.client_order_id.as_str().to_string(), o))
        .collect();
    if by_id.len() != stored.len() {
        return Err(format!("{name}: the store holds a client id twice"));
    }
    for o in &stored {
        *fig.store_orders.entry(o.state.as_str()).or_insert(0) += 1;
    }

    // Invariant 2: nothing reaches the venue that the store did not hold first, and an order
    // the store says never left was never sent.
    for (id, n) in &submissions {
        let Some(o) = by_id.get(id) else {
            return Err(format!(
                "{name}: the venue received client id {id} ({n}×) that the store never held"
            ));
        };
        if o.state == OrderState::Cancelled
            && o.error
                .as_deref()
                .is_some_and(|e| e.contains("never sent") || e.contains("not sent"))
        {
            return Err(format!(
                "{name}: order {id} is stored as never sent, but the venue received it {n}×"
            ));
        }
    }

    // Invariant 3 (never silently untracked): every order is settled, and what the store says
    // each order did is what the venue did.
    let unsettled: Vec<&StoredOrder> = stored.iter().filter(|o| !o.state.is_terminal()).collect();
    if !unsettled.is_empty() {
        return Err(format!(
            "{name}: orders left unsettled after the clean cycle: {:?}",
            unsettled
                .iter()
                .map(|o| format!("{} {}", o.client_order_id, o.state.as_str()))
                .collect::<Vec<_>>()
        ));
    }
    for v in &venue_orders {
        if v.status == SimStatus::New || v.status == SimStatus::PartiallyFilled {
            return Err(format!(
                "{name}: order {} still working at the venue",
                v.client_id
            ));
        }
        let Some(o) = by_id.get(&v.client_id) else {
            return Err(format!(
                "{name}: venue order {} is not in the store",
                v.client_id
            ));
        };
        if o.filled_qty != v.filled || o.symbol.as_str() != v.symbol || o.side != v.side {
            return Err(format!(
                "{name}: order {}: store says {} {} {} filled {} ({}), venue says {} {:?} filled {}",
                v.client_id,
                o.symbol,
                o.side.as_str(),
                o.qty,
                o.filled_qty,
                o.state.as_str(),
                v.symbol,
                v.side,
                v.filled
            ));
        }
    }
    for o in &stored {
        if o.filled_qty > Decimal::ZERO
            && !venue_orders
                .iter()
                .any(|v| v.client_id == o.client_order_id.as_str())
        {
            return Err(format!(
                "{name}: the store has order {} filled {} that the venue never had",
                o.client_order_id, o.filled_qty
            ));
        }
    }

    // The fills the store recorded add up to the venue's positions (every account starts flat).
    let fills = engine
        .store
        .fills(Some(&account), 10_000)
        .await
        .map_err(|e| format!("store fills: {e}"))?;
    let mut from_fills: BTreeMap<String, Decimal> = BTreeMap::new();
    for f in &fills {
        *from_fills.entry(f.symbol.as_str().to_string()).or_default() += signed(f.side, f.qty);
    }
    let symbols: BTreeSet<String> = from_fills
        .keys()
        .cloned()
        .chain(sim.positions().into_keys())
        .collect();
    for s in &symbols {
        let venue = sim.position(s);
        let stored = from_fills.get(s).copied().unwrap_or_default();
        if venue != stored {
            let fills: Vec<String> = fills
                .iter()
                .filter(|f| f.symbol.as_str() == s)
                .map(|f| format!("{} {} {}", f.client_order_id, f.side.as_str(), f.qty))
                .collect();
            let orders: Vec<String> = venue_orders
                .iter()
                .filter(|o| &o.symbol == s)
                .map(|o| format!("{} {:?} {} {:?}", o.client_id, o.side, o.filled, o.status))
                .collect();
            return Err(format!(
                "{name}: {s}: fills in the store add up to {stored}, the venue holds {venue}; store fills {fills:?}; venue orders {orders:?}"
            ));
        }
    }

    // Nobody else trades these accounts: any move from outside the engine sees is a false one,
    // and enough of them would freeze a healthy account (see `worker::outside`).
    let outside: Vec<serde_json::Value> = engine
        .store
        .audit_events(0, 100_000)
        .await
        .map_err(|e| format!("store audit: {e}"))?
        .into_iter()
        .filter(|e| e.account.as_deref() == Some(name) && e.payload.get("moved_outside").is_some())
        .map(|e| e.payload)
        .collect();
    if !outside.is_empty() {
        let orders: Vec<String> = stored
            .iter()
            .map(|o| {
                format!(
                    "{} plan {} {} {} {} filled {} {}",
                    o.client_order_id,
                    o.plan_id,
                    o.symbol,
                    o.side.as_str(),
                    o.qty,
                    o.filled_qty,
                    o.state.as_str()
                )
            })
            .collect();
        return Err(format!(
            "{name}: positions seen moved outside the engine, but nobody else trades here: {outside:?}; store orders {orders:?}"
        ));
    }

    // Invariant 3: exposure at target (within what the engine may leave: the drift band, one
    // step, and — for an adjustment — the venue's minimum order value), or halted with a reason.
    let view = engine
        .state
        .account_view(&account)
        .await
        .ok_or_else(|| format!("{name}: no view after the clean cycle"))?;
    if let Some(e) = &view.last_error {
        return Err(format!("{name}: the clean cycle left an error: {e}"));
    }
    if let Some(risk) = &view.risk
        && risk.state != PortfolioState::Active
    {
        // Halted (or reducing) is an allowed end only when the account says why.
        let Some(detail) = risk
            .detail
            .clone()
            .or_else(|| risk.rule.map(|r| format!("{r:?}")))
        else {
            return Err(format!(
                "{name}: account is {:?} without a stated reason",
                risk.state
            ));
        };
        fig.halted = Some(detail);
        return Ok(fig);
    }
    if view.targets.is_empty() {
        return Err(format!("{name}: no targets decided"));
    }
    let band = engine.state.config().engine.drift_band;
    for (symbol, target) in &view.targets {
        let inst = sim
            .options()
            .instruments
            .iter()
            .find(|i| i.symbol == symbol.as_str())
            .ok_or_else(|| format!("{name}: {symbol}: no instrument"))?;
        let price = sim.price(symbol.as_str()).unwrap_or_default();
        let min_qty = if price > Decimal::ZERO {
            inst.min_notional / price
        } else {
            Decimal::ZERO
        };
        let position = sim.position(symbol.as_str());
        let off = (position - target).abs();
        // The planner decides on the unrounded target (within half a step of `target`): it
        // leaves a position alone within max(band × |raw|, one step) of it, so up to half a
        // step more from the rounded target (hysteresis around the step grid).
        let half = inst.qty_step / Decimal::TWO;
        let allowed = ((band * (target.abs() + half)).max(inst.qty_step) + half).max(
            // A flat target is always reached (closes ignore minimums); an adjustment below
            // the venue's minimum order value cannot be sent.
            if target.is_zero() {
                Decimal::ZERO
            } else {
                min_qty
            },
        );
        if off > allowed {
            return Err(format!(
                "{name}: {symbol}: position {position} vs target {target} after the clean cycle (allowed {allowed})"
            ));
        }
    }
    Ok(fig)
}
