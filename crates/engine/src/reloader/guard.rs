//! Edits a reload refuses whole, because applying the rest of the file live would leave money
//! unmanaged. A file emptied or cut short by a bad save, a full disk or a copy in progress parses
//! as a valid configuration with fewer accounts, sources, symbols and limits; each of those
//! removals is refused here, naming what it would drop, and the running configuration stays.
//!
//! - an account or a source removed (its worker or intake would keep running on the old
//!   settings while the rest of the file changes around it);
//! - a symbol removed while an account holds a position in it or has a target for it: the engine
//!   would stop trading it and refuse its exit alerts, leaving the position open. Set its weights
//!   to 0 (the engine closes it) or flatten it first, then remove it;
//! - a held or targeted symbol whose entry lost keys the running one set (`weights`,
//!   `leverage`, its limits): a file cut inside `[[symbols]]` keeps the symbol and drops the
//!   rest, which reads as "weights none, leverage 1" and closes or shrinks the position. A key
//!   missing from the entry is what tells a cut from an edit, so setting a value (weights to 0
//!   to close) is taken and leaving the key out is refused;
//! - every risk limit back to its default while the running ones were set.

use std::collections::{BTreeMap, BTreeSet};

use tradeengine_model::AccountName;

use crate::config::Config;
use crate::config::risk::RiskConfig;
use crate::state::AccountView;

/// Why `file` may not replace `current` live, if it may not.
pub(super) fn refusal(
    current: &Config,
    file: &Config,
    text: &str,
    views: &BTreeMap<AccountName, AccountView>,
) -> Option<String> {
    let mut reasons = Vec::new();
    let accounts: Vec<&str> = (current.accounts.iter())
        .map(|a| a.name.as_str())
        .filter(|n| !file.accounts.iter().any(|a| a.name == *n))
        .collect();
    if !accounts.is_empty() {
        reasons.push(format!(
            "it removes account(s) {} (remove an account with a restart)",
            accounts.join(", ")
        ));
    }
    let sources: Vec<&str> = (current.sources.keys())
        .map(String::as_str)
        .filter(|n| !file.sources.contains_key(*n))
        .collect();
    if !sources.is_empty() {
        reasons.push(format!(
            "it removes source(s) {} (remove a source with a restart)",
            sources.join(", ")
        ));
    }
    let written = written_symbol_keys(text);
    for s in &current.symbols {
        let symbol = s.symbol.as_str();
        let exposures = exposures(views, symbol);
        if exposures.is_empty() {
            continue;
        }
        if file.symbol(symbol).is_none() {
            for (account, exposure) in &exposures {
                reasons.push(match exposure {
                    Exposure::Held(size) => format!("it removes {symbol}, which account {account} holds ({size}): set its weights to 0 or flatten it first"),
                    Exposure::Target(q) => format!("it removes {symbol}, for which account {account} has a target of {q}: set its weights to 0 first"),
                });
            }
            continue;
        }
        let keys = (written.get(&symbol.to_ascii_uppercase()))
            .cloned()
            .unwrap_or_default();
        let lost: Vec<&str> = set_keys(s)
            .into_iter()
            .filter(|k| !keys.contains(*k))
            .collect();
        if let (false, Some((account, exposure))) = (lost.is_empty(), exposures.first()) {
            let what = match exposure {
                Exposure::Held(size) => format!("which account {account} holds ({size})"),
                Exposure::Target(q) => format!("for which account {account} has a target of {q}"),
            };
            reasons.push(format!(
                "its entry for {symbol}, {what}, no longer has {}: write them out (weights set to 0 close it)",
                lost.join(", ")
            ));
        }
    }
    if current.risk != RiskConfig::default() && file.risk == RiskConfig::default() {
        reasons.push(
            "it sets no risk limit, which would put every running limit back to its default (restart to mean it)"
                .to_string(),
        );
    }
    (!reasons.is_empty()).then(|| format!("{} (an emptied or cut-off file?)", reasons.join("; ")))
}

enum Exposure {
    Held(rust_decimal::Decimal),
    Target(rust_decimal::Decimal),
}

/// The accounts that hold `symbol` or have a target for it.
fn exposures(
    views: &BTreeMap<AccountName, AccountView>,
    symbol: &str,
) -> Vec<(AccountName, Exposure)> {
    let mut out = Vec::new();
    for (account, view) in views {
        let held = (view.positions.iter())
            .find(|p| p.symbol.as_str() == symbol && !p.size.is_zero())
            .map(|p| p.size.get());
        let target = (view.targets.iter())
            .find(|(t, q)| t.as_str() == symbol && !q.is_zero())
            .map(|(_, q)| *q);
        if let Some(size) = held {
            out.push((account.clone(), Exposure::Held(size)));
        } else if let Some(q) = target {
            out.push((account.clone(), Exposure::Target(q)));
        }
    }
    out
}

/// The keys of a running `[[symbols]]` entry that hold more than their default: the keys its
/// file must have written.
fn set_keys(s: &crate::config::SymbolConfig) -> Vec<&'static str> {
    let mut keys = Vec::new();
    if !s.weights.is_empty() {
        keys.push("weights");
    }
    if s.leverage != rust_decimal::Decimal::ONE {
        keys.push("leverage");
    }
    for (key, set) in [
        ("max_depth", s.max_depth.is_some()),
        ("max_notional", s.max_notional.is_some()),
        ("max_leverage", s.max_leverage.is_some()),
        ("max_position_notional", s.max_position_notional.is_some()),
    ] {
        if set {
            keys.push(key);
        }
    }
    keys
}

/// The keys each `[[symbols]]` entry of `text` writes, by symbol. A text that does not parse
/// as TOML gives nothing (it was refused before this is asked).
fn written_symbol_keys(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return BTreeMap::new();
    };
    let Some(toml::Value::Array(entries)) = doc.get("symbols") else {
        return BTreeMap::new();
    };
    entries
        .iter()
        .filter_map(toml::Value::as_table)
        .filter_map(|t| {
            let symbol = t.get("symbol")?.as_str()?.trim().to_ascii_uppercase();
            Some((symbol, t.keys().cloned().collect()))
        })
        .collect()
}
