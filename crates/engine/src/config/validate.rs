//! Checks that cross keys (weights against sources, mappings against symbols) and value ranges.
//! Each failure names the key as the user wrote it, so `tradeengine config check` can point at
//! the line to fix.

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use tradeengine_model::{AccountName, SourceId, Symbol};

use super::{Config, MAX_TTL_SECS, MIN_TTL_SECS, Mode, VenueKind};

type Failure = (String, String);

fn fail<T>(key: impl Into<String>, reason: impl Into<String>) -> Result<T, Failure> {
    Err((key.into(), reason.into()))
}

/// Validates a whole configuration; the first problem found is returned.
pub fn validate(c: &Config) -> Result<(), Failure> {
    validate_engine(c)?;
    validate_risk(c)?;
    validate_accounts(c)?;
    super::modes::validate_modes(c)?;
    validate_sources(c)?;
    validate_mapping(c)?;
    validate_symbols(c)?;
    tradeengine_notify::config::validate(&c.notifications)?;
    Ok(())
}

fn validate_engine(c: &Config) -> Result<(), Failure> {
    let e = &c.engine;
    if e.drift_check_interval_secs == 0 {
        return fail("engine.drift_check_interval_secs", "must be at least 1");
    }
    if e.drift_band < Decimal::ZERO || e.drift_band > Decimal::new(5, 1) {
        return fail("engine.drift_band", "must be between 0 and 0.5");
    }
    let url = e.database_url.as_str();
    if !(url.is_empty()
        || url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://"))
    {
        return fail(
            "engine.database_url",
            "must be empty (SQLite in the data dir), sqlite:PATH or postgres://…",
        );
    }
    validate_cluster(c)
}

/// The `[engine]` cluster keys (see the engine's `cluster` module).
fn validate_cluster(c: &Config) -> Result<(), (String, String)> {
    let e = &c.engine;
    let fail = |key: &str, reason: &str| Err((key.to_string(), reason.to_string()));
    if !(MIN_TTL_SECS..=MAX_TTL_SECS).contains(&e.lease_ttl_secs) {
        return fail(
            "engine.lease_ttl_secs",
            &format!("must be between {MIN_TTL_SECS} and {MAX_TTL_SECS}"),
        );
    }
    if e.node_id.len() > 64
        || !e
            .node_id
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.:".contains(ch))
    {
        return fail(
            "engine.node_id",
            "at most 64 characters among letters, digits, '-', '_', '.' and ':'",
        );
    }
    if !e.cluster {
        return Ok(());
    }
    let url = e.database_url.as_str();
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return fail(
            "engine.cluster",
            "needs engine.database_url = \"postgres://…\": the processes share the accounts through PostgreSQL (SQLite is one machine's file)",
        );
    }
    for (i, a) in c.accounts.iter().enumerate() {
        if a.venue == VenueKind::Paper || c.account_mode(a) == Mode::Paper {
            return fail(
                &format!("accounts[{i}]"),
                "a paper account keeps its venue in one process's data dir, which another process cannot take over; use a testnet or live account in a cluster",
            );
        }
    }
    Ok(())
}

fn validate_risk(c: &Config) -> Result<(), Failure> {
    super::risk::validate_table("risk", &c.risk)?;
    for (i, a) in c.accounts.iter().enumerate() {
        super::risk::validate_table(&format!("accounts[{i}].risk"), &a.risk)?;
    }
    Ok(())
}

fn validate_accounts(c: &Config) -> Result<(), Failure> {
    let mut names = BTreeSet::new();
    for (i, a) in c.accounts.iter().enumerate() {
        let key = |field: &str| format!("accounts[{i}].{field}");
        if let Err(e) = AccountName::new(&a.name) {
            return fail(key("name"), e.to_string());
        }
        if !names.insert(a.name.as_str()) {
            return fail(
                key("name"),
                format!("account {:?} is defined twice", a.name),
            );
        }
        validate_account_mode(c, a, &key)?;
        validate_account_references(a, &key)?;
        validate_account_numbers(c, a, &key)?;
        if let Some(p) = &a.paper {
            validate_paper_settings(p, &key)?;
        }
        super::hyperliquid::validate(a, &key)?;
    }
    Ok(())
}

