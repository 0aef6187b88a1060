//! `tradeengine kill`: engages or releases the stored kill switch. It writes to the store the
//! engine reads, so it works whether or not the engine is running; it names the data dir it
//! wrote to and whether a running engine acknowledged the change within 2 s, so a switch
//! written to the wrong store (another folder, another configuration) cannot pass unnoticed.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use rust_decimal::Decimal;
use tradeengine_engine::config::Config;
use tradeengine_engine::killswitch::{self, KILL_FILE, KillAck, KillAction, KillState, KillSwitch};
use tradeengine_engine::release_hold::{self, ReleaseHold};
use tradeengine_model::{AccountName, SystemClock, Timestamp};
use tradeengine_store::Store;

use super::open_store;
use super::resolve::{acted_on, control_target};
use crate::args::{Global, KillArgs};
use crate::output::Table;

/// How long a control command waits for a running engine to acknowledge what it wrote. The
/// engine reads the switch every second.
pub const ACK_WAIT: Duration = Duration::from_secs(2);

pub async fn run(global: &Global, args: KillArgs) -> anyhow::Result<ExitCode> {
    let (config, _) = control_target(global)?;
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
    let store = open_store(&config).await?;
    if args.release {
        return release(&config, &*store, &args).await;
    }
    let action = if args.flatten {
        KillAction::Flatten
    } else {
        KillAction::Freeze
    };
    let asked = killswitch::new_switch(action, accounts.clone(), &args.reason, &SystemClock);
    // Added to what is engaged, never replacing it: a freeze of one account must not lift
    // another's flatten. A combination one switch cannot hold is refused before anything is
    // written.
    let switch = match killswitch::engage_merged(&*store, asked).await {
        Ok(s) => s,
        Err(killswitch::EngageError::Conflict(c)) => {
            eprintln!("kill switch unchanged: {c}");
            return Ok(ExitCode::from(2));
        }
        Err(killswitch::EngageError::Store(e)) => return Err(e.into()),
    };
    // A new engage starts a new story: an earlier release into hold no longer applies.
    release_hold::clear(&*store).await?;
    let action = switch.action;
    let scope = switch.scope();
    match action {
        KillAction::Freeze => {
            outln!("kill switch ENGAGED: {scope} frozen (nothing will be sent)")
        }
        KillAction::Flatten => {
            outln!("kill switch ENGAGED: {scope} flattening (reduce-only closes, then nothing)")
        }
    }
    outln!("acted on: {}", acted_on(&config));
    let ack = wait_for_ack(&*store, |a| a.stored.as_ref() == Some(&switch)).await?;
    outln!("{}", ack_line(ack.as_ref(), "the switch"));
    outln!("release with: tradeengine kill --release");
    Ok(ack_exit(ack.as_ref()))
}

/// Exit code [`NOT_ACKNOWLEDGED`] when the change is stored but no running engine took it up
/// within [`ACK_WAIT`]: a script using `kill` as its panic button must be able to tell that
/// it reached no engine (another folder, another configuration, or none running).
pub const NOT_ACKNOWLEDGED: u8 = 3;

fn ack_exit(ack: Option<&KillAck>) -> ExitCode {
    match ack {
        Some(_) => ExitCode::SUCCESS,
        None => ExitCode::from(NOT_ACKNOWLEDGED),
    }
}

