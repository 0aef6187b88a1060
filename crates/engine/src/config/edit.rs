//! Writing configuration changes back to `tradeengine.toml`: the weights of one symbol, the
//! symbol mapping of one source, an account's credentials reference and a source's settings,
//! for the REST API and `tradeengine config weights|mapping|credentials|sn8`.
//!
//! Edits go through `toml_edit`, so the operator's comments, key order and formatting survive;
//! only the edited value is rewritten. The result is validated in full ([`super::load_str`])
//! before anything is written, and written atomically ([`write_atomic`]: a temporary file in the
//! same directory, synced, then renamed over the original), so a crash mid-write leaves either
//! the old file or the new one, never half of each, and the hot-reload watcher never reads a
//! partial file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use rust_decimal::Decimal;
use toml_edit::{DocumentMut, InlineTable, Item, Table, Value};

use super::{Config, ConfigError, Overrides};

/// An edit that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The file is not TOML, or not shaped as the schema says.
    #[error("{0}")]
    Parse(String),
    /// The symbol or source the edit names is not configured.
    #[error("{0}")]
    NotFound(String),
    /// The edited configuration does not validate; nothing was written.
    #[error("{0}")]
    Invalid(ConfigError),
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

fn parse(text: &str) -> Result<DocumentMut, EditError> {
    text.parse::<DocumentMut>()
        .map_err(|e| EditError::Parse(e.to_string()))
}

/// A decimal as a TOML number literal (`0.25`, `1`), exactly as written: no float rounding.
fn number(d: Decimal) -> Result<Value, EditError> {
    d.normalize()
        .to_string()
        .parse::<Value>()
        .map_err(|e| EditError::Parse(format!("weight {d}: {e}")))
}

/// Replaces the weights of `symbol` (matched case-insensitively, as the engine does) with
/// `weights`. Other keys of that `[[symbols]]` entry, and every comment, stay.
pub fn set_weights(
    text: &str,
    symbol: &str,
    weights: &BTreeMap<String, Decimal>,
) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let mut table = InlineTable::new();
    for (source, w) in weights {
        table.insert(source, number(*w)?);
    }
    let not_found = || EditError::NotFound(format!("no [[symbols]] entry for {symbol:?}"));
    let matches = |v: Option<&str>| v.is_some_and(|s| s.eq_ignore_ascii_case(symbol));
    match doc.get_mut("symbols") {
        Some(Item::ArrayOfTables(entries)) => {
            let entry = entries
                .iter_mut()
                .find(|t| matches(t.get("symbol").and_then(Item::as_str)))
                .ok_or_else(not_found)?;
            entry.insert("weights", Item::Value(Value::InlineTable(table)));
        }
        Some(Item::Value(Value::Array(entries))) => {
            let entry = entries
                .iter_mut()
                .filter_map(Value::as_inline_table_mut)
                .find(|t| matches(t.get("symbol").and_then(Value::as_str)))
                .ok_or_else(not_found)?;
            entry.insert("weights", Value::InlineTable(table));
        }
        _ => return Err(not_found()),
    }
    Ok(doc.to_string())
}

/// Replaces the whole symbol mapping of `source` (`[mapping.<source>]`); an empty map removes
/// the table.
pub fn set_mapping(
    text: &str,
    source: &str,
    mapping: &BTreeMap<String, String>,
) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let root = doc.as_table_mut();
    if !root.contains_key("mapping") {
        let mut t = Table::new();
        t.set_implicit(true);
        root.insert("mapping", Item::Table(t));
    }
    let Some(tables) = root.get_mut("mapping").and_then(Item::as_table_like_mut) else {
        return Err(EditError::Parse("mapping is not a table".to_string()));
    };
    if mapping.is_empty() {
        tables.remove(source);
        return Ok(doc.to_string());
    }
    let mut table = Table::new();
    for (raw, unified) in mapping {
        table.insert(raw, toml_edit::value(unified.as_str()));
    }
    // Keep the source's table where it was (and its leading comment) when it exists.
    match tables.get_mut(source) {
        Some(Item::Table(existing)) => {
            existing.clear();
            for (k, v) in table.iter() {
                existing.insert(k, v.clone());
            }
        }
        _ => {
            tables.insert(source, Item::Table(table));
        }
    }
    Ok(doc.to_string())
}

