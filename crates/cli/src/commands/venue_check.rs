//! `tradeengine venue check --account A`: the venue self-test an operator runs between
//! `config check` and `run` for a new account (README "Checking a new account").
//!
//! It connects exactly as the engine would and runs the checks of
//! [`tradeengine_venues::selftest`]: clock, key permissions, account mode, balance, positions,
//! every configured symbol's rules, the private stream, and one far-from-market limit order
//! placed, read back and cancelled. Exit 0 only when nothing failed.
//!
//! **Never beside a running engine.** The check takes the data dir's lock, the one an engine
//! holds for its whole life, so it refuses to start while an engine runs on this data dir, and
//! an engine cannot start while it runs. Its order's client id starts `vc-`, a prefix the
//! engine never uses (its own start `te`), so an engine sharing the account through another
//! data dir would never take it for one of its own orders; it would still see a position if the
//! order filled, which is why the check refuses to run beside one it can see.

use std::process::ExitCode;
use std::time::Duration;

use tradeengine_engine::config::preflight;
use tradeengine_engine::config::{AccountConfig, Config, Mode, Overrides, VenueKind};
use tradeengine_model::{ClientOrderId, Clock, SystemClock};
use tradeengine_store::ownership::{DataDirLock, Holder, LockError};
use tradeengine_venues::selftest::{self, ConfiguredSymbol, Outcome, Report, SelfTest};

use super::load_config;
use crate::args::{Global, VenueCheckArgs};

/// The prefix of the check's client order ids; the engine's own start `te`.
pub const CLIENT_ID_PREFIX: &str = "vc-";

