//! `tradeengine risk reset --account NAME`: the operator reset of an account that loss limits
//! moved to REDUCING or HALTED. It writes to the store the engine reads, so it works whether or
//! not the engine is running; a running engine applies it at the account's next cycle.

use std::process::ExitCode;

use tradeengine_engine::config::Overrides;
use tradeengine_engine::risk::PortfolioState;
use tradeengine_model::AccountName;

use super::{load_config, open_store};
use crate::cli::{Global, RiskResetArgs};

pub async fn reset(global: &Global, args: RiskResetArgs) -> anyhow::Result<ExitCode> {
    let (config, _) = load_config(global, Overrides::default())?;
    if config.account(&args.account).is_none() {
        anyhow::bail!("no account named {:?} in the configuration", args.account);
    }
    let account = AccountName::new(&args.account)?;
    let store = open_store(&config).await?;
    let by = format!("cli: {}", args.reason);
    let before =
        tradeengine_engine::risk::reset(&*store, &account, &by, chrono::Utc::now()).await?;
    match before.state {
        PortfolioState::Active => {
            println!("{account}: risk state was already ACTIVE; periods re-based from now")
        }
        other => println!(
            "{account}: risk state reset from {} ({}) to ACTIVE; loss periods and the high-water mark count from now",
            other.as_str().to_ascii_uppercase(),
            before.detail.as_deref().unwrap_or("no detail")
        ),
    }
    Ok(ExitCode::SUCCESS)
}