/// Sets (or, with `None`, removes) the `credentials` reference of the `[[accounts]]` entry named
/// `account`. Only a reference (`env:PREFIX` or `file:PATH`) belongs here, never a key: anything
/// else is refused before the file is touched.
pub fn set_account_credentials(
    text: &str,
    account: &str,
    reference: Option<&str>,
) -> Result<String, EditError> {
    if let Some(r) = reference {
        crate::credentials::Reference::parse(r)
            .map_err(|e| EditError::Parse(format!("accounts.{account}.credentials: {e}")))?;
    }
    let mut doc = parse(text)?;
    let not_found = || EditError::NotFound(format!("no [[accounts]] entry named {account:?}"));
    let Some(Item::ArrayOfTables(entries)) = doc.get_mut("accounts") else {
        return Err(not_found());
    };
    let entry = entries
        .iter_mut()
        .find(|t| t.get("name").and_then(Item::as_str) == Some(account))
        .ok_or_else(not_found)?;
    match reference {
        Some(r) => {
            entry.insert("credentials", toml_edit::value(r));
        }
        None => {
            entry.remove("credentials");
        }
    }
    Ok(doc.to_string())
}

/// Sets (or, with `None`, removes) `key` in the table at `path` under `[sources.<source>]`
/// (`path` empty: the source's own table; `["settings"]`, `["settings", "seed"]`: its
/// settings). Missing tables on the way are created; the source itself must exist. Other keys
/// and comments stay.
pub fn set_source_value(
    text: &str,
    source: &str,
    path: &[&str],
    key: &str,
    value: Option<Value>,
) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let not_found = || EditError::NotFound(format!("no [sources.{source}] table"));
    let mut table = doc
        .get_mut("sources")
        .and_then(Item::as_table_like_mut)
        .and_then(|t| t.get_mut(source))
        .and_then(Item::as_table_like_mut)
        .ok_or_else(not_found)?;
    for (depth, part) in path.iter().enumerate() {
        if table.get(part).is_none() {
            if value.is_none() {
                return Ok(doc.to_string());
            }
            table.insert(part, Item::Table(Table::new()));
        }
        table = table
            .get_mut(part)
            .and_then(Item::as_table_like_mut)
            .ok_or_else(|| {
                EditError::Parse(format!(
                    "sources.{source}.{} is not a table",
                    path[..=depth].join(".")
                ))
            })?;
    }
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

/// Removes the settings table of `[sources.<source>]` (every sub-table included): "start fresh".
pub fn clear_source_settings(text: &str, source: &str) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let table = doc
        .get_mut("sources")
        .and_then(Item::as_table_like_mut)
        .and_then(|t| t.get_mut(source))
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| EditError::NotFound(format!("no [sources.{source}] table")))?;
    table.remove("settings");
    Ok(doc.to_string())
}

/// Adds `raw → unified` to a source's mapping. A different source symbol that already mapped
/// to `unified` is removed (one source symbol per target, as sirouk/trade-engine's setup script
/// did); returns the source symbols so replaced.
pub fn upsert_mapping(
    mapping: &mut BTreeMap<String, String>,
    raw: &str,
    unified: &str,
) -> Vec<String> {
    let replaced: Vec<String> = mapping
        .iter()
        .filter(|(k, v)| k.as_str() != raw && v.eq_ignore_ascii_case(unified))
        .map(|(k, _)| k.clone())
        .collect();
    for k in &replaced {
        mapping.remove(k);
    }
    mapping.insert(raw.to_string(), unified.to_string());
    replaced
}

/// Weight still unassigned in a symbol: 1 − the sum of `weights` (negative when over).
pub fn remaining_weight(weights: &BTreeMap<String, Decimal>) -> Decimal {
    Decimal::ONE - weights.values().copied().sum::<Decimal>()
}

/// Validates edited text as the engine would load it (environment overrides included), and,
/// when `current` is given, that the change is one hot reload accepts.
pub fn check(
    text: &str,
    file: &Path,
    env: &[(String, String)],
    current: Option<&Config>,
) -> Result<Config, EditError> {
    let next = super::load_str(text, Some(file), env, &Overrides::default())
        .map_err(EditError::Invalid)?;
    if let Some(current) = current {
        let mut comparable = next.clone();
        // Flags given at start are not in the file (as in the reloader).
        comparable.engine = current.engine.clone();
        super::reload::check_hot_reload(current, &comparable).map_err(|e| {
            EditError::Invalid(ConfigError {
                file: Some(file.to_path_buf()),
                key: e.key.clone(),
                reason: "changed; it needs a restart".to_string(),
            })
        })?;
    }
    Ok(next)
}

