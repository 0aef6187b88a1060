//! `tradeengine positions adopt|flatten --account A --symbol S`: an operator's decision on a
//! position the engine has no record of managing (a fresh or lost database, a manual trade),
//! which the engine otherwise leaves alone. The decision is written to the store (and audited)
//! for the running engine to act on at the account's next cycle; a stopped engine applies it
//! when it starts. Without a subcommand, `positions` lists positions as before.

use std::process::ExitCode;

use tradeengine_engine::config::Overrides;
use tradeengine_engine::worker::unknown::{Decision, record_decision, view_key};
use tradeengine_model::{AccountName, Symbol};

use super::{load_config, open_store};
use crate::args::{Global, PositionsAction, PositionsArgs};

pub async fn run(global: &Global, args: PositionsArgs) -> anyhow::Result<ExitCode> {
    let (decision, d) = match args.action {
        None => return super::inspect::positions(global, args).await,
        Some(PositionsAction::Adopt(d)) => (Decision::Adopt, d),
        Some(PositionsAction::Flatten(d)) => (Decision::Flatten, d),
    };
    let (config, _) = load_config(global, Overrides::default())?;
    if config.account(&d.account).is_none() {
        anyhow::bail!("no account named {:?} in the configuration", d.account);
    }
    let symbol = Symbol::new(&d.symbol.to_ascii_uppercase())?;
    let account = AccountName::new(&d.account)?;
    let store = open_store(&config).await?;
    if config.symbol(symbol.as_str()).is_none() {
        check_unconfigured(&*store, &account, &symbol, decision).await?;
    }
    let by = format!("cli: {}", d.reason);
    record_decision(
        &*store,
        &account,
        &symbol,
        decision,
        &by,
        chrono::Utc::now(),
    )
    .await?;
    let seen = store
        .get_state(&view_key(&account))
        .await?
        .and_then(|v| v.get(symbol.as_str()).cloned());
    let what = match decision {
        Decision::Adopt => "adopted: kept at its current size until a source sets a target",
        Decision::Flatten => "to be flattened: closed unless a source sets a target",
    };
    outln!("{account} {symbol}: {what}");
    match seen {
        Some(v) => outln!(
            "the engine last saw it as {} (size {}); a running engine applies this at the account's next cycle (within {} s)",
            v.get("status").and_then(|s| s.as_str()).unwrap_or("?"),
            v.get("size").and_then(|s| s.as_str()).unwrap_or("?"),
            config.engine.drift_check_interval_secs
        ),
        None => outln!(
            "recorded in {}; the engine has not reported this position as unknown; the decision applies at the account's next cycle",
            super::redact_url(&config.database_url())
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// A decision on a symbol no `[[symbols]]` entry names: only `flatten`, and only of a position
/// the account holds (as the engine last read it), e.g. a symbol removed while open. The engine
/// closes it reading the instrument from the venue.
async fn check_unconfigured(
    store: &dyn tradeengine_store::Store,
    account: &AccountName,
    symbol: &Symbol,
    decision: Decision,
) -> anyhow::Result<()> {
    if decision == Decision::Adopt {
        anyhow::bail!(
            "{symbol} is not a configured symbol ([[symbols]]): nothing could keep it at its size; add it to the configuration, or `positions flatten` to close it"
        );
    }
    let shown = store
        .get_state(&view_key(account))
        .await?
        .is_some_and(|v| v.get(symbol.as_str()).is_some());
    let held = store
        .positions(Some(account))
        .await?
        .iter()
        .any(|(_, p)| &p.symbol == symbol && !p.size.is_zero());
    if !(shown || held) {
        anyhow::bail!(
            "{symbol} is not a configured symbol ([[symbols]]) and {account} holds no {symbol} position as the engine last read it: nothing to close"
        );
    }
    Ok(())
}

/// `tradeengine status` lines for one account: a venue it is still connecting to, and
/// positions the engine holds because it has no record of managing them.
pub async fn status_lines(
    store: &dyn tradeengine_store::Store,
    account: &AccountName,
) -> anyhow::Result<String> {
    let mut out = String::new();
    let connection = store
        .get_state(&tradeengine_engine::connector::connection_key(account))
        .await?;
    if let Some(c) = connection
        && c.get("state").and_then(|s| s.as_str()) == Some("connecting")
    {
        out.push_str(&format!(
            "venue: CONNECTING (retrying with back-off): {}\n",
            c.get("error")
                .and_then(|e| e.as_str())
                .unwrap_or("unreachable")
        ));
    }
    let unknown = store.get_state(&view_key(account)).await?;
    if let Some(serde_json::Value::Object(map)) = unknown {
        for (symbol, v) in map {
            let status = v.get("status").and_then(|s| s.as_str()).unwrap_or("?");
            let size = v.get("size").and_then(|s| s.as_str()).unwrap_or("?");
            out.push_str(&format!(
                "unknown position {symbol} {size}: {status} (not opened by this engine; `tradeengine positions adopt|flatten --account {account} --symbol {symbol}`)\n"
            ));
        }
    }
    Ok(out)
}
