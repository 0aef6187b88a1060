//! Reading the configuration in layers, the usual precedence: built-in defaults < the TOML file <
//! environment variables (`TRADEENGINE_…`) < command-line flags.
//!
//! Environment variables name a key path with double underscores: `TRADEENGINE_ENGINE__BIND=
//! 0.0.0.0:9000` sets `engine.bind`; `TRADEENGINE_ACCOUNTS__0__STATE=close_only` sets the first
//! account's state. Values that parse as TOML (numbers, booleans, quoted strings) keep their type;
//! anything else is taken as a string.
//!
//! Unknown keys are refused by name, so a typo never silently falls back to a default.

use std::path::{Path, PathBuf};

use super::{Config, ConfigError, validate};

/// Environment variable prefix for overrides.
pub const ENV_PREFIX: &str = "TRADEENGINE_";

/// Command-line overrides, applied last.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub bind: Option<String>,
    pub mode: Option<String>,
    pub database_url: Option<String>,
}

/// Where the configuration came from, for messages and the start banner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File(PathBuf),
    /// No file: the embedded paper demo.
    EmbeddedDemo,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(p) => write!(f, "{}", p.display()),
            Self::EmbeddedDemo => f.write_str("embedded demo configuration"),
        }
    }
}

/// Reads and validates a config file with environment and flag overrides.
pub fn load_file(
    path: &Path,
    env: &[(String, String)],
    overrides: &Overrides,
) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: Some(path.to_path_buf()),
        key: String::new(),
        reason: format!("cannot read: {e}"),
    })?;
    load_str(&text, Some(path), env, overrides)
}

/// Parses, layers and validates configuration text. `file` names the text's file in messages,
/// and its folder is what the text's relative paths are relative to ([`super::paths`]).
pub fn load_str(
    text: &str,
    file: Option<&Path>,
    env: &[(String, String)],
    overrides: &Overrides,
) -> Result<Config, ConfigError> {
    let err = |key: String, reason: String| ConfigError {
        file: file.map(Path::to_path_buf),
        key,
        reason,
    };
    let mut tree: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| err(String::new(), syntax_error(text, &e)))?;
    if let Some(f) = file {
        super::paths::resolve_tree(&mut tree, &super::paths::base_dir(f));
    }
    apply_env(&mut tree, env).map_err(|(k, r)| err(k, r))?;
    apply_overrides(&mut tree, overrides);
    let config = from_tree(tree).map_err(|(k, r)| err(k, r))?;
    validate::validate(&config).map_err(|(k, r)| err(k, r))?;
    Ok(config)
}

/// A TOML syntax error by position and reason. The parser's own `Display` quotes the offending
/// line, which may be a pasted key or secret (ARCHITECTURE.md, "Secrets stay secret"), so it is not
/// used.
fn syntax_error(text: &str, e: &toml::de::Error) -> String {
    let Some(before) = e.span().and_then(|s| text.get(..s.start)) else {
        return format!("TOML syntax error: {}", e.message());
    };
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    // The parser says only "duplicate key": name it (a key, never a value), so `accounts = []`
    // followed by a hand-written `[[accounts]]` points at `accounts`.
    let duplicate = e
        .message()
        .contains("duplicate key")
        .then(|| e.span().and_then(|s| text.get(s)))
        .flatten()
        .map(|k| k.trim_matches(|c: char| c == '[' || c == ']' || c == '"' || c.is_whitespace()))
        .filter(|k| !k.is_empty() && k.len() <= 64 && !k.contains('\n'));
    match duplicate {
        Some(key) => format!(
            "TOML syntax error at line {line}, column {column}: duplicate key `{key}` (defined earlier in the file too; keep one of the two)"
        ),
        None => format!(
            "TOML syntax error at line {line}, column {column}: {}",
            e.message()
        ),
    }
}

/// Whether `key` is the name of a `[[symbols]]` entry (`symbols[3].symbol`).
fn is_symbol_name(key: &str) -> bool {
    key.strip_prefix("symbols[")
        .and_then(|rest| rest.strip_suffix("].symbol"))
        .is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
}

