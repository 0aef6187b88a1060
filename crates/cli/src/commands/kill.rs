//! `tradeengine kill`: engages or releases the stored kill switch. It writes to the store the
//! engine reads, so it works whether or not the engine is running.

use std::process::ExitCode;

use tradeengine_engine::config::Overrides;
use tradeengine_engine::killswitch::{self, KILL_FILE, KillAction};
use tradeengine_model::{AccountName, SystemClock};

use super::{load_config, open_store};
use crate::cli::{Global, KillArgs};

pub async fn run(global: &Global, args: KillArgs) -> anyhow::Result<ExitCode> {
    let (config, _) = load_config(global, Overrides::default())?;
    let store = open_store(&config).await?;
    let clock = SystemClock;
    if args.release {
        let was = killswitch::release(&*store, "cli", chrono::Utc::now()).await?;
        println!(
            "{}",
            if was {
                "kill switch released"
            } else {
                "kill switch was not engaged"
            }
        );
        if killswitch::read_file(&config.engine.data_dir).is_some() {
            println!(
                "note: {} still exists and keeps every account frozen until it is deleted",
                config.engine.data_dir.join(KILL_FILE).display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let accounts = if args.accounts.is_empty() {
        None
    } else {
        let mut list = Vec::new();
        for name in &args.accounts {
            if config.account(name).is_none() {
                anyhow::bail!("no account named {name:?} in the configuration");
            }
            list.push(AccountName::new(name)?);
        }
        Some(list)
    };
    let action = if args.flatten {
        KillAction::Flatten
    } else {
        KillAction::Freeze
    };
    let switch = killswitch::new_switch(action, accounts.clone(), &args.reason, &clock);
    killswitch::engage(&*store, &switch).await?;
    let scope = accounts
        .map(|a| {
            a.iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_else(|| "every account".into());
    match action {
        KillAction::Freeze => {
            println!("kill switch ENGAGED: {scope} frozen (nothing will be sent)")
        }
        KillAction::Flatten => {
            println!("kill switch ENGAGED: {scope} flattening (reduce-only closes, then nothing)")
        }
    }
    println!("release with: tradeengine kill --release");
    Ok(ExitCode::SUCCESS)
}
