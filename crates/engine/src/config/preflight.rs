//! What `tradeengine run` refuses at start, as functions both the start and `tradeengine config
//! check` call, so the check cannot pass a file the start then refuses:
//!
//! - live mode without `--live` ([`live_not_confirmed`]);
//! - an exchange account's REST host: none to default to in its mode (MEXC and KuCoin have no
//!   test network, so testnet needs `base_url`), or a production host in testnet
//!   ([`account_endpoint`]);
//! - an account's keys: a variable not set, an encrypted file without its passphrase or without
//!   the account's entry, a BloFin or KuCoin key without its passphrase ([`account_keys`]);
//! - a paper account's recorded prices file that is not there.
//!
//! [`account_problems`] runs them all and returns every problem, not just the first, so an
//! operator sees in one go everything left to set; [`crate::start_checks::start_problems`] adds
//! every source's own settings (sources sit above the configuration).

use tradeengine_venues::connect_hosts;

use super::{AccountConfig, Config, ConfigError, Mode, VenueKind};
use crate::credentials::{self, ResolvedCredentials};

/// Whether an account in live mode lacks the `--live` confirmation (the start refuses).
pub fn live_not_confirmed(config: &Config, live_confirmed: bool) -> bool {
    !live_confirmed
        && config
            .accounts
            .iter()
            .any(|a| config.account_mode(a) == Mode::Live)
}

/// The REST base an exchange account connects to in its mode. In testnet, a production host of
/// any venue (as `base_url` or `ws_url`) is refused: whatever built the configuration, a testnet
/// account never reaches real money.
pub fn account_endpoint(config: &Config, account: &AccountConfig) -> Result<String, String> {
    let base_url = super::modes::base_url(config, account)?;
    if config.account_mode(account) == Mode::Testnet {
        refuse_production_hosts(account, &base_url)?;
    }
    Ok(base_url)
}

/// Refuses a production host of any venue as the account's REST base or stream URL: the reason
/// names which setting points there.
pub fn refuse_production_hosts(account: &AccountConfig, base_url: &str) -> Result<(), String> {
    for (what, url) in [
        ("base_url", Some(base_url)),
        ("ws_url", account.ws_url.url()),
    ] {
        if let Some(reason) = url.and_then(|u| connect_hosts::refuse_production(what, u)) {
            return Err(reason);
        }
    }
    Ok(())
}

/// Whether the venue signs with a passphrase as well as key and secret.
pub fn needs_passphrase(venue: VenueKind) -> bool {
    venue
        .exchange()
        .is_some_and(|v| tradeengine_venues::registry::entry(v).needs_passphrase)
}

/// Whether the account's keys are read at start: an exchange account outside paper mode with
/// a `credentials` reference (in paper mode no private request is made, so none are read).
pub fn reads_keys(config: &Config, account: &AccountConfig) -> bool {
    account.venue != VenueKind::Paper
        && config.account_mode(account) != Mode::Paper
        && account.credentials.is_some()
}

