//! `tradeengine risk reset --account NAME`: the operator reset of an account that loss limits
//! moved to REDUCING or HALTED. It writes to the store the engine reads, so it works whether or
//! not the engine is running; a running engine applies it at the account's next cycle. It names
//! the data dir it wrote to and whether a running engine applied it within 2 s.

use std::process::ExitCode;
use std::time::Duration;

use tradeengine_engine::risk::PortfolioState;
use tradeengine_model::AccountName;

use super::kill::ACK_WAIT;
use super::open_store;
use super::resolve::{acted_on, control_target};
use crate::args::{Global, RiskResetArgs};

pub async fn reset(global: &Global, args: RiskResetArgs) -> anyhow::Result<ExitCode> {
    let (config, _) = control_target(global)?;
    if config.account(&args.account).is_none() {
        anyhow::bail!("no account named {:?} in the configuration", args.account);
    }
    let account = AccountName::new(&args.account)?;
    let store = open_store(&config).await?;
    let by = format!("cli: {}", args.reason);
    let at = chrono::Utc::now();
    let before = tradeengine_engine::risk::reset(&*store, &account, &by, at).await?;
    match before.state {
        PortfolioState::Active => {
            outln!("{account}: risk state was already ACTIVE; periods re-based from now")
        }
        other => outln!(
            "{account}: risk state reset from {} ({}) to ACTIVE; loss periods and the high-water mark count from now",
            other.as_str().to_ascii_uppercase(),
            before.detail.as_deref().unwrap_or("no detail")
        ),
    }
    outln!("acted on: {}", acted_on(&config));
    let deadline = tokio::time::Instant::now() + ACK_WAIT;
    let applied = loop {
        if tradeengine_engine::risk::reset_applied(&*store, &account, at).await? {
            break true;
        }
        if tokio::time::Instant::now() >= deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    if applied {
        outln!("engine: a running engine applied the reset");
    } else {
        outln!(
            "engine: no running engine applied the reset within {} s; it is stored, and an \
             engine on this store applies it at the account's next cycle (at most {} s while it \
             runs, else when it starts)",
            ACK_WAIT.as_secs(),
            config.engine.drift_check_interval_secs
        );
    }
    Ok(ExitCode::SUCCESS)
}