pub async fn check(global: &Global, args: VenueCheckArgs) -> anyhow::Result<ExitCode> {
    let (config, _) = load_config(global, Overrides::default())?;
    let Some(account) = config.account(&args.account).cloned() else {
        anyhow::bail!(
            "no account named {:?} in the configuration (accounts: {})",
            args.account,
            config
                .accounts
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let VenueKind::Exchange(venue_id) = account.venue else {
        outln!(
            "{}: the paper venue runs in this process; there is no exchange to check. Nothing to do.",
            account.name
        );
        return Ok(ExitCode::SUCCESS);
    };
    let mode = config.account_mode(&account);
    if mode == Mode::Live && !args.live {
        anyhow::bail!(
            "{} is a live account: the check places (and cancels) a real order on production; add --live to run it",
            account.name
        );
    }
    let base_url = tradeengine_engine::config::modes::base_url(&config, &account)
        .map_err(|e| anyhow::anyhow!("{}: {e}", account.name))?;
    if !args.live
        && let Err(reason) = preflight::refuse_production_hosts(&account, &base_url)
    {
        anyhow::bail!(
            "{}: {reason} (add --live to check a production account)",
            account.name
        );
    }
    let _lock = lock_data_dir(&config)?;
    let public_only = mode == Mode::Paper || account.credentials.is_none();
    let credentials = if public_only {
        None
    } else {
        account_keys(&config, &account).await?
    };
    let mut adapter = tradeengine_venues::AdapterConfig::new(base_url.clone(), credentials);
    adapter.stream = account.ws_url.clone();
    // The same nonce file and slippage as the engine: the self-test signs with the same key.
    adapter.hyperliquid = tradeengine_engine::config::hyperliquid::options(&config, &account);
    let symbols = configured_symbols(&config, &account)?;
    let clock = SystemClock;
    let id = format!("{CLIENT_ID_PREFIX}{}", clock.now().timestamp_millis());
    let test = SelfTest {
        venue: venue_id,
        config: adapter,
        symbols,
        stream_wait: Duration::from_secs(args.stream_wait_secs),
        client_order_id: ClientOrderId::new(&id)?,
    };
    let report = if public_only {
        selftest::run_public(&test).await
    } else {
        selftest::run(&test).await
    };
    print_report(&args, &account, mode, &base_url, public_only, &report)?;
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The keys as the engine's start reads them (same checks, passphrase included).
async fn account_keys(
    config: &Config,
    account: &AccountConfig,
) -> anyhow::Result<Option<tradeengine_venues::Credentials>> {
    let overrides = super::credentials::passphrase_override(config)?;
    let env = |k: &str| std::env::var(k).ok().or_else(|| overrides.get(k).cloned());
    Ok(preflight::account_keys_async(config, account, env)
        .await
        .map_err(|e| anyhow::anyhow!("{}: credentials: {e}", account.name))?
        .map(|c| tradeengine_venues::Credentials {
            api_key: c.api_key,
            api_secret: c.api_secret,
            passphrase: c.passphrase,
        }))
}

/// The report as JSON (`--json`) or as a header and one line per check.
fn print_report(
    args: &VenueCheckArgs,
    account: &AccountConfig,
    mode: Mode,
    base_url: &str,
    public_only: bool,
    report: &Report,
) -> anyhow::Result<()> {
    let header = format!(
        "venue check: account {} ({} {}, {}){}",
        account.name,
        account.venue.as_str(),
        mode.as_str(),
        super::redact_url(base_url),
        if public_only {
            " — public data only (paper mode or no credentials): keys, balance, positions, stream and orders not checked"
        } else {
            ""
        }
    );
    if args.json {
        let out = serde_json::json!({
            "account": account.name,
            "venue": account.venue.as_str(),
            "mode": mode.as_str(),
            "public_only": public_only,
            "passed": report.passed(),
            "checks": report.checks,
        });
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        outln!("{header}");
        out!("{}", render(report, &account.name));
    }
    Ok(())
}

/// The account's symbols, with the leverage the engine would set on each.
fn configured_symbols(
    config: &Config,
    account: &tradeengine_engine::config::AccountConfig,
) -> anyhow::Result<Vec<ConfiguredSymbol>> {
    config
        .symbols
        .iter()
        .map(|s| {
            Ok(ConfiguredSymbol {
                symbol: s.symbol.clone(),
                leverage: Some(account.leverage_override.unwrap_or(s.leverage)),
            })
        })
        .collect()
}

/// The engine's data dir lock, held while the check runs (see the module docs). A data dir
/// that does not exist has no engine in it, and is not created for a check.
fn lock_data_dir(config: &Config) -> anyhow::Result<Option<DataDirLock>> {
    let dir = &config.engine.data_dir;
    if !dir.is_dir() {
        return Ok(None);
    }
    let holder = Holder::this_process(SystemClock.now());
    match DataDirLock::acquire(dir, holder) {
        Ok(lock) => Ok(Some(lock)),
        Err(LockError::Held { holder, .. }) => Err(super::resolve::NothingToActOn(format!(
            "an engine is running on data dir {} ({}): the venue check places an order and must not run beside it; stop the engine first",
            dir.display(),
            holder.map_or_else(|| "holder unknown".to_string(), |h| h.to_string())
        ))
        .into()),
        Err(e) => Err(anyhow::anyhow!("cannot lock the data dir {}: {e}", dir.display())),
    }
}

/// The text report: one line per check, its fix under it, and a summary.
pub fn render(report: &Report, account: &str) -> String {
    let width = report
        .checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for c in &report.checks {
        out.push_str(&format!(
            "{:<4}  {:<width$}  {}\n",
            c.outcome.as_str(),
            c.name,
            c.answer
        ));
        if let Some(fix) = &c.fix {
            out.push_str(&format!("      {:<width$}  fix: {fix}\n", ""));
        }
    }
    let count = |o: Outcome| report.checks.iter().filter(|c| c.outcome == o).count();
    let (failed, warned) = (count(Outcome::Fail), count(Outcome::Warn));
    if failed == 0 {
        out.push_str(&format!(
            "result: PASS ({warned} warning(s)); next: `tradeengine run`\n"
        ));
    } else {
        out.push_str(&format!(
            "result: FAIL ({failed} failed, {warned} warning(s)); fix what is listed above, then run `tradeengine venue check --account {account}` again\n"
        ));
    }
    out
}
