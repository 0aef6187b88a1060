//! The configuration seen by the pure core, and the target adjustments a cycle makes for the
//! account's state (close-only, kill switch, REDUCING): kept apart from the cycle's sequencing.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use tradeengine_core::blend::{self, BlendPolicy, SourceStaleness};
use tradeengine_core::risk::reducing_target;
use tradeengine_core::size::SizedTarget;
use tradeengine_model::{Position, SourceId, Symbol};

use crate::config::{Config, OnStale, RiskLimits};

/// The blend policy the configuration asks for, with one account's risk limits.
pub fn blend_policy(config: &Config, limits: &RiskLimits) -> BlendPolicy {
    let staleness = config
        .sources
        .iter()
        .filter_map(|(name, s)| {
            let id = SourceId::new(name).ok()?;
            let ttl = s
                .ttl_secs
                .map(|t| chrono::TimeDelta::seconds(i64::try_from(t).unwrap_or(i64::MAX / 1000)));
            let on_stale = match s.on_stale {
                OnStale::Flat => blend::OnStale::Flat,
                OnStale::Hold => blend::OnStale::Hold,
            };
            Some((id, SourceStaleness { ttl, on_stale }))
        })
        .collect();
    BlendPolicy {
        depth_cap: Some(limits.max_depth),
        leverage_cap: Some(limits.max_leverage),
        apply_leverage_override_to_sizing: limits.leverage_override_sizes,
        gross_exposure_budget: limits.max_gross_exposure,
        staleness,
    }
}

/// One `[[symbols]]` entry and its symbol (checked when the configuration loaded).
#[derive(Debug, Clone)]
pub struct ConfiguredSymbol<'c> {
    pub symbol: Symbol,
    pub config: &'c crate::config::SymbolConfig,
}

/// The configured symbols.
pub fn configured_symbols(config: &Config) -> Vec<ConfiguredSymbol<'_>> {
    config
        .symbols
        .iter()
        .map(|s| ConfiguredSymbol {
            symbol: s.symbol.clone(),
            config: s,
        })
        .collect()
}

/// The core's view of one `[[symbols]]` entry.
pub fn symbol_config(entry: &ConfiguredSymbol<'_>) -> blend::SymbolConfig {
    let (symbol, s) = (entry.symbol.clone(), entry.config);
    let weights = s
        .weights
        .iter()
        .filter_map(|(k, w)| SourceId::new(k).ok().map(|id| (id, *w)))
        .collect();
    blend::SymbolConfig {
        symbol,
        leverage: s.leverage,
        weights,
        depth_cap: s.max_depth,
        leverage_cap: None,
        max_notional: s.max_notional,
    }
}

/// Targets of zero everywhere: close-only accounts and a flattening kill switch. The plans that
/// follow are reduce-only closes.
pub(crate) fn zero_targets(targets: &mut [SizedTarget]) {
    for t in targets {
        set_qty(t, Decimal::ZERO);
    }
}

/// Moves a sized target to `qty` base units, with its venue quantity and notional: every
/// adjustment a cycle makes after sizing (close-only, kill switch, REDUCING, release into hold)
/// goes through here, so the three fields never disagree.
pub(crate) fn set_qty(t: &mut SizedTarget, qty: Decimal) {
    t.qty = tradeengine_model::Quantity::new(qty);
    t.unrounded_qty = qty;
    t.venue_qty = qty.checked_div(t.contract_size).unwrap_or_default();
    t.notional = qty.abs().checked_mul(t.price.get()).unwrap_or_default();
}

/// Released into hold: a held symbol's target is the venue's current position (flat when there
/// is none; see [`crate::release_hold`]).
pub(crate) fn hold_at_current(target: &mut SizedTarget, current: Option<&Position>) {
    let qty = current.map(|p| p.size.get()).unwrap_or_default();
    set_qty(target, qty);
}

/// REDUCING: each target moves only toward zero from the current position (an increase is held,
/// a flip closes), so every plan is made of reducing legs.
pub(crate) fn reduce_targets(targets: &mut [SizedTarget], positions: &BTreeMap<Symbol, Position>) {
    for t in targets {
        let current = positions
            .get(&t.symbol)
            .map(|p| p.size.get())
            .unwrap_or_default();
        let qty = reducing_target(current, t.qty.get());
        if qty == t.qty.get() {
            continue;
        }
        set_qty(t, qty);
    }
}
