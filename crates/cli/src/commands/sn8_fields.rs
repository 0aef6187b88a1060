//! The keys `tradeengine config sn8` edits: where each lives in `[sources.<name>]`, how its
//! value is typed and checked, and its built-in default (read from the SN8 crate's own
//! defaults, so the two cannot drift).

use anyhow::Context;
use rust_decimal::Decimal;
use toml_edit::Value;
use tradeengine_engine::config::SourceConfig;
use tradeengine_signals::sn8::{GuardParams, SeedParams, Sn8ClientConfig, Sn8Config};

/// How a key's value is typed and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// An http(s) URL, required.
    Url,
    /// An http(s) URL or `none`.
    OptUrl,
    /// The name of an environment variable, or `none`.
    EnvVar,
    /// A `file:PATH` reference to the encrypted credentials file, or `none`.
    CredRef,
    /// A whole number of at least `min`.
    Int {
        min: i64,
    },
    /// A whole number of at least 1, or `all` / `none` (no limit).
    OptInt,
    Decimal,
    Float,
    /// A number or `off`.
    OptFloat,
    /// One of a few whole numbers.
    IntChoice(&'static [i64]),
    /// A ws:// or wss:// URL, or `none`.
    OptWsUrl,
    Choice(&'static [&'static str]),
}

/// Which part of the prompts a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Group {
    Poller,
    Ranking,
    Seed,
    Ptn,
    Guard,
    Staleness,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Field {
    pub(super) key: &'static str,
    pub(super) label: &'static str,
    pub(super) kind: Kind,
    pub(super) group: Group,
}

pub(super) const fn field(
    key: &'static str,
    label: &'static str,
    kind: Kind,
    group: Group,
) -> Field {
    Field {
        key,
        label,
        kind,
        group,
    }
}

pub(super) const FIELDS: &[Field] = &[
    field(
        "positions_url",
        "validator /miner-positions URL",
        Kind::Url,
        Group::Poller,
    ),
    field(
        "tier",
        "data tier of the key (0 = 24 h late, 100 = real time and the stream)",
        Kind::IntChoice(&[0, 30, 50, 100]),
        Group::Poller,
    ),
    field(
        "trade_pairs_url",
        "/trade-pairs URL (none: beside /miner-positions)",
        Kind::OptUrl,
        Group::Poller,
    ),
    field(
        "stream_url",
        "validator WebSocket stream (tier 100; none: REST only)",
        Kind::OptWsUrl,
        Group::Poller,
    ),
    field(
        "api_key_env",
        "variable holding the validator API key",
        Kind::EnvVar,
        Group::Poller,
    ),
    field(
        "api_key_credentials",
        "encrypted file holding the validator API key (file:PATH)",
        Kind::CredRef,
        Group::Poller,
    ),
    field(
        "request_key_env",
        "variable holding a Request Network key",
        Kind::EnvVar,
        Group::Poller,
    ),
    field(
        "statistics_url",
        "/statistics URL (scoring = ptn)",
        Kind::OptUrl,
        Group::Poller,
    ),
    field(
        "eliminations_url",
        "/eliminations URL",
        Kind::OptUrl,
        Group::Poller,
    ),
    field(
        "interval_secs",
        "seconds between polls",
        Kind::Int { min: 1 },
        Group::Poller,
    ),
    field(
        "timeout_secs",
        "request timeout, seconds",
        Kind::Int { min: 1 },
        Group::Poller,
    ),
    field(
        "max_body_bytes",
        "largest payload accepted, bytes",
        Kind::Int { min: 1 },
        Group::Poller,
    ),
    field(
        "scoring",
        "miner ranking",
        Kind::Choice(&["seed", "ptn"]),
        Group::Ranking,
    ),
    field(
        "top_n",
        "best N miners vote (all: every ranked miner)",
        Kind::OptInt,
        Group::Ranking,
    ),
    field(
        "depth_scale",
        "depth multiplier before the ±1 clamp",
        Kind::Decimal,
        Group::Ranking,
    ),
    field(
        "leverage_limit",
        "cap on a position's |leverage|",
        Kind::Decimal,
        Group::Ranking,
    ),
    field(
        "seed.min_trades",
        "fewest closed trades",
        Kind::Int { min: 0 },
        Group::Seed,
    ),
    field(
        "seed.max_drawdown_threshold",
        "most negative drawdown",
        Kind::Float,
        Group::Seed,
    ),
    field(
        "seed.min_profitable_rate",
        "least profitable share",
        Kind::Float,
        Group::Seed,
    ),
    field(
        "seed.min_total_return",
        "least total return",
        Kind::Float,
        Group::Seed,
    ),
    field(
        "seed.drawdown_exponent",
        "drawdown exponent",
        Kind::Float,
        Group::Seed,
    ),
    field(
        "seed.sharpe_exponent",
        "sharpe exponent",
        Kind::Float,
        Group::Seed,
    ),
    field(
        "seed.profitable_rate_exponent",
        "profitable-rate exponent",
        Kind::Float,
        Group::Seed,
    ),
    field(
        "seed.position_count_divisor",
        "position count divisor",
        Kind::Float,
        Group::Seed,
    ),
    field(
        "seed.min_trades_per_asset",
        "fewest trades per asset",
        Kind::Int { min: 0 },
        Group::Seed,
    ),
    field(
        "seed.max_trade_age_days",
        "oldest trade counted, days",
        Kind::Float,
        Group::Seed,
    ),
    field(
        "seed.min_thirty_day_return",
        "30-day return must exceed (simple; off: no filter; 1.0 placeholder skips it)",
        Kind::OptFloat,
        Group::Seed,
    ),
    field(
        "seed.min_all_time_return",
        "all-time return must exceed (simple; off: no filter)",
        Kind::OptFloat,
        Group::Seed,
    ),
    field(
        "ptn.min_drawdown_ratio",
        "least drawdown ratio",
        Kind::OptFloat,
        Group::Ptn,
    ),
    field(
        "ptn.min_penalty_total",
        "least penalty multiplier",
        Kind::OptFloat,
        Group::Ptn,
    ),
    field(
        "ptn.max_plagiarism",
        "most plagiarism score",
        Kind::OptFloat,
        Group::Ptn,
    ),
    field(
        "guard.min_miners",
        "fewest miners in a payload",
        Kind::Int { min: 0 },
        Group::Guard,
    ),
    field(
        "guard.abs_tolerance",
        "count change tolerated",
        Kind::Int { min: 0 },
        Group::Guard,
    ),
    field(
        "guard.rel_tolerance",
        "relative change tolerated",
        Kind::Float,
        Group::Guard,
    ),
    field(
        "guard.history",
        "accepted counts in the median",
        Kind::Int { min: 1 },
        Group::Guard,
    ),
    field(
        "guard.confirm_after",
        "agreeing rejects to accept",
        Kind::Int { min: 1 },
        Group::Guard,
    ),
    field(
        "ttl_secs",
        "seconds without a payload before stale",
        Kind::Int { min: 1 },
        Group::Staleness,
    ),
    field(
        "on_stale",
        "when stale",
        Kind::Choice(&["flat", "hold"]),
        Group::Staleness,
    ),
];