async fn release(config: &Config, store: &dyn Store, args: &KillArgs) -> anyhow::Result<ExitCode> {
    let Some(current) = killswitch::read_stored(store).await? else {
        outln!(
            "the stored kill switch was not engaged (acted on: {})",
            acted_on(config)
        );
        kill_file_note(config);
        return Ok(ExitCode::SUCCESS);
    };
    outln!("kill switch engaged: {}", describe_switch(&current));
    let preview = release_preview(config, store, current.accounts.as_deref()).await?;
    if args.hold {
        outln!(
            "release into hold: every target stays at the position the venue holds until a \
             source sets a new one for that symbol; the release itself sends nothing \
             (without --hold it would send:)"
        );
    }
    out!("{preview}");
    if !args.yes {
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            eprintln!(
                "error: releasing needs a confirmation and there is no terminal to ask on: \
                 check the orders above and pass --yes"
            );
            return Ok(ExitCode::from(2));
        }
        let confirmed = inquire::Confirm::new("Release the kill switch?")
            .with_default(false)
            .with_help_message("the engine then sends what it needs to reach its targets")
            .prompt()
            .unwrap_or(false);
        if !confirmed {
            outln!("not released");
            return Ok(ExitCode::from(1));
        }
    }
    let at = chrono::Utc::now();
    if args.hold {
        let hold = ReleaseHold {
            at,
            accounts: current.accounts.clone(),
        };
        release_hold::set(store, &hold).await?;
    } else {
        release_hold::clear(store).await?;
    }
    let pending: Vec<AccountName> = killswitch::read_pending_freezes(store)
        .await?
        .into_iter()
        .map(|p| p.account)
        .collect();
    killswitch::release(store, "cli", at).await?;
    // The targets kept for this preview belong to the switch just released.
    for a in &config.accounts {
        let name = AccountName::new(&a.name)?;
        store
            .put_state(
                &killswitch::release_targets_key(&name),
                &serde_json::Value::Null,
            )
            .await?;
    }
    outln!("kill switch released (acted on: {})", acted_on(config));
    if !pending.is_empty() {
        let names: Vec<&str> = pending.iter().map(AccountName::as_str).collect();
        outln!(
            "note: the engine froze {} itself (another trader moved its positions); it stores that freeze now: look at the account, then release again",
            names.join(", ")
        );
    }
    // The engine may store those freezes before it acknowledges the release.
    let released = |s: &Option<KillSwitch>| match s {
        None => true,
        Some(s) => {
            s.action == KillAction::Freeze
                && s.accounts
                    .as_ref()
                    .is_some_and(|a| a.iter().all(|x| pending.contains(x)))
        }
    };
    let ack = wait_for_ack(store, |a| released(&a.stored) && a.at >= at).await?;
    outln!("{}", ack_line(ack.as_ref(), "the release"));
    kill_file_note(config);
    Ok(ack_exit(ack.as_ref()))
}

/// The kill file is not the stored switch: a release leaves it in force, and the note says
/// what it does (a `flatten` file was called a freeze, and "not engaged" stood above it).
fn kill_file_note(config: &Config) {
    let path = config.engine.data_dir.join(KILL_FILE);
    match killswitch::read_file(&config.engine.data_dir) {
        Some(KillAction::Flatten) => outln!(
            "note: the kill file {} still exists and keeps every account FLATTENING (closing \
             every position) until it is deleted",
            path.display()
        ),
        Some(KillAction::Freeze) => outln!(
            "note: the kill file {} still exists and keeps every account frozen until it is \
             deleted",
            path.display()
        ),
        None => {}
    }
}

