//! Signals to replay from files other than canonical signals: TradingView alerts and SN8
//! snapshots, each read by the same parser the live source uses with the source's configured
//! settings, so a replay sees the signals the engine would have taken.
//!
//! Both are JSON, one record a line, each with the time it arrived (`at`: RFC 3339 or epoch
//! milliseconds), which becomes the signal's receive time:
//!
//! - TradingView: `{"at": …, "body": {…alert…}}` (or `"body": "text alert"`). The webhook's
//!   secret and sender checks are not made (a recorded body is already trusted, and usually
//!   stored without its secret); the alert's own checks (fields, price band, age) are.
//! - SN8: `{"at": …, "positions": {…/miner-positions…}, "statistics": {…}, "eliminations":
//!   {…}}` (the last two optional, as the poller reads them): each snapshot is ranked as the
//!   poller ranks a poll, and the signals it would submit are replayed.
//!
//! Not reproduced: the webhook's duplicate folding and ordering rules across alerts, and the
//! SN8 stream's updates between snapshots.

use serde_json::Value;
use tradeengine_model::{Signal, Timestamp};
use tradeengine_signals::SymbolMap;
use tradeengine_signals::tradingview::TvConfig;

use super::ReplayError;
use crate::config::{Config, SourceKind};

fn bad(what: &str, line: usize, reason: impl std::fmt::Display) -> ReplayError {
    ReplayError::Input(format!("{what} line {line}: {reason}"))
}

/// One record: its arrival time and the object.
fn records(text: &str, what: &str) -> Result<Vec<(usize, Timestamp, Value)>, ReplayError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line).map_err(|e| bad(what, line_no, e))?;
        let at = match v.get("at") {
            Some(Value::Number(ms)) => ms
                .as_i64()
                .and_then(chrono::DateTime::from_timestamp_millis),
            Some(Value::String(t)) => chrono::DateTime::parse_from_rfc3339(t)
                .ok()
                .map(|t| t.with_timezone(&chrono::Utc)),
            _ => None,
        }
        .ok_or_else(|| bad(what, line_no, "needs \"at\": an RFC 3339 time or epoch ms"))?;
        out.push((line_no, at, v));
    }
    Ok(out)
}

/// Signals from a file of TradingView alerts for the configured source `source`.
pub fn tradingview_alerts(
    text: &str,
    source: &str,
    config: &Config,
) -> Result<Vec<Signal>, ReplayError> {
    let what = "tradingview alerts";
    let settings = &config
        .sources
        .get(source)
        .filter(|s| s.kind == SourceKind::Tradingview)
        .ok_or_else(|| ReplayError::Input(format!("no tradingview source named {source:?}")))?
        .settings;
    let mut table = settings.clone();
    for secret in ["secret", "secret_env"] {
        table.remove(secret);
    }
    table.insert("source".into(), toml::Value::String(source.to_string()));
    table.insert("allow_unauthenticated".into(), toml::Value::Boolean(true));
    let tv: TvConfig = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| {
            ReplayError::Input(format!("sources.{source}.settings: {}", e.message()))
        })?;
    let mapping = own_symbols(config, source)?;
    let mut out = Vec::new();
    for (line, at, v) in records(text, what)? {
        let (body, content_type) = match v.get("body") {
            Some(Value::String(s)) => (s.clone(), "text/plain"),
            Some(o @ Value::Object(_)) => (o.to_string(), "application/json"),
            _ => return Err(bad(what, line, "needs \"body\": the alert's JSON or text")),
        };
        let alert = tradeengine_signals::tradingview::parse(
            body.as_bytes(),
            Some(content_type),
            &tv,
            &mapping,
            at,
        )
        .map_err(|e| bad(what, line, e))?;
        out.push(alert.signal);
    }
    Ok(out)
}

/// Signals from a file of SN8 snapshots for the configured source `source`.
pub fn sn8_snapshots(
    text: &str,
    source: &str,
    config: &Config,
) -> Result<Vec<Signal>, ReplayError> {
    let what = "sn8 snapshots";
    // The client's settings (URLs, keys) are read but not used: nothing is fetched.
    let no_secrets = |_: &str| Some(String::new());
    let (_, ranking, mapping) =
        crate::sources::sn8::settings(source, config, &no_secrets).map_err(ReplayError::Input)?;
    let records = records(text, what)?;
    let Some((_, first, _)) = records.first() else {
        return Ok(Vec::new());
    };
    let mut src = tradeengine_signals::sn8::Sn8Source::new(ranking, &mapping, *first);
    let mut out = Vec::new();
    for (line, at, v) in records {
        let doc = |key: &str| v.get(key).map(|d| d.to_string());
        let positions = doc("positions").ok_or_else(|| bad(what, line, "needs \"positions\""))?;
        let positions = tradeengine_signals::sn8::parse_positions(positions.as_bytes())
            .map_err(|e| bad(what, line, e))?;
        let statistics = doc("statistics")
            .map(|d| tradeengine_signals::sn8::parse_statistics(d.as_bytes()))
            .transpose()
            .map_err(|e| bad(what, line, e))?;
        let eliminations = doc("eliminations")
            .map(|d| tradeengine_signals::sn8::parse_eliminations(d.as_bytes()))
            .transpose()
            .map_err(|e| bad(what, line, e))?;
        let update = src.on_positions(&positions, statistics.as_ref(), eliminations.as_ref(), at);
        out.extend(update.signals);
    }
    Ok(out)
}

/// Every traded symbol under its own name, plus the source's `[mapping.<source>]` names.
fn own_symbols(config: &Config, source: &str) -> Result<SymbolMap, ReplayError> {
    let mut pairs: Vec<(String, String)> = config
        .symbols
        .iter()
        .map(|s| (s.symbol.to_string(), s.symbol.to_string()))
        .collect();
    if let Some(m) = config.mapping.get(source) {
        pairs.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    SymbolMap::new(pairs).map_err(|e| ReplayError::Input(format!("mapping.{source}: {e}")))
}