/// The account's keys as the start reads them (`None` when it reads none, see [`reads_keys`]).
/// Errors name the variable, file or entry that is missing, never a value.
pub fn account_keys(
    config: &Config,
    account: &AccountConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<ResolvedCredentials>, String> {
    if !reads_keys(config, account) {
        return Ok(None);
    }
    let Some(reference) = &account.credentials else {
        return Ok(None);
    };
    let keys = credentials::resolve(reference, &account.name, env).map_err(|e| e.to_string())?;
    check_passphrase(account, reference, &keys)?;
    Ok(Some(keys))
}

/// [`account_keys`] with the decryption off the async runtime, for the start.
pub async fn account_keys_async(
    config: &Config,
    account: &AccountConfig,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<ResolvedCredentials>, String> {
    if !reads_keys(config, account) {
        return Ok(None);
    }
    let Some(reference) = &account.credentials else {
        return Ok(None);
    };
    let keys = credentials::resolve_async(reference, &account.name, env)
        .await
        .map_err(|e| e.to_string())?;
    check_passphrase(account, reference, &keys)?;
    Ok(Some(keys))
}

fn check_passphrase(
    account: &AccountConfig,
    reference: &str,
    keys: &ResolvedCredentials,
) -> Result<(), String> {
    if !needs_passphrase(account.venue) || keys.passphrase.is_some() {
        return Ok(());
    }
    Err(match credentials::Reference::parse(reference) {
        Ok(credentials::Reference::Env(prefix)) => format!(
            "environment variable {prefix}_API_PASSPHRASE is not set ({} signs with a passphrase)",
            account.venue.as_str()
        ),
        _ => format!(
            "the credentials file has no passphrase for account {} ({} signs with one); store it again with `tradeengine credentials set --account {}`",
            account.name,
            account.venue.as_str(),
            account.name
        ),
    })
}

/// Everything the start would refuse in this configuration's engine and accounts, each naming its
/// key, checked without connecting anywhere. `env` is what the start's environment would be.
pub fn account_problems(
    config: &Config,
    env: &dyn Fn(&str) -> Option<String>,
    live_confirmed: bool,
) -> Vec<ConfigError> {
    let mut problems = Vec::new();
    let mut push = |key: String, reason: String| {
        problems.push(ConfigError {
            file: None,
            key,
            reason,
        })
    };
    if live_not_confirmed(config, live_confirmed) {
        push(
            "engine.mode".into(),
            "an account runs in live mode: `run` needs --live on the command line as well".into(),
        );
    }
    for (i, a) in config.accounts.iter().enumerate() {
        let key = |field: &str| format!("accounts[{i}].{field} (account {})", a.name);
        if a.venue == VenueKind::Paper {
            if let Some(path) = a
                .paper
                .as_ref()
                .and_then(|p| p.price_source.strip_prefix("csv:"))
                && !std::path::Path::new(path).exists()
            {
                push(
                    key("paper.price_source"),
                    format!("recorded prices file {path} does not exist"),
                );
            }
            continue;
        }
        if let Err(reason) = account_endpoint(config, a) {
            push(key("base_url"), reason);
        }
        if let Err(reason) = account_keys(config, a, env) {
            push(key("credentials"), reason);
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overrides, load_str};

    fn config(text: &str) -> Config {
        load_str(text, None, &[], &Overrides::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    const KUCOIN: &str = "[engine]\nmode = \"testnet\"\n[[accounts]]\nname = \"ku\"\nvenue = \"kucoin\"\nbase_url = \"http://127.0.0.1:9\"\ncredentials = \"env:KU\"\n";

    #[test]
    fn every_missing_variable_is_named_and_a_kucoin_key_needs_its_passphrase() {
        let c = config(KUCOIN);
        let p = account_problems(&c, &env(&[]), false);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].key, "accounts[0].credentials (account ku)");
        assert!(p[0].reason.contains("KU_API_KEY is not set"), "{p:?}");
        let p = account_problems(
            &c,
            &env(&[("KU_API_KEY", "FAKE-K"), ("KU_API_SECRET", "FAKE-S")]),
            false,
        );
        assert!(
            p.len() == 1 && p[0].reason.contains("KU_API_PASSPHRASE is not set"),
            "{p:?}"
        );
        let all = &[
            ("KU_API_KEY", "FAKE-K"),
            ("KU_API_SECRET", "FAKE-S"),
            ("KU_API_PASSPHRASE", "FAKE-P"),
        ];
        assert!(account_problems(&c, &env(all), false).is_empty());
        // In paper mode the keys are never read, so nothing is missing.
        let c = config(&KUCOIN.replace("testnet", "paper"));
        assert!(account_problems(&c, &env(&[]), false).is_empty());
    }

    #[test]
    fn live_mode_needs_the_confirmation_the_start_needs() {
        let text = KUCOIN.replace("testnet", "live");
        let c = config(&text);
        let all = &[
            ("KU_API_KEY", "FAKE-K"),
            ("KU_API_SECRET", "FAKE-S"),
            ("KU_API_PASSPHRASE", "FAKE-P"),
        ];
        let p = account_problems(&c, &env(all), false);
        assert!(p.len() == 1 && p[0].key == "engine.mode", "{p:?}");
        assert!(account_problems(&c, &env(all), true).is_empty());
    }
}
