//! Adding, changing and removing whole entries of `tradeengine.toml` (a `[[symbols]]` entry, an
//! `[[accounts]]` entry, a `[sources.<name>]` table, a key of `[risk]`), for `tradeengine config
//! import|accounts|symbols|weights`. Like [`super::edit`], through `toml_edit`: the operator's
//! comments and formatting stay, only the edited entry changes; the caller validates the result
//! and writes it with [`super::edit::write_atomic`].
//!
//! A list written inline (`accounts = []`, as older imports did) is turned into `[[accounts]]`
//! tables before an entry is added, so a later hand-written `[[accounts]]` never collides with it.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use toml_edit::{ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value};

use super::edit::EditError;
use super::{AccountState, Mode, OnStale, SourceKind, VenueKind};

fn parse(text: &str) -> Result<DocumentMut, EditError> {
    text.parse::<DocumentMut>()
        .map_err(|e| EditError::Parse(e.to_string()))
}

/// A decimal as a TOML number literal (`0.25`, `3`), never a string and never through `f64`.
pub fn number(d: Decimal) -> Result<Value, EditError> {
    d.normalize()
        .to_string()
        .parse::<Value>()
        .map_err(|e| EditError::Parse(format!("number {d}: {e}")))
}

/// The `[[key]]` list of `doc`, created when missing; an inline list (`key = []`, `key = [{…}]`)
/// becomes `[[key]]` tables first.
fn tables<'a>(doc: &'a mut DocumentMut, key: &str) -> Result<&'a mut ArrayOfTables, EditError> {
    let root = doc.as_table_mut();
    let converted = match root.get(key) {
        None => Some(ArrayOfTables::new()),
        Some(Item::Value(Value::Array(inline))) => {
            let mut out = ArrayOfTables::new();
            for v in inline.iter() {
                let t = v.as_inline_table().ok_or_else(|| {
                    EditError::Parse(format!("{key} is a list of something other than tables"))
                })?;
                out.push(t.clone().into_table());
            }
            Some(out)
        }
        Some(Item::ArrayOfTables(_)) => None,
        Some(_) => return Err(EditError::Parse(format!("{key} is not a list of tables"))),
    };
    if let Some(list) = converted {
        root.insert(key, Item::ArrayOfTables(list));
    }
    match root.get_mut(key) {
        Some(Item::ArrayOfTables(list)) => Ok(list),
        _ => Err(EditError::Parse(format!("{key} is not a list of tables"))),
    }
}

fn find<'a>(list: &'a mut ArrayOfTables, key: &str, value: &str) -> Option<&'a mut Table> {
    list.iter_mut().find(|t| {
        t.get(key)
            .and_then(Item::as_str)
            .is_some_and(|v| v.eq_ignore_ascii_case(value))
    })
}

/// Adds the `[[symbols]]` entry of `symbol` when missing (true when added), and sets its
/// `leverage` and/or `weights` when given. Other keys of an existing entry stay.
pub fn upsert_symbol(
    text: &str,
    symbol: &str,
    leverage: Option<Decimal>,
    weights: Option<&BTreeMap<String, Decimal>>,
) -> Result<(String, bool), EditError> {
    let mut doc = parse(text)?;
    let list = tables(&mut doc, "symbols")?;
    let added = find(list, "symbol", symbol).is_none();
    if added {
        let mut t = Table::new();
        t.insert("symbol", toml_edit::value(symbol.to_ascii_uppercase()));
        list.push(t);
    }
    let entry = find(list, "symbol", symbol)
        .ok_or_else(|| EditError::NotFound(format!("no [[symbols]] entry for {symbol:?}")))?;
    if let Some(l) = leverage {
        entry.insert("leverage", Item::Value(number(l)?));
    }
    if let Some(w) = weights {
        let mut table = InlineTable::new();
        for (source, v) in w {
            table.insert(source, number(*v)?);
        }
        entry.insert("weights", Item::Value(Value::InlineTable(table)));
    }
    Ok((doc.to_string(), added))
}

/// One change to an `[[accounts]]` entry; `None` leaves a key as it is, `Some(None)` removes it.
#[derive(Debug, Clone, Default)]
pub struct AccountEdit {
    pub venue: Option<VenueKind>,
    pub mode: Option<Option<Mode>>,
    pub credentials: Option<Option<String>>,
    pub base_url: Option<Option<String>>,
    pub state: Option<AccountState>,
    pub leverage_override: Option<Option<Decimal>>,
    pub min_order_notional: Option<Decimal>,
}

