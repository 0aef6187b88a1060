#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! The Grafana dashboard in `deploy/` queries only metrics the code records: every
//! `tradeengine_*` name in its expressions (histogram suffixes stripped) is a name recorded in
//! `/metrics`' scrape-time gauges or in the engine's telemetry. A renamed metric breaks this
//! test rather than an operator's dashboard, silently.

const DASHBOARD: &str = include_str!("../../../deploy/grafana-dashboard.json");
const RECORDED: [&str; 2] = [
    include_str!("../src/metrics.rs"),
    include_str!("../../engine/src/telemetry.rs"),
];

fn names_in(text: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("tradeengine_") {
        let tail = &rest[at..];
        let len = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        out.insert(tail[..len].to_string());
        rest = &tail[len..];
    }
    out
}

#[test]
fn every_dashboard_query_names_a_recorded_metric() {
    let dashboard: serde_json::Value = serde_json::from_str(DASHBOARD).unwrap();
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            exprs.push(target["expr"].as_str().unwrap().to_string());
        }
    }
    assert!(exprs.len() >= 15, "{} queries", exprs.len());
    let recorded: std::collections::BTreeSet<String> =
        RECORDED.iter().flat_map(|t| names_in(t)).collect();
    let mut queried = std::collections::BTreeSet::new();
    for e in &exprs {
        for name in names_in(e) {
            let base = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(&name)
                .to_string();
            assert!(
                recorded.contains(&base),
                "{base} (in {e:?}) is not recorded anywhere"
            );
            queried.insert(base);
        }
    }
    // The list: each has a panel.
    for wanted in [
        "tradeengine_signal_lag_seconds",
        "tradeengine_signals_total",
        "tradeengine_signals_refused_total",
        "tradeengine_target_drift",
        "tradeengine_order_round_trip_seconds",
        "tradeengine_orders_total",
        "tradeengine_cycles_total",
        "tradeengine_account_equity",
        "tradeengine_account_unrealised_pnl",
        "tradeengine_account_pnl_today",
        "tradeengine_account_risk_state",
        "tradeengine_kill_switch_engaged",
    ] {
        assert!(queried.contains(wanted), "no panel shows {wanted}");
    }
}
