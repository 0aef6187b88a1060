//! What a cycle does for the kill switch beyond zeroing targets: it keeps the targets a release
//! would trade to (for `kill --release`'s preview), and a flatten also closes positions in
//! symbols the configuration does not name.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use tradeengine_core::size::SizedTarget;
use tradeengine_model::{Position, Symbol};

use super::AccountWorker;
use super::outcome::{CycleError, SkipReason};

impl AccountWorker {
    /// While the switch holds, keeps the targets a release would trade to in the store
    /// ([`crate::killswitch::release_targets_key`]): a flatten records zero targets, so the
    /// stored targets alone made `kill --release` preview "nothing" before a release that then
    /// bought back the whole blended position.
    pub(super) async fn store_release_targets(
        &mut self,
        targets: &[SizedTarget],
    ) -> Result<(), CycleError> {
        let map: BTreeMap<Symbol, Decimal> = targets
            .iter()
            .map(|t| (t.symbol.clone(), t.qty.get()))
            .collect();
        if self.release_targets.as_ref() == Some(&map) {
            return Ok(());
        }
        self.store
            .put_state(
                &crate::killswitch::release_targets_key(&self.name),
                &serde_json::json!({ "targets": map, "at": self.clock.now() }),
            )
            .await?;
        self.release_targets = Some(map);
        Ok(())
    }

    /// Zero targets for the positions in symbols the configuration does not name, for a
    /// flattening kill switch. A symbol that cannot be described or priced is reported in
    /// `skipped` and tried again next cycle.
    pub(super) async fn unconfigured_closes(
        &mut self,
        targets: &[SizedTarget],
        positions: &[Position],
        skipped: &mut super::pricing::Skipped,
    ) -> Vec<SizedTarget> {
        let outside: Vec<&Position> = positions
            .iter()
            .filter(|p| !p.size.get().is_zero() && !targets.iter().any(|t| t.symbol == p.symbol))
            .collect();
        if outside.is_empty() {
            return Vec::new();
        }
        let symbols: Vec<Symbol> = outside.iter().map(|p| p.symbol.clone()).collect();
        match self.refresh_instruments(&symbols).await {
            Ok(s) => skipped.extend(s),
            Err(e) => {
                skipped.extend(
                    symbols
                        .iter()
                        .map(|s| (s.clone(), SkipReason::Flatten(e.to_string()))),
                );
                return Vec::new();
            }
        }
        let prices = match self.venue.prices(&symbols).await {
            Ok(p) => p,
            Err(e) => {
                skipped.extend(
                    symbols
                        .iter()
                        .map(|s| (s.clone(), SkipReason::Flatten(e.to_string()))),
                );
                return Vec::new();
            }
        };
        outside
            .into_iter()
            .filter_map(|p| {
                let instrument = self.instruments.get(&p.symbol)?;
                let price = *prices.get(&p.symbol)?;
                let leverage = if p.leverage > Decimal::ZERO {
                    p.leverage
                } else {
                    Decimal::ONE
                };
                Some(SizedTarget {
                    symbol: p.symbol.clone(),
                    price,
                    raw_qty: Decimal::ZERO,
                    qty: tradeengine_model::Quantity::ZERO,
                    unrounded_qty: Decimal::ZERO,
                    venue_qty: Decimal::ZERO,
                    notional: Decimal::ZERO,
                    leverage,
                    sizing_leverage: leverage,
                    limited_by: None,
                    qty_step: instrument.qty_step,
                    contract_size: instrument.contract_size,
                })
            })
            .collect()
    }
}