/// Adds the `[[accounts]]` entry `name` when missing (true when added; `venue` is then
/// required) and applies `edit`. A credentials value must be a reference, never a key.
pub fn upsert_account(
    text: &str,
    name: &str,
    edit: &AccountEdit,
) -> Result<(String, bool), EditError> {
    if let Some(Some(r)) = &edit.credentials {
        crate::credentials::Reference::parse(r)
            .map_err(|e| EditError::Parse(format!("accounts.{name}.credentials: {e}")))?;
    }
    let mut doc = parse(text)?;
    let list = tables(&mut doc, "accounts")?;
    let added = !list
        .iter()
        .any(|t| t.get("name").and_then(Item::as_str) == Some(name));
    if added {
        let venue = edit
            .venue
            .ok_or_else(|| EditError::Parse(format!("a new account ({name}) needs a venue")))?;
        let mut t = Table::new();
        t.insert("name", toml_edit::value(name));
        t.insert("venue", toml_edit::value(venue.as_str()));
        list.push(t);
    }
    let entry = list
        .iter_mut()
        .find(|t| t.get("name").and_then(Item::as_str) == Some(name))
        .ok_or_else(|| EditError::NotFound(format!("no [[accounts]] entry named {name:?}")))?;
    if let Some(v) = edit.venue {
        entry.insert("venue", toml_edit::value(v.as_str()));
    }
    let mut set_opt = |key: &str, v: Option<Option<Value>>| match v {
        Some(Some(v)) => {
            entry.insert(key, Item::Value(v));
        }
        Some(None) => {
            entry.remove(key);
        }
        None => {}
    };
    set_opt(
        "mode",
        edit.mode.map(|m| m.map(|m| Value::from(m.as_str()))),
    );
    set_opt(
        "credentials",
        edit.credentials
            .clone()
            .map(|c| c.map(|c| Value::from(c.as_str()))),
    );
    set_opt(
        "base_url",
        edit.base_url
            .clone()
            .map(|u| u.map(|u| Value::from(u.as_str()))),
    );
    let state = edit.state.map(|s| match s {
        AccountState::Enabled => None,
        AccountState::CloseOnly => Some(Value::from("close_only")),
        AccountState::Disabled => Some(Value::from("disabled")),
    });
    set_opt("state", state);
    let lev = match edit.leverage_override {
        Some(Some(l)) => Some(Some(number(l)?)),
        Some(None) => Some(None),
        None => None,
    };
    set_opt("leverage_override", lev);
    if let Some(n) = edit.min_order_notional {
        set_opt("min_order_notional", Some(Some(number(n)?)));
    }
    Ok((doc.to_string(), added))
}

/// Removes the `[[accounts]]` entry `name`.
pub fn remove_account(text: &str, name: &str) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let not_found = || EditError::NotFound(format!("no [[accounts]] entry named {name:?}"));
    let Some(Item::ArrayOfTables(list)) = doc.get_mut("accounts") else {
        return Err(not_found());
    };
    let index = list
        .iter()
        .position(|t| t.get("name").and_then(Item::as_str) == Some(name))
        .ok_or_else(not_found)?;
    list.remove(index);
    if list.is_empty() {
        doc.remove("accounts");
    }
    Ok(doc.to_string())
}

/// Adds `[sources.<name>]` of `kind` when missing (true when added), with `ttl_secs` and
/// `on_stale` when given. An existing source keeps its keys.
pub fn ensure_source(
    text: &str,
    name: &str,
    kind: SourceKind,
    ttl_secs: Option<u64>,
    on_stale: Option<OnStale>,
) -> Result<(String, bool), EditError> {
    let mut doc = parse(text)?;
    let root = doc.as_table_mut();
    if !root.contains_key("sources") {
        let mut t = Table::new();
        t.set_implicit(true);
        root.insert("sources", Item::Table(t));
    }
    let sources = root
        .get_mut("sources")
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| EditError::Parse("sources is not a table".into()))?;
    if sources.contains_key(name) {
        return Ok((doc.to_string(), false));
    }
    let mut t = Table::new();
    t.insert("type", toml_edit::value(kind.as_str()));
    if let Some(ttl) = ttl_secs {
        let ttl = i64::try_from(ttl).map_err(|_| EditError::Parse("ttl_secs too large".into()))?;
        t.insert("ttl_secs", toml_edit::value(ttl));
    }
    if let Some(s) = on_stale {
        let s = match s {
            OnStale::Flat => "flat",
            OnStale::Hold => "hold",
        };
        t.insert("on_stale", toml_edit::value(s));
    }
    sources.insert(name, Item::Table(t));
    Ok((doc.to_string(), true))
}