/// Writes `text` to `path` atomically: a temporary file beside it, synced, renamed over it. The
/// original file's permissions are kept.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), EditError> {
    let io = |source| EditError::Io {
        path: path.display().to_string(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    tmp.write_all(text.as_bytes()).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    if let Ok(meta) = std::fs::metadata(path) {
        tmp.as_file()
            .set_permissions(meta.permissions())
            .map_err(io)?;
    }
    tmp.persist(path).map_err(|e| io(e.error))?;
    // Make the rename itself durable.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# top comment
[engine]
hot_reload = false

[sources.demo]
type = "demo"

[sources.tv]
type = "tradingview"

# BTC block
[[symbols]]
symbol = "BTCUSDT"
leverage = 2 # keep me
weights = { demo = 0.5 }

[[symbols]]
symbol = "ETHUSDT"
weights = { demo = 1 }

# mapping of tv
[mapping.tv]
XBTUSD = "BTCUSDT"
"#;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn weights_are_replaced_and_comments_kept() {
        let w = BTreeMap::from([
            ("demo".to_string(), d("0.3")),
            ("tv".to_string(), d("0.25")),
        ]);
        let out = set_weights(TEXT, "btcusdt", &w).unwrap();
        assert!(out.contains("# top comment") && out.contains("# BTC block"));
        assert!(out.contains("leverage = 2 # keep me"));
        assert!(out.contains("weights = { demo = 0.3, tv = 0.25 }"), "{out}");
        assert!(
            out.contains("weights = { demo = 1 }"),
            "ETH untouched: {out}"
        );
        let c = super::super::load_str(&out, None, &[], &Overrides::default()).unwrap();
        assert_eq!(c.symbol("BTCUSDT").unwrap().weights, w);
    }

    #[test]
    fn weights_of_an_unknown_symbol_are_refused() {
        let err = set_weights(TEXT, "SOLUSDT", &BTreeMap::new()).unwrap_err();
        assert!(matches!(err, EditError::NotFound(_)), "{err}");
    }

    #[test]
    fn mapping_is_replaced_in_place_or_added() {
        let m = BTreeMap::from([("BTC".to_string(), "BTCUSDT".to_string())]);
        let out = set_mapping(TEXT, "tv", &m).unwrap();
        assert!(
            out.contains("# mapping of tv\n[mapping.tv]\nBTC = \"BTCUSDT\""),
            "{out}"
        );
        assert!(!out.contains("XBTUSD"));
        let out = set_mapping(&out, "demo", &m).unwrap();
        assert!(out.contains("[mapping.demo]\nBTC = \"BTCUSDT\""), "{out}");
        let out = set_mapping(&out, "tv", &BTreeMap::new()).unwrap();
        assert!(!out.contains("[mapping.tv]"), "{out}");
        let text = "[engine]\nhot_reload = false\n";
        let out = set_mapping(text, "demo", &m).unwrap();
        assert!(out.contains("[mapping.demo]\nBTC = \"BTCUSDT\""), "{out}");
        assert!(!out.contains("[mapping]\n"), "implicit parent: {out}");
    }

    #[test]
    fn a_duplicate_target_replaces_the_old_source_symbol() {
        let mut m = BTreeMap::from([
            ("XBTUSD".to_string(), "BTCUSDT".to_string()),
            ("ETH".to_string(), "ETHUSDT".to_string()),
        ]);
        assert_eq!(
            upsert_mapping(&mut m, "BTC", "BTCUSDT"),
            vec!["XBTUSD".to_string()]
        );
        assert_eq!(m.len(), 2);
        assert_eq!(m["BTC"], "BTCUSDT");
        assert!(upsert_mapping(&mut m, "BTC", "BTCUSDT").is_empty());
    }

    #[test]
    fn account_credentials_reference_is_set_and_a_key_refused() {
        let text = "[[accounts]]\nname = \"a\" # mine\nvenue = \"bybit\"\n\n[[accounts]]\nname = \"b\"\nvenue = \"paper\"\n";
        let out = set_account_credentials(text, "a", Some("file:creds.age")).unwrap();
        assert!(out.contains("name = \"a\" # mine"), "{out}");
        assert!(out.contains("credentials = \"file:creds.age\""), "{out}");
        let out = set_account_credentials(&out, "a", Some("env:BYBIT_A")).unwrap();
        assert!(out.contains("credentials = \"env:BYBIT_A\""), "{out}");
        assert_eq!(out.matches("credentials").count(), 1, "{out}");
        let pasted = "FAKE0123456789abcdefKEY";
        let err = set_account_credentials(&out, "a", Some(pasted)).unwrap_err();
        assert!(!err.to_string().contains(pasted), "{err}");
        assert!(matches!(
            set_account_credentials(text, "zz", None),
            Err(EditError::NotFound(_))
        ));
        let out = set_account_credentials(&out, "a", None).unwrap();
        assert!(!out.contains("credentials"), "{out}");
    }

    #[test]
    fn source_values_are_set_in_nested_tables_and_removed() {
        let text = "[sources.sn8]\ntype = \"sn8\"\n\n[sources.sn8.settings]\n# url\npositions_url = \"http://a\"\n";
        let out = set_source_value(
            text,
            "sn8",
            &["settings"],
            "interval_secs",
            Some(Value::from(20)),
        )
        .unwrap();
        assert!(
            out.contains("# url\npositions_url = \"http://a\"\ninterval_secs = 20"),
            "{out}"
        );
        let out = set_source_value(
            &out,
            "sn8",
            &["settings", "seed"],
            "min_trades",
            Some(Value::from(5)),
        )
        .unwrap();
        assert!(
            out.contains("[sources.sn8.settings.seed]\nmin_trades = 5"),
            "{out}"
        );
        let out = set_source_value(&out, "sn8", &[], "ttl_secs", Some(Value::from(60))).unwrap();
        let parsed: toml::Table = out.parse().unwrap();
        assert_eq!(parsed["sources"]["sn8"]["ttl_secs"].as_integer(), Some(60));
        let out = set_source_value(&out, "sn8", &["settings"], "positions_url", None).unwrap();
        assert!(!out.contains("positions_url"), "{out}");
        let out =
            set_source_value(&out, "sn8", &["settings", "ptn"], "max_plagiarism", None).unwrap();
        assert!(
            !out.contains("ptn"),
            "removing from a missing table adds nothing: {out}"
        );
        assert!(set_source_value(&out, "nope", &[], "k", None).is_err());
        let out = clear_source_settings(&out, "sn8").unwrap();
        assert!(
            !out.contains("settings") && out.contains("ttl_secs = 60"),
            "{out}"
        );
    }

    #[test]
    fn remaining_weight_is_one_minus_the_sum() {
        let w = BTreeMap::from([("a".to_string(), d("0.1")), ("b".to_string(), d("0.15"))]);
        assert_eq!(remaining_weight(&w), d("0.75"));
        assert_eq!(remaining_weight(&BTreeMap::new()), Decimal::ONE);
    }

    #[test]
    fn check_refuses_invalid_weights_and_restart_keys() {
        let path = Path::new("t.toml");
        let current = check(TEXT, path, &[], None).unwrap();
        let over = BTreeMap::from([("demo".to_string(), d("0.8")), ("tv".to_string(), d("0.5"))]);
        let text = set_weights(TEXT, "BTCUSDT", &over).unwrap();
        assert!(matches!(
            check(&text, path, &[], Some(&current)),
            Err(EditError::Invalid(_))
        ));
        let unknown = BTreeMap::from([("nope".to_string(), d("0.1"))]);
        let text = set_weights(TEXT, "BTCUSDT", &unknown).unwrap();
        assert!(check(&text, path, &[], Some(&current)).is_err());
        // A new source needs a restart.
        let text = TEXT.replace(
            "[sources.tv]",
            "[sources.extra]\ntype = \"demo\"\n\n[sources.tv]",
        );
        let err = check(&text, path, &[], Some(&current)).unwrap_err();
        assert!(err.to_string().contains("restart"), "{err}");
    }

    #[test]
    fn atomic_write_replaces_the_file_and_keeps_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tradeengine.toml");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp left"
        );
    }
}
