//! The `credentials.json` part of `tradeengine config import` ([`super::import`]; what both share
//! is in `import_work`): exchange sections become `[[accounts]]` whose keys go to the encrypted
//! credentials file, the SN8 section gives the validator's URL and key; and the SN8 source's
//! settings are completed, or what is left to fill is said.

use rust_decimal::Decimal;
use secrecy::SecretString;
use toml_edit::Value;

use super::edit_entries::{self, AccountEdit};
use super::import_work::{ImportError, ImportOptions, SN8, SN8_KEY_VAR, Work, decimal, json};
use super::{AccountState, VenueKind, edit};
use crate::credentials::{PASSPHRASE_VAR, ResolvedCredentials};

const F: &str = "credentials.json";

fn venue_of(name: &str) -> Option<VenueKind> {
    use tradeengine_model::VenueId;
    Some(VenueKind::Exchange(match name {
        "bybit" => VenueId::Bybit,
        "binance" | "binanceusdm" => VenueId::Binance,
        "blofin" => VenueId::Blofin,
        "kucoin" | "kucoinfutures" => VenueId::Kucoin,
        "mexc" => VenueId::Mexc,
        _ => return None,
    }))
}

/// An account name tradeengine accepts, from the seed's label (`Main Lane` → `main-lane`).
fn account_name(label: &str) -> String {
    let name: String = label
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if name.is_empty() {
        "account".into()
    } else {
        name
    }
}

fn text_of(v: Option<&serde_json::Value>) -> String {
    v.and_then(|v| v.as_str())
        .map(str::trim)
        .unwrap_or_default()
        .to_string()
}

/// Imports `credentials.json`.
pub(super) fn import(
    work: &mut Work,
    text: &str,
    options: &ImportOptions,
) -> Result<(), ImportError> {
    let root: serde_json::Map<String, serde_json::Value> = json(F, text)?;
    let mut imported = Vec::new();
    for (section, value) in &root {
        match section.as_str() {
            "bittensor_sn8" => sn8_section(work, value, options)?,
            "ccxt" => {
                // The list form, or the older single object.
                let entries: Vec<&serde_json::Value> = match value.get("ccxt_list") {
                    Some(serde_json::Value::Array(list)) => list.iter().collect(),
                    _ => vec![value],
                };
                for e in entries {
                    let exchange = text_of(e.get("exchange_name"));
                    let label = text_of(e.get("account_name"));
                    let label = if label.is_empty() {
                        exchange.clone()
                    } else {
                        label
                    };
                    let key = format!("ccxt.{exchange}.{label}");
                    match venue_of(&exchange) {
                        Some(venue) => {
                            if let Some(n) = account(work, &key, venue, &label, e, options)? {
                                imported.push(n);
                            }
                        }
                        None if text_of(e.get("api_key")).is_empty() => {}
                        None => work.skip(
                            F,
                            key,
                            "no adapter for this exchange in tradeengine (Bybit, Binance, BloFin, KuCoin, MEXC): not imported",
                        ),
                    }
                }
            }
            name => match venue_of(name) {
                Some(venue) => {
                    if let Some(n) = account(work, name, venue, name, value, options)? {
                        imported.push(n);
                    }
                }
                None if name == "bingx" && text_of(value.get("api_key")).is_empty() => {}
                None => work.skip(
                    F,
                    name,
                    "no adapter for this exchange in tradeengine: not imported",
                ),
            },
        }
    }
    if !imported.is_empty() {
        work.choose(format!(
            "accounts {}: keys stored in {} (encrypted), not in the TOML; no mode is set, so they run in [engine] mode (paper unless you changed it: simulated fills on the venue's public prices). When ready: `tradeengine config accounts --modify NAME --mode testnet` (MEXC and KuCoin have no test network: add --base-url), then live",
            imported.join(", "),
            options.credentials_file
        ));
        work.need(
            PASSPHRASE_VAR,
            format!(
                "the passphrase of {}, which holds the imported keys (read at start by accounts outside paper mode and by the SN8 source)",
                options.credentials_file
            ),
        );
    }
    Ok(())
}