/// Sets (or, with `None`, removes) `key` in the top-level table `section` (`risk`, `engine`),
/// creating the table when needed.
pub fn set_section_value(
    text: &str,
    section: &str,
    key: &str,
    value: Option<Value>,
) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let root = doc.as_table_mut();
    if !root.contains_key(section) {
        if value.is_none() {
            return Ok(doc.to_string());
        }
        root.insert(section, Item::Table(Table::new()));
    }
    let table = root
        .get_mut(section)
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| EditError::Parse(format!("{section} is not a table")))?;
    match value {
        Some(v) => {
            table.insert(key, Item::Value(v));
        }
        None => {
            table.remove(key);
        }
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overrides, load_str};

    fn d(s: &str) -> Decimal {
        s.parse().unwrap_or_default()
    }

    fn load(text: &str) -> crate::config::Config {
        load_str(text, None, &[], &Overrides::default()).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn an_inline_empty_account_list_becomes_tables_and_a_hand_added_one_still_parses() {
        let text = "accounts = []\n\n# mine\n[engine]\nmode = \"paper\"\n";
        let edit = AccountEdit {
            venue: Some(VenueKind::Paper),
            ..Default::default()
        };
        let (out, added) = upsert_account(text, "p", &edit).unwrap_or_else(|e| panic!("{e}"));
        assert!(added);
        assert!(
            out.contains("# mine") && !out.contains("accounts = []"),
            "{out}"
        );
        let hand = format!("{out}\n[[accounts]]\nname = \"q\"\nvenue = \"paper\"\n");
        let c = load(&hand);
        assert_eq!(c.accounts.len(), 2);
    }

    #[test]
    fn accounts_are_added_modified_and_removed_keeping_comments() {
        let text =
            "[engine]\nmode = \"paper\"\n\n[[accounts]]\nname = \"a\" # first\nvenue = \"paper\"\n";
        let edit = AccountEdit {
            venue: Some(VenueKind::Exchange(tradeengine_model::VenueId::Mexc)),
            mode: Some(Some(Mode::Testnet)),
            credentials: Some(Some("env:MEXC_B".into())),
            base_url: Some(Some("http://127.0.0.1:9".into())),
            leverage_override: Some(Some(d("3"))),
            min_order_notional: Some(d("5")),
            ..Default::default()
        };
        let (out, added) = upsert_account(text, "b", &edit).unwrap_or_else(|e| panic!("{e}"));
        assert!(added && out.contains("name = \"a\" # first"), "{out}");
        assert!(out.contains("leverage_override = 3\n"), "typed: {out}");
        let c = load(&out);
        assert_eq!(c.accounts[1].mode, Some(Mode::Testnet));
        let change = AccountEdit {
            base_url: Some(None),
            mode: Some(Some(Mode::Paper)),
            ..Default::default()
        };
        let (out, added) = upsert_account(&out, "b", &change).unwrap_or_else(|e| panic!("{e}"));
        assert!(!added && !out.contains("127.0.0.1"), "{out}");
        let out = remove_account(&out, "b").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(load(&out).accounts.len(), 1);
        let out = remove_account(&out, "a").unwrap_or_else(|e| panic!("{e}"));
        assert!(!out.contains("accounts"), "{out}");
        let pasted = AccountEdit {
            venue: Some(VenueKind::Exchange(tradeengine_model::VenueId::Bybit)),
            credentials: Some(Some("FAKEKEY0123456789".into())),
            ..Default::default()
        };
        let e = upsert_account(text, "c", &pasted)
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| !e.contains("FAKEKEY0123456789")));
    }

    #[test]
    fn symbols_are_created_with_typed_leverage_and_weights() {
        let text = "[sources.tv]\ntype = \"tradingview\"\nallow = 1\n";
        let text = text.replace("allow = 1\n", "");
        let w = BTreeMap::from([("tv".to_string(), d("0.1"))]);
        let (out, added) = upsert_symbol(&text, "taousdt", Some(d("3")), Some(&w))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(added, "{out}");
        assert!(
            out.contains("symbol = \"TAOUSDT\"\nleverage = 3\nweights = { tv = 0.1 }"),
            "{out}"
        );
        let (out, added) =
            upsert_symbol(&out, "TAOUSDT", Some(d("5")), None).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !added && out.contains("leverage = 5") && out.contains("tv = 0.1"),
            "{out}"
        );
        let c = load(&out);
        assert_eq!(c.symbol("TAOUSDT").map(|s| s.leverage), Some(d("5")));
    }

    #[test]
    fn sources_and_section_values_are_added_once() {
        let (out, added) =
            ensure_source("", "sn8", SourceKind::Sn8, Some(120), Some(OnStale::Flat))
                .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            added && out.contains("ttl_secs = 120\non_stale = \"flat\""),
            "{out}"
        );
        let (again, added) = ensure_source(&out, "sn8", SourceKind::Sn8, None, None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!added && again == out);
        let out = set_section_value(&out, "risk", "max_leverage", Some(Value::from(25)))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(out.contains("[risk]\nmax_leverage = 25"), "{out}");
    }
}
