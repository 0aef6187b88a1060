//! What the Telegram commands do in the engine: read the shared state for `/status`,
//! `/positions` and `/pnl`; engage or release the stored kill switch exactly as the API's
//! `POST /api/v1/kill` and `DELETE /api/v1/kill` do; write each command to the audit trail.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;
use tradeengine_model::Clock;
use tradeengine_notify::{CommandRecord, Control, ControlAction, ControlError};
use tradeengine_store::Store;

use crate::audit_payload::AuditPayload;
use crate::display;
use crate::killswitch::{self, KillAction};
use crate::state::SharedState;

/// The engine behind the Telegram desk.
#[derive(Debug, Clone)]
pub struct EngineControl {
    pub state: SharedState,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

fn err(e: impl std::fmt::Display) -> ControlError {
    ControlError(e.to_string())
}

fn signed(v: Decimal) -> String {
    if v > Decimal::ZERO {
        format!("+{v}")
    } else {
        v.to_string()
    }
}

impl EngineControl {
    /// Each position's unrealised P&L at the latest price: size × (price − entry), in quote.
    async fn unrealised(&self) -> BTreeMap<(String, String), Decimal> {
        let prices = self.state.prices().await;
        let mut out = BTreeMap::new();
        for (account, view) in self.state.account_views().await {
            for p in view.positions.iter().filter(|p| !p.size.is_zero()) {
                if let (Some(entry), Some(mark)) = (p.entry_price, prices.get(&p.symbol)) {
                    let u = p.size.get() * (mark.get() - entry.get());
                    out.insert(
                        (account.to_string(), p.symbol.to_string()),
                        display::money(u),
                    );
                }
            }
        }
        out
    }
}

#[async_trait]
impl Control for EngineControl {
    async fn status(&self) -> Result<String, ControlError> {
        let mut s = String::new();
        let kill = self.state.kill_state().await;
        let _ = writeln!(
            s,
            "Kill switch: {}",
            if kill.is_engaged() { "ENGAGED" } else { "off" }
        );
        for (account, v) in self.state.account_views().await {
            let risk = v
                .risk
                .as_ref()
                .and_then(|r| serde_json::to_value(r.state).ok())
                .and_then(|j| j.as_str().map(String::from))
                .unwrap_or_else(|| "-".into());
            let open = v.positions.iter().filter(|p| !p.size.is_zero()).count();
            let _ = writeln!(
                s,
                "{account} ({}): equity {}, risk {risk}, {open} open position(s), {} filled / {} sent{}",
                v.mode.as_deref().unwrap_or("-"),
                display::or_dash(v.value.map(display::money)),
                v.orders_filled,
                v.orders_sent,
                v.last_error
                    .as_deref()
                    .map(|e| format!(", FAILING: {e}"))
                    .unwrap_or_default(),
            );
        }
        let stale: Vec<String> = self
            .state
            .source_freshness()
            .into_iter()
            .filter(|(_, f)| f.stale)
            .map(|(n, _)| n)
            .collect();
        if !stale.is_empty() {
            let _ = writeln!(s, "Stale sources: {}", stale.join(", "));
        }
        Ok(s.trim_end().to_string())
    }

    async fn positions(&self) -> Result<String, ControlError> {
        let ticks = self.state.ticks().await;
        let unrealised = self.unrealised().await;
        let mut s = String::new();
        for (account, v) in self.state.account_views().await {
            for p in v.positions.iter().filter(|p| !p.size.is_zero()) {
                let tick = ticks.get(&p.symbol).copied();
                let entry = display::price_opt(p.entry_price.map(|e| e.get()), tick);
                let target = v.targets.get(&p.symbol).copied();
                let u = unrealised.get(&(account.to_string(), p.symbol.to_string()));
                let _ = writeln!(
                    s,
                    "{account} {} {} @ {} (target {}, uPnL {})",
                    p.symbol,
                    signed(display::qty(p.size.get())),
                    display::or_dash(entry),
                    display::or_dash(target.map(display::qty)),
                    u.map(|u| signed(*u)).unwrap_or_else(|| "-".into()),
                );
            }
        }
        if s.is_empty() {
            return Ok("No open positions.".into());
        }
        Ok(s.trim_end().to_string())
    }

    async fn pnl(&self) -> Result<String, ControlError> {
        let unrealised = self.unrealised().await;
        let mut s = String::new();
        let mut total = Decimal::ZERO;
        for ((account, symbol), u) in &unrealised {
            total += *u;
            let _ = writeln!(s, "{account} {symbol}: unrealised {}", signed(*u));
        }
        let _ = writeln!(s, "Unrealised total: {}", signed(display::money(total)));
        for (account, v) in self.state.account_views().await {
            if let Some(value) = v.value {
                let _ = writeln!(s, "{account} equity: {}", display::money(value));
            }
        }
        Ok(s.trim_end().to_string())
    }

    async fn act(&self, action: ControlAction, by: &str) -> Result<String, ControlError> {
        let config = self.state.config();
        let reply = match action {
            ControlAction::Kill | ControlAction::Flatten => {
                let kill = if action == ControlAction::Kill {
                    KillAction::Freeze
                } else {
                    KillAction::Flatten
                };
                let switch = killswitch::new_switch(kill, None, by, &*self.clock);
                match killswitch::engage_merged(&*self.store, switch).await {
                    Ok(_) => {}
                    Err(killswitch::EngageError::Conflict(c)) => {
                        return Ok(format!("Kill switch unchanged: {c}."));
                    }
                    Err(killswitch::EngageError::Store(e)) => return Err(err(e)),
                }
                format!(
                    "Kill switch ENGAGED: {} every account.",
                    if kill == KillAction::Freeze {
                        "freeze"
                    } else {
                        "flatten"
                    }
                )
            }
            ControlAction::Release => {
                let was = killswitch::release(&*self.store, by, self.clock.now())
                    .await
                    .map_err(err)?;
                let file = killswitch::read_file(&config.engine.data_dir).is_some();
                match (was, file) {
                    (_, true) => "Stored kill switch released, but the kill FILE is still there: \
                                  nothing trades until it is removed."
                        .to_string(),
                    (true, false) => "Kill switch released.".to_string(),
                    (false, false) => "The kill switch was not engaged.".to_string(),
                }
            }
        };
        // Apply at once rather than at the watcher's next read.
        self.state
            .refresh_kill(&*self.store, &config.engine.data_dir)
            .await;
        self.state.notify_targets_changed();
        Ok(reply)
    }

    async fn audit(&self, record: &CommandRecord) -> Result<(), ControlError> {
        AuditPayload::TelegramCommand {
            telegram_command: record,
        }
        .record(&*self.store, None, None, self.clock.now())
        .await
        .map(|_| ())
        .map_err(err)
    }
}