/// Deserialises a tree, refusing any key the schema does not know.
pub(crate) fn from_tree(tree: toml::Table) -> Result<Config, (String, String)> {
    let mut unknown = Vec::new();
    let value = toml::Value::Table(tree);
    // An optional table (`[notifications.telegram]`) puts a `?` step in the path; the key as
    // written has none.
    let written = |path: String| path.replace(".?", "");
    let mut on_unknown = |path: serde_ignored::Path<'_>| unknown.push(written(path.to_string()));
    let ignoring = serde_ignored::Deserializer::new(value, &mut on_unknown);
    let config: Config = serde_path_to_error::deserialize(ignoring).map_err(|e| {
        let key = written(e.path().to_string());
        // A `[[symbols]]` name that is not a unified symbol gives the model's reason alone, as
        // when validation parsed the name (the parser's own text adds a line break).
        let reason = if is_symbol_name(&key) {
            e.inner().message().to_string()
        } else {
            e.inner().to_string()
        };
        (if key == "." { String::new() } else { key }, reason)
    })?;
    // `sources.*.settings` is checked by each source's own parser.
    unknown.retain(|k| !k.contains(".settings."));
    if let Some(first) = unknown.first() {
        return Err((first.clone(), "unknown key".to_string()));
    }
    Ok(config)
}

/// Collects `TRADEENGINE_*` variables from the real environment.
pub fn process_env() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .collect()
}

fn apply_env(tree: &mut toml::Table, env: &[(String, String)]) -> Result<(), (String, String)> {
    for (name, raw) in env {
        let Some(path) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        // Variables without a path separator (TRADEENGINE_CONFIG, TRADEENGINE_LOG) are the
        // binary's own, not config keys.
        if !path.contains("__") {
            continue;
        }
        let keys: Vec<String> = path.split("__").map(str::to_ascii_lowercase).collect();
        if keys.iter().any(String::is_empty) {
            return Err((
                name.clone(),
                "empty key in the variable name (use TRADEENGINE_SECTION__KEY)".into(),
            ));
        }
        let value = parse_scalar(raw);
        set_path(tree, &keys, value).map_err(|reason| (name.clone(), reason))?;
    }
    Ok(())
}

fn apply_overrides(tree: &mut toml::Table, o: &Overrides) {
    let mut set = |key: &str, v: Option<String>| {
        if let Some(v) = v {
            let engine = tree
                .entry("engine")
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(t) = engine {
                t.insert(key.to_string(), toml::Value::String(v));
            }
        }
    };
    set(
        "data_dir",
        o.data_dir.as_ref().map(|p| p.display().to_string()),
    );
    set("bind", o.bind.clone());
    set("mode", o.mode.clone());
    set("database_url", o.database_url.clone());
}

fn parse_scalar(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match doc.parse::<toml::Table>() {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

fn set_path(tree: &mut toml::Table, keys: &[String], value: toml::Value) -> Result<(), String> {
    let mut root = toml::Value::Table(std::mem::take(tree));
    let result = set_in(&mut root, keys, value);
    if let toml::Value::Table(t) = root {
        *tree = t;
    }
    result
}

fn set_in(root: &mut toml::Value, keys: &[String], value: toml::Value) -> Result<(), String> {
    let Some((last, parents)) = keys.split_last() else {
        return Err("empty key path".to_string());
    };
    let mut current = root;
    let mut path_so_far = String::new();
    for key in parents {
        path_so_far = join(&path_so_far, key);
        current = step(current, key, &path_so_far)?;
    }
    match current {
        toml::Value::Table(t) => {
            t.insert(last.clone(), value);
        }
        toml::Value::Array(a) => {
            let i: usize = last
                .parse()
                .map_err(|_| format!("{path_so_far} is a list; expected an index"))?;
            let slot = a
                .get_mut(i)
                .ok_or_else(|| format!("{path_so_far} has no entry {i}"))?;
            *slot = value;
        }
        _ => return Err(format!("{path_so_far} is not a table")),
    }
    Ok(())
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

fn step<'a>(
    node: &'a mut toml::Value,
    key: &str,
    path: &str,
) -> Result<&'a mut toml::Value, String> {
    match node {
        toml::Value::Table(t) => Ok(t
            .entry(key.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))),
        toml::Value::Array(a) => {
            let i: usize = key
                .parse()
                .map_err(|_| format!("{path}: expected a list index"))?;
            a.get_mut(i).ok_or_else(|| format!("{path}: no such entry"))
        }
        _ => Err(format!("{path} is not a table")),
    }
}