pub(super) fn lookup(key: &str) -> anyhow::Result<&'static Field> {
    FIELDS.iter().find(|f| f.key == key).with_context(|| {
        format!(
            "unknown sn8 key {key:?}; known: {}",
            FIELDS.iter().map(|f| f.key).collect::<Vec<_>>().join(", ")
        )
    })
}

/// Where a key lives: the source's own table for staleness, else its settings (sub)table.
pub(super) fn location(f: &Field) -> (Vec<&'static str>, &'static str) {
    if f.group == Group::Staleness {
        return (vec![], f.key);
    }
    match f.key.split_once('.') {
        Some((table, key)) => (vec!["settings", table], key),
        None => (vec!["settings"], f.key),
    }
}

/// The built-in default, as shown to the operator (`None`: no default, must be given or is
/// off).
pub(super) fn default_of(key: &str) -> Option<String> {
    let client = Sn8ClientConfig::new("");
    let ranking = tradeengine_model::SourceId::new("sn8")
        .ok()
        .map(Sn8Config::new);
    let seed = SeedParams::default();
    let guard = GuardParams::default();
    let float = |v: f64| format!("{v:?}");
    Some(match key {
        "interval_secs" => client.interval_secs.to_string(),
        "timeout_secs" => client.timeout_secs.to_string(),
        "max_body_bytes" => client.max_body_bytes.to_string(),
        "tier" => client.tier.value().to_string(),
        "trade_pairs_url" | "stream_url" => "none".to_string(),
        "seed.min_thirty_day_return" => seed.min_thirty_day_return.map_or("off".to_string(), float),
        "seed.min_all_time_return" => seed.min_all_time_return.map_or("off".to_string(), float),
        "scoring" => "seed".to_string(),
        "top_n" => "all".to_string(),
        "depth_scale" => ranking?.depth_scale.to_string(),
        "leverage_limit" => ranking?.leverage_limit.to_string(),
        "seed.min_trades" => seed.min_trades.to_string(),
        "seed.max_drawdown_threshold" => float(seed.max_drawdown_threshold),
        "seed.min_profitable_rate" => float(seed.min_profitable_rate),
        "seed.min_total_return" => float(seed.min_total_return),
        "seed.drawdown_exponent" => float(seed.drawdown_exponent),
        "seed.sharpe_exponent" => float(seed.sharpe_exponent),
        "seed.profitable_rate_exponent" => float(seed.profitable_rate_exponent),
        "seed.position_count_divisor" => float(seed.position_count_divisor),
        "seed.min_trades_per_asset" => seed.min_trades_per_asset.to_string(),
        "seed.max_trade_age_days" => float(seed.max_trade_age_days),
        "ptn.min_drawdown_ratio" | "ptn.min_penalty_total" | "ptn.max_plagiarism" => {
            "off".to_string()
        }
        "guard.min_miners" => guard.min_miners.to_string(),
        "guard.abs_tolerance" => guard.abs_tolerance.to_string(),
        "guard.rel_tolerance" => float(guard.rel_tolerance),
        "guard.history" => guard.history.to_string(),
        "guard.confirm_after" => guard.confirm_after.to_string(),
        "ttl_secs" => "120".to_string(),
        "on_stale" => "hold".to_string(),
        "api_key_env"
        | "api_key_credentials"
        | "request_key_env"
        | "statistics_url"
        | "eliminations_url" => "none".to_string(),
        _ => return None,
    })
}