/// What an account's mode allows: paper accounts trade on paper (or dry-run), `[accounts.paper]`
/// only where paper fills, credentials wherever a venue is really used.
fn validate_account_mode(
    c: &Config,
    a: &super::AccountConfig,
    key: &dyn Fn(&str) -> String,
) -> Result<(), Failure> {
    let mode = a.mode.unwrap_or(c.engine.mode);
    if a.venue == VenueKind::Paper && !matches!(mode, Mode::Paper | Mode::DryRun) {
        return fail(
            key("mode"),
            format!("a paper account cannot run in {} mode", mode.as_str()),
        );
    }
    if a.venue != VenueKind::Paper {
        if a.paper.is_some() && mode != Mode::Paper {
            return fail(
                key("paper"),
                "only paper accounts and exchange accounts in paper mode take [accounts.paper] settings",
            );
        }
        if matches!(mode, Mode::Testnet | Mode::Live) && a.credentials.is_none() {
            return fail(
                key("credentials"),
                format!(
                    "{} mode needs credentials, e.g. credentials = \"env:BYBIT_MAIN\"",
                    mode.as_str()
                ),
            );
        }
    }
    Ok(())
}

/// An account's URLs and its credentials reference.
fn validate_account_references(
    a: &super::AccountConfig,
    key: &dyn Fn(&str) -> String,
) -> Result<(), Failure> {
    for (field, url) in [
        ("base_url", a.base_url.as_deref()),
        ("ws_url", a.ws_url.url()),
    ] {
        if let Some(u) = url
            && !(u.starts_with("https://")
                || u.starts_with("http://")
                || u.starts_with("wss://")
                || u.starts_with("ws://"))
        {
            return fail(
                key(field),
                "must be an http(s):// or ws(s):// URL (ws_url may be \"off\" or \"auto\")",
            );
        }
    }
    if a.venue == VenueKind::Paper && (a.base_url.is_some() || !a.ws_url.is_auto()) {
        return fail(key("base_url"), "a paper account has no venue URL");
    }
    if let Some(cred) = &a.credentials
        && !cred.starts_with("env:")
        && !cred.starts_with("file:")
    {
        return fail(
            key("credentials"),
            "must be a reference (env:PREFIX or file:PATH), never the key itself",
        );
    }
    Ok(())
}

/// An account's leverage override, order notional floor and request concurrency.
fn validate_account_numbers(
    c: &Config,
    a: &super::AccountConfig,
    key: &dyn Fn(&str) -> String,
) -> Result<(), Failure> {
    if let Some(l) = a.leverage_override
        && l.fract() != Decimal::ZERO
    {
        return fail(
            key("leverage_override"),
            "must be a whole number (venues take integer leverage)",
        );
    }
    let max_leverage = c.risk_limits(Some(a)).max_leverage;
    if let Some(l) = a.leverage_override
        && (l < Decimal::ONE || l > max_leverage)
    {
        return fail(
            key("leverage_override"),
            format!("must be between 1 and this account's max_leverage ({max_leverage})"),
        );
    }
    if a.min_order_notional < Decimal::ZERO {
        return fail(key("min_order_notional"), "must not be negative");
    }
    if !(1..=100).contains(&a.max_concurrent_requests) {
        return fail(key("max_concurrent_requests"), "must be between 1 and 100");
    }
    Ok(())
}

/// An account's `[accounts.paper]` settings.
fn validate_paper_settings(
    p: &super::PaperAccountConfig,
    key: &dyn Fn(&str) -> String,
) -> Result<(), Failure> {
    if p.starting_balance <= Decimal::ZERO {
        return fail(key("paper.starting_balance"), "must be greater than 0");
    }
    if p.taker_fee < Decimal::ZERO || p.taker_fee > Decimal::new(1, 2) {
        return fail(key("paper.taker_fee"), "must be between 0 and 0.01");
    }
    if p.slippage_bps < Decimal::ZERO || p.slippage_bps > Decimal::from(500) {
        return fail(key("paper.slippage_bps"), "must be between 0 and 500");
    }
    let live = ["bybit", "binance", "blofin", "kucoin", "mexc"]
        .iter()
        .any(|v| p.price_source == *v || p.price_source.starts_with(&format!("{v}:http")));
    if p.price_source != "walk" && !p.price_source.starts_with("csv:") && !live {
        return fail(
            key("paper.price_source"),
            "must be \"walk\", \"csv:PATH\", \"bybit\", \"binance\", \"blofin\", \"kucoin\" or \"mexc\" (optionally \"bybit:URL\")",
        );
    }
    Ok(())
}

