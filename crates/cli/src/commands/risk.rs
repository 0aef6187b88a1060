//! `tradeengine risk reset --account NAME`: the operator reset of an account that loss limits
//! moved to REDUCING or HALTED. It writes to the store the engine reads, so it works whether or
//! not the engine is running; a running engine applies it at the account's next cycle. It names
//! the data dir it wrote to and whether a running engine applied it within 2 s.
//!
//! A HALT closes positions but leaves the sources' sleeves open, so an ACTIVE account trades
//! back to them at its next cycle. Like `kill --release`, the reset first shows what would be
//! re-opened (the open sleeves and the positions last read) and, when anything would be, needs
//! `--yes` (or a terminal's confirmation); `--hold` resets into hold instead: targets stay at
//! the venue's positions until a source sets a new one.

use std::process::ExitCode;
use std::time::Duration;

use std::io::IsTerminal;

use tradeengine_engine::release_hold::{self, ReleaseHold};
use tradeengine_engine::risk::PortfolioState;
use tradeengine_model::{AccountName, SleeveOrigin, SleeveState, Timestamp};
use tradeengine_store::Store;

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
    let reopens = print_preview(&*store, &account, args.hold).await?;
    if reopens && !args.hold && !args.yes && !confirmed()? {
        return Ok(ExitCode::from(2));
    }
    let by = format!("cli: {}", args.reason);
    let at = chrono::Utc::now();
    if args.hold {
        hold_account(&*store, &account, at).await?;
    }
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

/// Prints what an ACTIVE account would trade back to: the sleeves still open and the
/// positions last read from the venue. True when a sleeve is open (something would re-open).
async fn print_preview(
    store: &dyn Store,
    account: &AccountName,
    hold: bool,
) -> anyhow::Result<bool> {
    let open: Vec<_> = (store.sleeves().await?.into_iter())
        .filter(|s| {
            let (SleeveOrigin::Depth(v) | SleeveOrigin::Base(v)) = s.exposure;
            s.state == SleeveState::Open && !v.is_zero()
        })
        .collect();
    for (_, p) in store.positions(Some(account)).await? {
        println!(
            "{account} {}: position {} (last read from the venue)",
            p.symbol,
            p.size.get().normalize()
        );
    }
    if open.is_empty() {
        println!("no source holds an open sleeve: the reset re-opens nothing");
        return Ok(false);
    }
    let then = if hold {
        "kept at the venue's positions (--hold) until a source sets a new target for the symbol"
    } else {
        "the engine trades back to these at the account's next cycle"
    };
    println!("sleeves still open ({then}):");
    for s in &open {
        let size = match s.exposure {
            SleeveOrigin::Depth(d) => format!("depth {}", d.normalize()),
            SleeveOrigin::Base(b) => format!("{} base units", b.normalize()),
        };
        println!("  {} {}: {size}", s.source, s.symbol);
    }
    Ok(true)
}

/// Asks on the terminal; without one, says to pass `--yes` or `--hold` (false).
fn confirmed() -> anyhow::Result<bool> {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        eprintln!(
            "error: the reset re-opens the sleeves above and there is no terminal to ask on: \
             check them and pass --yes, or --hold to keep the positions as they are"
        );
        return Ok(false);
    }
    Ok(inquire::Confirm::new("Reset the risk state?")
        .with_default(false)
        .with_help_message("the engine then trades back to the open sleeves")
        .prompt()
        .unwrap_or(false))
}

/// Holds `account` from `at` (the release hold the kill switch uses). An existing hold is kept
/// for its accounts, from the later time: holding longer only delays trading.
async fn hold_account(
    store: &dyn Store,
    account: &AccountName,
    at: Timestamp,
) -> anyhow::Result<()> {
    let accounts = match release_hold::read(store).await? {
        Some(ReleaseHold { accounts: None, .. }) => None,
        Some(ReleaseHold {
            accounts: Some(mut a),
            ..
        }) => {
            if !a.contains(account) {
                a.push(account.clone());
            }
            Some(a)
        }
        None => Some(vec![account.clone()]),
    };
    release_hold::set(store, &ReleaseHold { at, accounts }).await?;
    println!(
        "{account}: reset into hold: targets stay at the venue's positions until a source sets a new one"
    );
    Ok(())
}