/// A TOML value as the operator types it (strings without quotes).
pub(super) fn shown(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Float(f) => format!("{f:?}"),
        other => other.to_string(),
    }
}

/// The value in the file, if the key is set there.
pub(super) fn current(source: &SourceConfig, f: &Field) -> Option<String> {
    match f.key {
        "ttl_secs" => return source.ttl_secs.map(|t| t.to_string()),
        "on_stale" => {
            return Some(
                match source.on_stale {
                    tradeengine_engine::config::OnStale::Flat => "flat",
                    tradeengine_engine::config::OnStale::Hold => "hold",
                }
                .to_string(),
            );
        }
        _ => {}
    }
    let (path, key) = location(f);
    let mut table = &source.settings;
    for part in path.iter().skip(1) {
        table = table.get(*part)?.as_table()?;
    }
    table.get(key).map(shown)
}

pub(super) fn is_off(text: &str) -> bool {
    matches!(
        text.to_ascii_lowercase().as_str(),
        "none" | "off" | "all" | "-"
    )
}

/// Parses what the operator typed; `Ok(None)` clears the key (back to its default / off).
pub(super) fn parse(f: &Field, text: &str) -> Result<Option<Value>, String> {
    let text = text.trim();
    let url = |t: &str| {
        if t.starts_with("http://") || t.starts_with("https://") {
            Ok(Some(Value::from(t)))
        } else {
            Err("an http:// or https:// URL".to_string())
        }
    };
    match f.kind {
        Kind::Url => url(text),
        Kind::OptUrl if is_off(text) => Ok(None),
        Kind::OptUrl => url(text),
        Kind::EnvVar if is_off(text) => Ok(None),
        Kind::EnvVar => {
            let ok = !text.is_empty()
                && text.len() <= 64
                && !text.starts_with(|c: char| c.is_ascii_digit())
                && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if ok {
                Ok(Some(Value::from(text)))
            } else {
                // Never echo it: it may be the key pasted by mistake.
                Err("the NAME of an environment variable (A-Z, 0-9, _), not the key".to_string())
            }
        }
        Kind::CredRef if is_off(text) => Ok(None),
        Kind::CredRef => match text.strip_prefix("file:") {
            Some(path) if !path.is_empty() => Ok(Some(Value::from(text))),
            // Never echo it: it may be the key pasted by mistake.
            _ => Err("file:PATH (the encrypted credentials file), not the key".to_string()),
        },
        Kind::Int { min } => match text.parse::<i64>() {
            Ok(n) if n >= min => Ok(Some(Value::from(n))),
            _ => Err(format!("a whole number of at least {min}")),
        },
        Kind::OptInt if is_off(text) => Ok(None),
        Kind::OptInt => match text.parse::<i64>() {
            Ok(n) if n >= 1 => Ok(Some(Value::from(n))),
            _ => Err("a whole number of at least 1, or all".to_string()),
        },
        Kind::Decimal => match text.parse::<Decimal>() {
            Ok(d) if d > Decimal::ZERO => d
                .normalize()
                .to_string()
                .parse::<Value>()
                .map(Some)
                .map_err(|e| e.to_string()),
            _ => Err("a number above 0".to_string()),
        },
        Kind::OptFloat if is_off(text) => Ok(None),
        Kind::Float | Kind::OptFloat => match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(Value::from(v))),
            _ => Err("a number".to_string()),
        },
        Kind::IntChoice(options) => match text.parse::<i64>() {
            Ok(n) if options.contains(&n) => Ok(Some(Value::from(n))),
            _ => Err(format!(
                "one of {}",
                options
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
        Kind::OptWsUrl if is_off(text) => Ok(None),
        Kind::OptWsUrl => {
            if text.starts_with("ws://") || text.starts_with("wss://") {
                Ok(Some(Value::from(text)))
            } else {
                Err("a ws:// or wss:// URL".to_string())
            }
        }
        Kind::Choice(options) if options.contains(&text) => Ok(Some(Value::from(text))),
        Kind::Choice(options) => Err(format!("one of {}", options.join(", "))),
    }
}

/// One key's change: `None` = unset.
pub(super) fn shown_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.value().clone(),
        Value::Float(f) => format!("{:?}", f.value()),
        other => other.to_string().trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_a_location_and_a_default_or_is_required() {
        for f in FIELDS {
            let (path, key) = location(f);
            assert!(!key.contains('.'), "{}", f.key);
            assert!(
                default_of(f.key).is_some() || f.kind == Kind::Url,
                "{} has no default",
                f.key
            );
            if let Some(d) = default_of(f.key) {
                assert!(parse(f, &d).is_ok(), "default of {} parses: {d}", f.key);
            }
            assert!(path.is_empty() == (f.group == Group::Staleness));
        }
        assert_eq!(
            location(lookup("seed.min_trades").unwrap()),
            (vec!["settings", "seed"], "min_trades")
        );
        assert!(lookup("nope").is_err());
    }

    /// Every key the engine reads for an SN8 source is listed (and so editable and shown by
    /// `config sn8 --keys`): the ranking's keys from its serialised defaults, the poller's from
    /// the engine's list.
    #[test]
    fn every_key_the_source_reads_is_listed() {
        let ranking = Sn8Config::new(tradeengine_model::SourceId::new("sn8").unwrap());
        let v = serde_json::to_value(&ranking).unwrap();
        let mut keys = Vec::new();
        for (k, val) in v.as_object().unwrap() {
            match val.as_object() {
                Some(sub) => keys.extend(sub.keys().map(|s| format!("{k}.{s}"))),
                None => keys.push(k.clone()),
            }
        }
        keys.retain(|k| k != "source");
        keys.extend(
            tradeengine_engine::sources::sn8::CLIENT_KEYS
                .iter()
                .map(|k| k.to_string()),
        );
        for k in &keys {
            assert!(
                lookup(k).is_ok(),
                "{k} is read by the engine but not listed"
            );
        }
        for k in [
            "seed.min_thirty_day_return",
            "seed.min_all_time_return",
            "tier",
        ] {
            assert!(keys.iter().any(|x| x == k), "{k}");
        }
        assert!(parse(lookup("tier").unwrap(), "40").is_err());
        assert_eq!(
            parse(lookup("tier").unwrap(), "30")
                .unwrap()
                .map(|v| shown_value(&v)),
            Some("30".to_string())
        );
        assert!(parse(lookup("stream_url").unwrap(), "http://x").is_err());
        assert!(
            parse(lookup("seed.min_thirty_day_return").unwrap(), "off")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn values_are_checked_by_kind_and_a_pasted_key_is_not_echoed() {
        let f = lookup("api_key_env").unwrap();
        assert_eq!(
            parse(f, "SN8_API_KEY").unwrap().map(|v| shown_value(&v)),
            Some("SN8_API_KEY".to_string())
        );
        let err = parse(f, "sk-FAKE:KEY/123").unwrap_err();
        assert!(!err.contains("FAKE"));
        assert!(parse(f, "none").unwrap().is_none());
        assert!(parse(lookup("positions_url").unwrap(), "ftp://x").is_err());
        assert!(parse(lookup("interval_secs").unwrap(), "0").is_err());
        assert!(parse(lookup("top_n").unwrap(), "all").unwrap().is_none());
        assert!(parse(lookup("depth_scale").unwrap(), "-1").is_err());
        assert!(parse(lookup("on_stale").unwrap(), "maybe").is_err());
        let v = parse(lookup("seed.drawdown_exponent").unwrap(), "6").unwrap();
        assert_eq!(v.map(|v| shown_value(&v)), Some("6.0".to_string()));
    }
}