fn validate_sources(c: &Config) -> Result<(), Failure> {
    for (name, s) in &c.sources {
        let key = |field: &str| format!("sources.{name}.{field}");
        if let Err(e) = SourceId::new(name) {
            return fail(format!("sources.{name}"), e.to_string());
        }
        if s.ttl_secs == Some(0) {
            return fail(
                key("ttl_secs"),
                "must be at least 1 (leave it out for no TTL)",
            );
        }
        if let Some(m) = s.min_confidence
            && !(Decimal::ZERO..=Decimal::ONE).contains(&m)
        {
            return fail(key("min_confidence"), "must be between 0 and 1");
        }
        for (field, v) in [
            ("default_stop_loss", s.default_stop_loss),
            ("default_take_profit", s.default_take_profit),
        ] {
            if let Some(v) = v
                && (v <= Decimal::ZERO || v >= Decimal::ONE)
            {
                return fail(
                    key(field),
                    "must be a fraction between 0 and 1 (0.02 = 2 %)",
                );
            }
        }
        if let Err((field, reason)) = super::candle_account::validate_stops(c, &s.stops) {
            return fail(key(&format!("stops.{field}")), reason);
        }
    }
    Ok(())
}

fn validate_mapping(c: &Config) -> Result<(), Failure> {
    for (source, map) in &c.mapping {
        if !c.sources.contains_key(source) {
            return fail(
                format!("mapping.{source}"),
                format!("no source named {source:?}"),
            );
        }
        for (from, to) in map {
            if let Err(e) = Symbol::new(to) {
                return fail(format!("mapping.{source}.{from}"), e.to_string());
            }
        }
    }
    Ok(())
}

fn validate_symbols(c: &Config) -> Result<(), Failure> {
    let mut seen = BTreeSet::new();
    for (i, s) in c.symbols.iter().enumerate() {
        let key = |field: &str| format!("symbols[{i}].{field}");
        let symbol = &s.symbol;
        if !seen.insert(symbol.clone()) {
            return fail(key("symbol"), format!("{symbol} is listed twice"));
        }
        let max_leverage = c.risk_limits(None).max_leverage;
        if s.leverage < Decimal::ONE || s.leverage > max_leverage {
            return fail(
                key("leverage"),
                format!("must be between 1 and risk.max_leverage ({max_leverage})"),
            );
        }
        if let Some(m) = s.max_leverage {
            if m < Decimal::ONE {
                return fail(key("max_leverage"), "must be at least 1");
            }
            if s.leverage > m {
                return fail(
                    key("leverage"),
                    format!(
                        "is above this symbol's max_leverage ({m}): every order would be refused"
                    ),
                );
            }
        }
        if let Some(n) = s.max_position_notional
            && n <= Decimal::ZERO
        {
            return fail(key("max_position_notional"), "must be greater than 0");
        }
        let mut total = Decimal::ZERO;
        for (source, w) in &s.weights {
            if !c.sources.contains_key(source) {
                return fail(
                    format!("{}.{source}", key("weights")),
                    format!("no source named {source:?}"),
                );
            }
            if *w < Decimal::ZERO || *w > Decimal::ONE {
                return fail(
                    format!("{}.{source}", key("weights")),
                    "must be between 0 and 1",
                );
            }
            total += *w;
        }
        if total > Decimal::ONE {
            return fail(
                key("weights"),
                format!("weights of {symbol} sum to {total}; at most 1 is allowed"),
            );
        }
        if let Some(d) = s.max_depth
            && d <= Decimal::ZERO
        {
            return fail(key("max_depth"), "must be greater than 0");
        }
        if let Some(n) = s.max_notional
            && n <= Decimal::ZERO
        {
            return fail(key("max_notional"), "must be greater than 0");
        }
    }
    Ok(())
}
