//! The deciding steps of a cycle: the account's equity against its loss limits, the blend and
//! size of every configured symbol with the account's own limits, instruments from the cache,
//! and the targets stored when they change.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use tradeengine_core::blend::{self, Blend};
use tradeengine_core::risk::PortfolioTracker;
use tradeengine_core::size::{AccountSizing, SizeInput, SizedTarget};
use tradeengine_model::{Price, SignalId, SourceId, Symbol, Timestamp};
use tradeengine_store::TargetRecord;

use super::AccountWorker;
use super::cycle::CycleContext;
use super::outcome::CycleError;
use super::pricing::Skipped;
use super::targets::{blend_policy, symbol_config, zero_targets};
use crate::config::{AccountState, RiskLimits};

/// This account's targets for the cycle, and the blends they were sized from.
#[derive(Debug)]
pub(super) struct Decided {
    pub targets: Vec<SizedTarget>,
    /// Symbols that could not be sized, with why.
    pub not_sized: Skipped,
    /// This account's blend per symbol (its own depth cap applied): what its target records
    /// carry as their depth.
    pub blends: BTreeMap<Symbol, Blend>,
    /// The release-into-hold marker covering this account, read once for the cycle.
    pub hold: Option<crate::release_hold::ReleaseHold>,
    /// Per sleeve blended, the last signal applied to it: what a replay must apply before this
    /// cycle (the intake commits while cycles run, so the signals received by the cycle's time
    /// are not the ones it saw).
    pub seen: BTreeMap<(SourceId, Symbol), SignalId>,
}

impl AccountWorker {
    /// Blends and sizes every configured symbol for this account. Close-only accounts target
    /// zero everywhere; symbols without a price or instrument are left out (and so not traded),
    /// and symbols that cannot be sized are returned apart with the reason. Each account blends
    /// with its own limits (`[accounts.risk] max_depth`), so blends are never shared.
    pub(super) async fn decide_targets(
        &self,
        ctx: &CycleContext<'_>,
        value: Decimal,
        prices: &BTreeMap<Symbol, Price>,
    ) -> Result<Decided, CycleError> {
        let (account_cfg, now) = (ctx.account, ctx.now);
        let policy = blend_policy(ctx.config, ctx.limits);
        let hold = crate::release_hold::read(&*self.store)
            .await?
            .filter(|h| h.covers(&self.name));
        let mut blends = Vec::new();
        let mut seen = BTreeMap::new();
        for s in ctx.symbols {
            let sc = symbol_config(s);
            let mut sleeves = self.state.sleeves_of(&sc.symbol).await;
            for sleeve in &sleeves {
                if let Some(id) = &sleeve.last_signal {
                    seen.insert((sleeve.source.clone(), sleeve.symbol.clone()), id.clone());
                }
            }
            if let Some(hold) = &hold {
                crate::release_hold::drop_decided_before(hold, &mut sleeves);
            }
            // One symbol that cannot be blended (a bad sleeve, an overflow) is left out of this
            // cycle; the others go on (invariant 4, within an account).
            match blend::blend(&sc, &sleeves, &policy, now) {
                Ok(b) => blends.push(b),
                Err(e) => {
                    tracing::error!(account = %self.name, symbol = %sc.symbol, error = %e, "cannot blend; symbol skipped this cycle")
                }
            }
        }
        // For the API's breakdown only: this account's blends never come back from the board.
        self.state.publish_blends(&self.name, &blends).await;
        let inputs: Vec<SizeInput<'_>> = blends
            .iter()
            .filter_map(|b| {
                Some(SizeInput {
                    blend: b,
                    price: *prices.get(&b.symbol)?,
                    instrument: self.instruments.get(&b.symbol)?,
                })
            })
            .collect();
        if value <= Decimal::ZERO {
            return Err(CycleError::Other(format!(
                "account value is {value}; nothing can be sized (fund the account or set state = \"close_only\")"
            )));
        }
        let sizing = AccountSizing {
            value,
            leverage_override: account_cfg.leverage_override,
        };
        let (mut targets, not_sized) = super::pricing::size(&inputs, &sizing, &policy)?;
        if account_cfg.state == AccountState::CloseOnly {
            zero_targets(&mut targets);
        }
        Ok(Decided {
            targets,
            not_sized,
            blends: blends.into_iter().map(|b| (b.symbol.clone(), b)).collect(),
            hold,
            seen,
        })
    }

    /// Feeds this cycle's equity reading to the account's portfolio tracker (loaded from the
    /// store, with any operator reset applied), stores it when it changed and audits a state
    /// change.
    pub(super) async fn observe_equity(
        &self,
        limits: &RiskLimits,
        value: Decimal,
        now: Timestamp,
    ) -> Result<PortfolioTracker, CycleError> {
        let stored = crate::risk::load(&*self.store, &self.name).await?;
        let mut tracker = stored.clone();
        let escalation = tracker.observe(now, value, &limits.loss_limits());
        if let Some(e) = &escalation {
            tracing::error!(account = %self.name, from = e.from.as_str(), to = e.to.as_str(), rule = %e.rule, detail = %e.detail, "portfolio risk state changed");
            crate::audit_payload::AuditPayload::RiskStateChanged {
                from: e.from,
                to: e.to,
                rule: e.rule,
                detail: &e.detail,
                equity: value,
                figures: tracker.figures,
            }
            .record(&*self.store, Some(self.name.as_str()), None, now)
            .await?;
        }
        if tracker != stored {
            crate::risk::save(&*self.store, &self.name, &tracker).await?;
        }
        Ok(tracker)
    }

    /// Instruments are cached for the life of the worker; only unseen symbols are requested.
    /// Returns the symbols the venue cannot describe (asked again next cycle).
    pub(super) async fn refresh_instruments(
        &mut self,
        symbols: &[Symbol],
    ) -> Result<super::pricing::Skipped, CycleError> {
        let missing: Vec<Symbol> = symbols
            .iter()
            .filter(|s| !self.instruments.contains_key(*s))
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(Vec::new());
        }
        let (found, skipped) = super::pricing::instruments(&*self.venue, &missing).await?;
        if !found.is_empty() {
            let ticks = self.state.learn_ticks(&found).await;
            crate::display::store_ticks(&*self.store, &ticks).await;
        }
        for i in found {
            self.instruments.insert(i.symbol.clone(), i);
        }
        Ok(skipped)
    }

    /// The targets that differ from the last stored ones (a target repeated every cycle is
    /// not news, and would bloat the audit trail), for the cycle's closing write. The depth is
    /// this account's own blend's, from this cycle: never read back from the board other
    /// accounts write too. [`AccountWorker::targets_stored`] marks them once stored.
    pub(super) fn changed_targets(
        &self,
        targets: &[SizedTarget],
        blends: &BTreeMap<Symbol, Blend>,
        now: Timestamp,
    ) -> Vec<TargetRecord> {
        targets
            .iter()
            .filter(|t| self.last_targets.get(&t.symbol) != Some(&t.qty.get()))
            .map(|t| TargetRecord {
                account: self.name.clone(),
                symbol: t.symbol.clone(),
                depth: blends.get(&t.symbol).map(|b| b.depth).unwrap_or_default(),
                leverage: t.leverage,
                quantity: t.qty.get(),
                decided_at: now,
            })
            .collect()
    }

    /// After the closing write committed: these are now the last stored targets.
    pub(super) fn targets_stored(&mut self, stored: Vec<TargetRecord>) {
        for t in stored {
            self.last_targets.insert(t.symbol, t.quantity);
        }
    }
}
