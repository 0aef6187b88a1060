//! `# HELP` text for every metric `/metrics` exposes: what it counts and in which unit, so a
//! scraper's operator can read a series without this repository. A metric recorded anywhere
//! (the engine's telemetry, the scrape-time gauges in [`crate::metrics`]) needs a row here;
//! `tests/metrics_help.rs` scrapes `/metrics` and scans the sources and fails on any metric
//! without one. To add a metric, add a row.

/// What a metric is, for `describe_*!`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// (name, kind, help). Names sorted.
pub const HELP: &[(&str, Kind, &str)] = &[
    (
        "tradeengine_account_connecting",
        Kind::Gauge,
        "1 while the account's venue is unreachable and the engine retries connecting with back-off, else 0.",
    ),
    (
        "tradeengine_account_cycle_failing",
        Kind::Gauge,
        "1 when the account's last reconciliation cycle ended in an error, else 0.",
    ),
    (
        "tradeengine_account_drawdown",
        Kind::Gauge,
        "Fall of the account's equity from its high-water mark, as a fraction (0.05 = 5 %).",
    ),
    (
        "tradeengine_account_equity",
        Kind::Gauge,
        "Account value (wallet balance plus unrealised P&L) as last read from the venue, quote currency (USDT).",
    ),
    (
        "tradeengine_account_frozen",
        Kind::Gauge,
        "1 while the kill switch freezes or flattens the account, else 0.",
    ),
    (
        "tradeengine_account_lease_held",
        Kind::Gauge,
        "1 while this engine holds the account's lease in the store (only one engine works an account), else 0.",
    ),
    (
        "tradeengine_account_order_entry_failing",
        Kind::Gauge,
        "1 when the account's last cycle could not place orders (order gateway failing), else 0.",
    ),
    (
        "tradeengine_account_orders_rejected_total",
        Kind::Counter,
        "Orders the venue rejected on this account since the engine started.",
    ),
    (
        "tradeengine_account_pnl_today",
        Kind::Gauge,
        "Change of the account's equity since the day's first reading (00:00 UTC), quote currency (USDT).",
    ),
    (
        "tradeengine_account_reconciled",
        Kind::Gauge,
        "1 once the account's positions have been read from the venue and reconciled since start, else 0.",
    ),
    (
        "tradeengine_account_risk_state",
        Kind::Gauge,
        "Portfolio loss-limit state of the account: 0 active, 1 reducing, 2 halted.",
    ),
    (
        "tradeengine_account_unrealised_pnl",
        Kind::Gauge,
        "Unrealised P&L of the account's positions at the engine's last prices, quote currency (USDT).",
    ),
    (
        "tradeengine_audit_anchor_seq",
        Kind::Gauge,
        "Sequence number of the newest audit event the anchor file vouches for.",
    ),
    (
        "tradeengine_audit_chain_ok",
        Kind::Gauge,
        "1 when the audit hash chain verified at its last check, 0 when it is broken.",
    ),
    (
        "tradeengine_cluster_handovers_total",
        Kind::Counter,
        "Account leases changing hands in a cluster, by account and kind: taken (free), taken_over (from a dead or lapsed holder), lost (taken from this process, or not renewed in time), handed_over (let go to balance the accounts).",
    ),
    (
        "tradeengine_cluster_lease_age_seconds",
        Kind::Gauge,
        "Seconds since this process took the account's lease (updated at each renewal).",
    ),
    (
        "tradeengine_cluster_sends_refused_total",
        Kind::Counter,
        "Orders, cancels and leverage changes this process refused to send because its own clock said its lease may be about to expire (no renewal for two thirds of it).",
    ),
    (
        "tradeengine_cycle_seconds",
        Kind::Histogram,
        "Duration of one reconciliation cycle of an account, seconds.",
    ),
    (
        "tradeengine_cycles_total",
        Kind::Counter,
        "Reconciliation cycles per account, by outcome (ok, error).",
    ),
    (
        "tradeengine_kill_switch_engaged",
        Kind::Gauge,
        "1 while the kill switch (stored switch or kill file) is engaged, else 0.",
    ),
    (
        "tradeengine_order_entry_failures_total",
        Kind::Counter,
        "Cycles in which the account could not place orders.",
    ),
    (
        "tradeengine_order_round_trip_seconds",
        Kind::Histogram,
        "Time from sending an order to the venue's answer, seconds, by venue.",
    ),
    (
        "tradeengine_orders_risk_refused_total",
        Kind::Counter,
        "Order legs the risk gate refused on this account since the engine started.",
    ),
    (
        "tradeengine_orders_total",
        Kind::Counter,
        "Orders sent to venues, by venue and outcome (filled, accepted, rejected, ambiguous, error).",
    ),
    (
        "tradeengine_outside_position_changes_total",
        Kind::Counter,
        "Positions that moved where the engine's own fills do not take them (a manual trade, a liquidation, another engine); traded_back=true in a symbol the engine trades, counting toward freezing the account.",
    ),
    (
        "tradeengine_position_size",
        Kind::Gauge,
        "Signed position size as last read from the venue, base units.",
    ),
    (
        "tradeengine_rate_limit_headroom",
        Kind::Gauge,
        "Unspent share of a venue rate-limit scope (1 = untouched, 0 = exhausted).",
    ),
    (
        "tradeengine_risk_refusals_total",
        Kind::Counter,
        "Legs the risk gate refused, by account, rule and whether the refusal started a new recorded episode.",
    ),
    (
        "tradeengine_signal_lag_seconds",
        Kind::Histogram,
        "Seconds between a signal's own timestamp and its arrival at the engine, by source.",
    ),
    (
        "tradeengine_signals_refused_total",
        Kind::Counter,
        "Signals refused, by source and reason.",
    ),
    (
        "tradeengine_signals_total",
        Kind::Counter,
        "Signals received, by source and outcome (applied, duplicate, refused, error).",
    ),
    (
        "tradeengine_sn8_stream_gaps_total",
        Kind::Counter,
        "Gaps in the SN8 stream's sequence numbers (messages lost); each rebuilds the source's positions from REST.",
    ),
    (
        "tradeengine_sn8_stream_up",
        Kind::Gauge,
        "1 while the SN8 source's WebSocket stream is connected and subscribed (positions then come from it, not from REST polls), else 0.",
    ),
    (
        "tradeengine_sn8_tier",
        Kind::Gauge,
        "The SN8 source's data tier (0, 30, 50 or 100: the share of the validator's positions it sees in real time; the rest is 24 h late).",
    ),
    (
        "tradeengine_source_last_success_timestamp_seconds",
        Kind::Gauge,
        "Unix time (seconds) of the polled source's last successful fetch; alert when it falls behind the source's TTL.",
    ),
    (
        "tradeengine_source_netting_saved",
        Kind::Gauge,
        "Estimated fees and slippage the source's sleeves saved by netting against other sources instead of trading alone, quote currency (USDT), over everything stored (see tradeengine pnl).",
    ),
    (
        "tradeengine_source_pnl",
        Kind::Gauge,
        "P&L of the source's sleeves in the account (realised + unrealised at the last price seen, minus fees, plus funding), quote currency (USDT); source unattributed holds what no source caused. The sources plus unattributed equal the account's P&L from its fills.",
    ),
    (
        "tradeengine_source_poll_failures_total",
        Kind::Counter,
        "Failed polls of a source (fetch error or an unreadable reply), by source.",
    ),
    (
        "tradeengine_source_stale",
        Kind::Gauge,
        "1 while a polled source is stale (no successful fetch within its TTL; its sleeves follow its on_stale rule), else 0.",
    ),
    (
        "tradeengine_store_healthy",
        Kind::Gauge,
        "1 while the store (database) answers, 0 while it fails.",
    ),
    (
        "tradeengine_stream_reconnects",
        Kind::Gauge,
        "Times the account's private venue stream reconnected since start.",
    ),
    (
        "tradeengine_symbol_price",
        Kind::Gauge,
        "The engine's last price of a symbol (mark or last), quote currency.",
    ),
    (
        "tradeengine_target_drift",
        Kind::Gauge,
        "Target minus actual position, base units: what the next cycle would trade (outside the drift band).",
    ),
    (
        "tradeengine_target_size",
        Kind::Gauge,
        "The engine's target position for the account and symbol, base units.",
    ),
    (
        "tradeengine_unknown_positions",
        Kind::Gauge,
        "Positions on the account the engine has no record of managing (held until an operator decides).",
    ),
];

/// Registers every row of [`HELP`] with the installed recorder (call after installing it).
pub fn describe() {
    for (name, kind, help) in HELP {
        match kind {
            Kind::Counter => metrics::describe_counter!(*name, *help),
            Kind::Gauge => metrics::describe_gauge!(*name, *help),
            Kind::Histogram => metrics::describe_histogram!(*name, *help),
        }
    }
}

/// The help text of `name`, if it has one.
pub fn help_of(name: &str) -> Option<&'static str> {
    HELP.iter().find(|(n, _, _)| *n == name).map(|(_, _, h)| *h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_sorted_unique_and_say_something() {
        for pair in HELP.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        for (name, kind, help) in HELP {
            assert!(name.starts_with("tradeengine_"), "{name}");
            assert!(help.len() > 20, "{name}: help too short");
            if *kind == Kind::Counter {
                assert!(
                    name.ends_with("_total"),
                    "counter {name} must end in _total"
                );
            }
        }
        assert!(help_of("tradeengine_orders_total").is_some());
        assert!(help_of("tradeengine_nothing").is_none());
    }
}