/// Polls the engine's acknowledgement until `matches` or [`ACK_WAIT`] passes.
async fn wait_for_ack(
    store: &dyn Store,
    matches: impl Fn(&KillAck) -> bool,
) -> anyhow::Result<Option<KillAck>> {
    let deadline = tokio::time::Instant::now() + ACK_WAIT;
    loop {
        if let Some(ack) = killswitch::read_ack(store).await?
            && matches(&ack)
        {
            return Ok(Some(ack));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn ack_line(ack: Option<&KillAck>, what: &str) -> String {
    match ack {
        Some(a) => format!(
            "engine: a running engine (pid {}) acknowledged {what} at {}",
            a.pid,
            a.at.format("%H:%M:%S%.3f UTC")
        ),
        None => format!(
            "engine: NO running engine acknowledged {what} within {} s. It is stored and applies \
             when an engine starts on this store; if an engine is running, it is not using this \
             store (check --config and the data dir above)",
            ACK_WAIT.as_secs()
        ),
    }
}

/// One line for the stored switch: action, scope, since when, why.
pub fn describe_switch(s: &killswitch::KillSwitch) -> String {
    let scope = s.scope();
    format!(
        "{} {scope} since {} ({})",
        match s.action {
            KillAction::Freeze => "FREEZE",
            KillAction::Flatten => "FLATTEN",
        },
        s.engaged_at.format("%Y-%m-%d %H:%M:%S UTC"),
        s.reason
    )
}

/// `status`'s kill switch line: the stored switch and the kill file.
pub fn status_line(state: &KillState, config: &Config) -> String {
    let mut parts = Vec::new();
    if let Some(s) = &state.stored {
        parts.push(format!("ENGAGED: {}", describe_switch(s)));
    }
    if let Some(a) = state.file {
        parts.push(format!(
            "ENGAGED by the kill file {} ({})",
            config.engine.data_dir.join(KILL_FILE).display(),
            match a {
                KillAction::Freeze => "freeze",
                KillAction::Flatten => "flatten",
            }
        ));
    }
    if parts.is_empty() {
        "kill switch: off".to_string()
    } else {
        format!("kill switch: {}", parts.join("; "))
    }
}

/// What releasing would send, per account and symbol in the switch's scope: the position last
/// read from the venue against the engine's latest target, from the store.
async fn release_preview(
    config: &Config,
    store: &dyn Store,
    scope: Option<&[AccountName]>,
) -> anyhow::Result<String> {
    let mut table = Table::new(&[
        ("account", false),
        ("symbol", false),
        ("position", true),
        ("target", true),
        ("release would send", false),
        ("target set", false),
    ]);
    for a in &config.accounts {
        let name = AccountName::new(&a.name)?;
        if scope.is_some_and(|s| !s.contains(&name)) {
            continue;
        }
        let positions = store.positions(Some(&name)).await?;
        // What a release trades to: the targets the engine computed under the switch (a
        // flatten stores zero targets, which would make this preview say "nothing"), else the
        // latest stored ones.
        let targets: Vec<(String, Decimal, Timestamp)> =
            match killswitch::release_targets(store, &name).await? {
                Some((map, at)) => map.into_iter().map(|(s, q)| (s, q, at)).collect(),
                None => store
                    .targets(&name)
                    .await?
                    .into_iter()
                    .map(|t| (t.symbol.to_string(), t.quantity, t.decided_at))
                    .collect(),
            };
        let mut symbols: Vec<String> = positions
            .iter()
            .map(|(_, p)| p.symbol.to_string())
            .chain(targets.iter().map(|t| t.0.clone()))
            .collect();
        symbols.sort();
        symbols.dedup();
        // Positions the engine has no record of managing are left alone by a release: the
        // worker's own view says which (held, unconfigured), whatever target a row would show.
        let unknown = store
            .get_state(&tradeengine_engine::worker::unknown::view_key(&name))
            .await?;
        let left_alone = |symbol: &str| {
            unknown
                .as_ref()
                .and_then(|v| v.get(symbol))
                .and_then(|v| v.get("status"))
                .and_then(|s| s.as_str())
                .filter(|s| matches!(*s, "held" | "unconfigured"))
                .map(str::to_string)
        };
        for symbol in symbols {
            let current = positions
                .iter()
                .find(|(_, p)| p.symbol.as_str() == symbol)
                .map_or(Decimal::ZERO, |(_, p)| p.size.get());
            let target = targets.iter().find(|t| t.0 == symbol);
            if let Some(status) = left_alone(&symbol) {
                table.row(vec![
                    a.name.clone(),
                    symbol.clone(),
                    current.normalize().to_string(),
                    "-".into(),
                    format!("nothing ({status}: not managed by this engine)"),
                    "-".into(),
                ]);
                continue;
            }
            table.row(vec![
                a.name.clone(),
                symbol.clone(),
                current.normalize().to_string(),
                target.map_or("-".into(), |t| t.1.normalize().to_string()),
                would_send(current, target.map(|t| t.1)),
                target.map_or("-".into(), |t| short_time(t.2)),
            ]);
        }
    }
    Ok(if table.is_empty() {
        "release preview: no position and no target in the store: nothing to send\n".into()
    } else {
        format!(
            "release preview (positions last read from the venues, the engine's latest targets; \
             it recomputes both at its next cycle):\n{}",
            table.render()
        )
    })
}

fn would_send(current: Decimal, target: Option<Decimal>) -> String {
    let Some(target) = target else {
        return "nothing (no target)".into();
    };
    let delta = target - current;
    if delta.is_zero() {
        "nothing".into()
    } else if delta > Decimal::ZERO {
        format!("BUY {}", delta.normalize())
    } else {
        format!("SELL {}", (-delta).normalize())
    }
}

fn short_time(t: Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::would_send;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn the_preview_names_side_and_size() {
        assert_eq!(would_send(dec("0.5"), Some(dec("0.2"))), "SELL 0.3");
        assert_eq!(would_send(dec("-0.1"), Some(dec("0.2"))), "BUY 0.3");
        assert_eq!(would_send(dec("0.2"), Some(dec("0.20"))), "nothing");
        assert_eq!(would_send(dec("0.2"), None), "nothing (no target)");
    }
}
