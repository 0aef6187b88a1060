//! Metric names and labels, in one place so the dashboard, the Grafana board and alerts agree.
//! Recording is through the `metrics` facade: without an installed recorder (tests, library
//! use) every call is a no-op; the binary installs the Prometheus recorder that `/metrics`
//! renders.

use std::time::Duration;

/// A signal's fate at the intake: `applied`, `duplicate`, `refused`, `error`.
pub fn signal(source: &str, outcome: &'static str) {
    metrics::counter!("tradeengine_signals_total", "source" => source.to_string(), "outcome" => outcome).increment(1);
}

/// A refused signal by its label (`malformed`, `auth`, `unknown_symbol`, `price_band`, a sleeve
/// rule's name, …): every refusal, wherever it happened (see `crate::refusals`).
pub fn signal_refused_code(source: &str, code: &str) {
    metrics::counter!("tradeengine_signals_refused_total", "source" => source.to_string(), "reason" => code.to_string()).increment(1);
}

/// `count` refusals of one label at once (rows dropped from one payload).
pub fn signal_refused_count(source: &str, code: &str, count: u64) {
    metrics::counter!("tradeengine_signals_refused_total", "source" => source.to_string(), "reason" => code.to_string()).increment(count);
}

/// `LowConfidence { .. }` → `low_confidence`: the variant's name, snake case.
pub fn refusal_reason(refusal: &impl std::fmt::Debug) -> String {
    let debug = format!("{refusal:?}");
    let name: String = debug
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    if out.is_empty() {
        "other".to_string()
    } else {
        out
    }
}

/// A polled source's staleness (`tradeengine_source_stale`, 1 stale or 0 fresh).
pub fn source_stale(source: &str, stale: bool) {
    metrics::gauge!("tradeengine_source_stale", "source" => source.to_string()).set(if stale {
        1.0
    } else {
        0.0
    });
}

/// One failed poll of a source (`tradeengine_source_poll_failures_total`).
pub fn source_poll_failed(source: &str) {
    metrics::counter!("tradeengine_source_poll_failures_total", "source" => source.to_string())
        .increment(1);
}

/// Seconds between a signal's own time and its arrival.
pub fn signal_lag(source: &str, lag: Duration) {
    metrics::histogram!("tradeengine_signal_lag_seconds", "source" => source.to_string())
        .record(lag.as_secs_f64());
}

/// One order placement round trip to a venue, with its outcome (`filled`, `accepted`,
/// `rejected`, `ambiguous`, `error`).
pub fn order(venue: &'static str, outcome: &'static str, took: Duration) {
    metrics::histogram!("tradeengine_order_round_trip_seconds", "venue" => venue)
        .record(took.as_secs_f64());
    metrics::counter!("tradeengine_orders_total", "venue" => venue, "outcome" => outcome)
        .increment(1);
}

/// One reconciliation cycle of an account (`ok` or `error`).
pub fn cycle(account: &str, outcome: &'static str, took: Duration) {
    metrics::counter!("tradeengine_cycles_total", "account" => account.to_string(), "outcome" => outcome).increment(1);
    metrics::histogram!("tradeengine_cycle_seconds", "account" => account.to_string())
        .record(took.as_secs_f64());
}

/// After each cycle of an account: whether its order entry is failing (gauge
/// `tradeengine_account_order_entry_failing`, 1 or 0) and, when it is, one more failing cycle
/// (`tradeengine_order_entry_failures_total`), so an order-gateway outage shows at once.
pub fn order_entry(account: &str, failing: bool) {
    metrics::gauge!("tradeengine_account_order_entry_failing", "account" => account.to_string())
        .set(if failing { 1.0 } else { 0.0 });
    if failing {
        metrics::counter!("tradeengine_order_entry_failures_total", "account" => account.to_string())
            .increment(1);
    }
}

/// The venue connection after a cycle: private-stream reconnects (connections after the
/// first) and the unspent share of each rate-limit scope, so a budget running dry or a
/// flapping stream shows before orders start failing.
pub fn venue_health(account: &str, venue: &'static str, health: &tradeengine_venues::VenueHealth) {
    if let Some(connects) = health.stream_connects {
        metrics::gauge!(
            "tradeengine_stream_reconnects",
            "account" => account.to_string(),
            "venue" => venue
        )
        .set(connects.saturating_sub(1) as f64);
    }
    for (scope, free) in &health.rate_limit_headroom {
        metrics::gauge!(
            "tradeengine_rate_limit_headroom",
            "account" => account.to_string(),
            "venue" => venue,
            "scope" => *scope
        )
        .set(*free);
    }
}

/// A position that moved where this engine's own fills do not take it (`traded_back`: in a
/// symbol this engine trades, so the move counts toward freezing the account), see
/// `worker::outside`.
pub fn outside_position_change(account: &str, traded_back: bool) {
    metrics::counter!(
        "tradeengine_outside_position_changes_total",
        "account" => account.to_string(),
        "traded_back" => if traded_back { "true" } else { "false" }
    )
    .increment(1);
}

/// A leg the risk gate refused in a cycle, by `rule`. `recorded` is false for a refusal that
/// continues an episode already in the store (same target, rule and risk state), so this
/// counts every cycle while the audit trail holds one record per episode.
pub fn risk_refusal(account: &str, rule: &'static str, recorded: bool) {
    metrics::counter!(
        "tradeengine_risk_refusals_total",
        "account" => account.to_string(),
        "rule" => rule,
        "recorded" => if recorded { "true" } else { "false" }
    )
    .increment(1);
}

#[cfg(test)]
mod tests {
    use super::refusal_reason;

    #[derive(Debug)]
    #[allow(dead_code)] // only Debug is read
    enum Sample {
        LowConfidence { confidence: u8 },
        NoPrice,
        Cooling(u8),
    }

    #[test]
    fn refusal_reasons_are_snake_case_variant_names() {
        assert_eq!(
            refusal_reason(&Sample::LowConfidence { confidence: 1 }),
            "low_confidence"
        );
        assert_eq!(refusal_reason(&Sample::NoPrice), "no_price");
        assert_eq!(refusal_reason(&Sample::Cooling(3)), "cooling");
        assert_eq!(refusal_reason(&"text"), "other");
    }
}