/// One exchange account: its `[[accounts]]` entry and keys. `None` when it has no keys.
fn account(
    work: &mut Work,
    key: &str,
    venue: VenueKind,
    label: &str,
    value: &serde_json::Value,
    options: &ImportOptions,
) -> Result<Option<String>, ImportError> {
    let Some(obj) = value.as_object() else {
        work.skip(F, key, "not an object");
        return Ok(None);
    };
    let (api_key, api_secret) = (text_of(obj.get("api_key")), text_of(obj.get("api_secret")));
    if api_key.is_empty() || api_secret.is_empty() {
        if !api_key.is_empty() || !api_secret.is_empty() {
            work.skip(
                F,
                key,
                "an API key without its secret (or the reverse): not imported",
            );
        }
        return Ok(None);
    }
    let name = account_name(label);
    let mut change = AccountEdit {
        venue: Some(venue),
        credentials: Some(Some(format!("file:{}", options.credentials_file))),
        ..Default::default()
    };
    for (k, v) in obj {
        match k.as_str() {
            "api_key" | "api_secret" | "api_passphrase" | "exchange_name" | "account_name" => {}
            "leverage_override" => {
                let l = decimal(F, &format!("{key}.leverage_override"), v)?;
                if l > Decimal::ZERO {
                    change.leverage_override = Some(Some(l.round().max(Decimal::ONE)));
                }
            }
            "min_order_notional_usd" => {
                let n = decimal(F, &format!("{key}.min_order_notional_usd"), v)?;
                if n > Decimal::ZERO {
                    change.min_order_notional = Some(n);
                }
            }
            "enabled" => {
                if v.as_bool() == Some(false) {
                    change.state = Some(AccountState::Disabled);
                    work.choose(format!(
                        "accounts {name}: state = \"disabled\" (it was disabled)"
                    ));
                }
            }
            "copy_trading" if v.as_bool() != Some(true) => {}
            "copy_trading" => work.skip(
                F,
                format!("{key}.copy_trading"),
                "copy trading is not supported: the account trades its own positions",
            ),
            other => work.skip(F, format!("{key}.{other}"), "not a key tradeengine reads"),
        }
    }
    let passphrase = text_of(obj.get("api_passphrase"));
    work.keys_for(
        &name,
        &api_key,
        &api_secret,
        (!passphrase.is_empty()).then_some(passphrase.as_str()),
    );
    work.apply(|t| edit_entries::upsert_account(t, &name, &change).map(|r| r.0))?;
    Ok(Some(name))
}

/// The validator's URL and key. The key has no secret; the file's entries need one, so the
/// entry holds `-` there, and the SN8 source reads only the key.
fn sn8_section(
    work: &mut Work,
    value: &serde_json::Value,
    options: &ImportOptions,
) -> Result<(), ImportError> {
    let Some(obj) = value.as_object() else {
        work.skip(F, "bittensor_sn8", "not an object");
        return Ok(());
    };
    let (api_key, endpoint) = (text_of(obj.get("api_key")), text_of(obj.get("endpoint")));
    for k in obj.keys() {
        if k != "api_key" && k != "endpoint" {
            work.skip(
                F,
                format!("bittensor_sn8.{k}"),
                "not a key tradeengine reads",
            );
        }
    }
    if api_key.is_empty() && endpoint.is_empty() {
        return Ok(());
    }
    work.source(SN8)?;
    if !endpoint.is_empty() {
        let url = Value::from(endpoint.as_str());
        work.apply(|t| edit::set_source_value(t, SN8, &["settings"], "positions_url", Some(url)))?;
    }
    if !api_key.is_empty() {
        work.keys_for(SN8, &api_key, "-", None);
        let reference = Value::from(format!("file:{}", options.credentials_file));
        work.apply(|t| {
            let t = edit::set_source_value(t, SN8, &["settings"], "api_key_env", None)?;
            edit::set_source_value(
                &t,
                SN8,
                &["settings"],
                "api_key_credentials",
                Some(reference),
            )
        })?;
        work.need(
            PASSPHRASE_VAR,
            format!(
                "the passphrase of {}, which holds the SN8 validator key",
                options.credentials_file
            ),
        );
    }
    Ok(())
}

impl Work {
    fn keys_for(&mut self, entry: &str, key: &str, secret: &str, passphrase: Option<&str>) {
        self.imported.keys.retain(|(n, _)| n != entry);
        self.imported.keys.push((
            entry.to_string(),
            ResolvedCredentials {
                api_key: SecretString::from(key),
                api_secret: SecretString::from(secret),
                passphrase: passphrase.map(SecretString::from),
            },
        ));
    }
}

/// Completes an SN8 source: the variable of its key when nothing else gives one, and what the
/// seed files did not say (the validator URL, the pair mapping) listed to fill.
pub(super) fn finish_sn8(work: &mut Work) -> Result<(), ImportError> {
    let tree: toml::Table = work.text.parse().map_err(|_| ImportError {
        file: "imported configuration",
        reason: "not valid TOML".into(),
    })?;
    let Some(source) = tree.get("sources").and_then(|s| s.get(SN8)) else {
        return Ok(());
    };
    let settings = source.get("settings").and_then(toml::Value::as_table);
    let has = |k: &str| settings.is_some_and(|s| s.contains_key(k));
    if !has("api_key_env") && !has("api_key_credentials") {
        let var = Value::from(SN8_KEY_VAR);
        work.apply(|t| edit::set_source_value(t, SN8, &["settings"], "api_key_env", Some(var)))?;
        work.need(
            SN8_KEY_VAR,
            "the SN8 validator's API key (if your validator takes none: `tradeengine config sn8 --unset api_key_env`)",
        );
    }
    if !has("positions_url") {
        work.imported.to_fill.push(
            "sources.sn8.settings.positions_url, the validator's /miner-positions URL: `tradeengine config sn8 --set positions_url=https://VALIDATOR/miner-positions`".into(),
        );
    }
    let mapped = tree
        .get("mapping")
        .and_then(|m| m.get(SN8))
        .and_then(toml::Value::as_table)
        .is_some_and(|m| !m.is_empty());
    if !mapped {
        work.imported.to_fill.push(
            "mapping.sn8, the validator's trade pairs: `tradeengine config mapping --source sn8 --map BTCUSD=BTCUSDT`".into(),
        );
    }
    Ok(())
}
