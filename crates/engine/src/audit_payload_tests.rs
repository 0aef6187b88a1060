#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Each payload kind against the JSON its call site built by hand before the enum (the
//! `serde_json::json!` expressions below are those call sites' own, with the same inputs), and
//! a trail written in that shape that still verifies with typed events after it.

use std::collections::BTreeMap;

use rust_decimal_macros::dec;
use tradeengine_model::{AccountName, Clock, ManualClock};
use tradeengine_store::audit::canonical_json;

use super::*;
use crate::kill_records::{KillAction, new_switch};
use crate::summary::AccountSummary;

fn at() -> Timestamp {
    chrono::DateTime::from_timestamp_millis(1_790_000_000_000).unwrap()
}

fn config() -> crate::config::Config {
    crate::config::load_str(
        "[[accounts]]\nname = \"paper\"\nvenue = \"paper\"\n[sources.ops]\ntype = \"rest\"\n\
         [[symbols]]\nsymbol = \"BTCUSDT\"\nweights = { ops = 1.0 }\n",
        None,
        &[],
        &crate::config::Overrides::default(),
    )
    .unwrap()
}

/// Every kind, typed and as its call site wrote it before: `(name, typed, former)`.
// One long table: a case per payload kind, each read next to the JSON it must equal.
fn cases() -> Vec<(&'static str, serde_json::Value, serde_json::Value)> {
    let clock = ManualClock::new(at());
    let name = AccountName::new("paper").unwrap();
    let switch = new_switch(
        KillAction::Flatten,
        Some(vec![name.clone()]),
        "test",
        &clock,
    );
    let hold = ReleaseHold {
        at: clock.now(),
        accounts: None,
    };
    let summary = SessionSummary {
        started_at: at(),
        stopped_at: at(),
        accounts: BTreeMap::from([(name.clone(), AccountSummary::default())]),
        unsettled_orders: 2,
    };
    let choice = StopChoice::Fixed {
        stop_loss: Some(dec!(0.02)),
        take_profit: None,
    };
    let source = SourceId::new("ops").unwrap();
    let signal = SignalId::new("s-1").unwrap();
    let plan = PlanId::new("p-1").unwrap();
    let order = ClientOrderId::new("te-p-1-0").unwrap();
    let figures = LossFigures::default();
    let restart = vec!["engine.mode".to_string()];
    let config = config();
    let accounts: Vec<&String> = config.accounts.iter().map(|a| &a.name).collect();
    let json = |p: AuditPayload<'_>| p.to_json().unwrap();
    vec![
        (
            "engine_started",
            json(AuditPayload::EngineStarted {
                boot: 7,
                mode: config.engine.mode.as_str(),
                accounts: config.accounts.iter().map(|a| a.name.as_str()).collect(),
                sleeves_restored: 3,
            }),
            serde_json::json!({
                "boot": 7_u64,
                "mode": config.engine.mode.as_str(),
                "accounts": accounts,
                "sleeves_restored": 3_usize,
            }),
        ),
        (
            "engine_stopped",
            json(AuditPayload::EngineStopped(&summary)),
            serde_json::to_value(&summary).unwrap_or_default(),
        ),
        (
            "default_stops",
            json(AuditPayload::DefaultStops {
                source: &source,
                signal: &signal,
                default_stops: &choice,
            }),
            serde_json::json!({"source": source, "signal": signal, "default_stops": choice}),
        ),
        (
            "kill_engaged",
            json(AuditPayload::KillEngaged { engaged: &switch }),
            serde_json::json!({"engaged": switch}),
        ),
        (
            "kill_released",
            json(AuditPayload::KillReleased {
                released: Some(&switch),
                by: "api",
            }),
            serde_json::json!({"released": Some(&switch), "by": "api"}),
        ),
        (
            "kill_released_nothing",
            json(AuditPayload::KillReleased {
                released: None,
                by: "cli",
            }),
            serde_json::json!({"released": None::<KillSwitch>, "by": "cli"}),
        ),
        (
            "release_into_hold",
            json(AuditPayload::ReleaseIntoHold {
                release_into_hold: &hold,
            }),
            serde_json::json!({"release_into_hold": hold}),
        ),
        (
            "risk_state_changed",
            json(AuditPayload::RiskStateChanged {
                from: PortfolioState::Active,
                to: PortfolioState::Reducing,
                rule: RiskRule::DailyLossLimit,
                detail: "down 3%",
                equity: dec!(970.5),
                figures,
            }),
            serde_json::json!({
                "from": PortfolioState::Active, "to": PortfolioState::Reducing,
                "rule": RiskRule::DailyLossLimit, "detail": "down 3%",
                "equity": dec!(970.5), "figures": figures,
            }),
        ),
        (
            "risk_reset",
            json(AuditPayload::RiskReset {
                reset: true,
                by: "operator",
                from: PortfolioState::Halted,
                to: PortfolioState::Active,
                rule: Some(RiskRule::MaxDrawdown),
                detail: None,
            }),
            serde_json::json!({
                "reset": true, "by": "operator", "from": PortfolioState::Halted,
                "to": PortfolioState::Active, "rule": Some(RiskRule::MaxDrawdown),
                "detail": None::<String>,
            }),
        ),
        (
            "risk_refused",
            json(AuditPayload::RiskRefused {
                rule: RiskRule::MaxOrderNotional,
                detail: "notional 900 > 500",
                plan: &plan,
                client_order_id: &order,
                side: Side::Buy,
                qty: dec!(0.015),
                reduce_only: false,
            }),
            serde_json::json!({
                "rule": RiskRule::MaxOrderNotional, "detail": "notional 900 > 500", "plan": plan,
                "client_order_id": order, "side": Side::Buy,
                "qty": dec!(0.015), "reduce_only": false,
            }),
        ),
        (
            "unknown_position_decided",
            json(AuditPayload::UnknownPositionDecided {
                unknown_position: "adopt",
                by: "cli",
            }),
            serde_json::json!({"unknown_position": "adopt", "by": "cli"}),
        ),
        (
            "unknown_position_held",
            json(AuditPayload::UnknownPositionHeld {
                unknown_position: "held",
                size: dec!(-0.5),
            }),
            serde_json::json!({"unknown_position": "held", "size": dec!(-0.5)}),
        ),
        (
            "venue_rejected",
            json(AuditPayload::VenueRejected {
                reason: "insufficient margin",
                target: dec!(1.25),
                leverage: dec!(3),
                first_retry_secs: 1,
            }),
            serde_json::json!({
                "reason": "insufficient margin", "target": dec!(1.25), "leverage": dec!(3),
                "first_retry_secs": 1_u64,
            }),
        ),
        (
            "audit_chain_broken",
            json(AuditPayload::AuditChainBroken {
                reason: "head moved",
            }),
            serde_json::json!({ "reason": "head moved" }),
        ),
        (
            "config_changed_applied",
            json(AuditPayload::ConfigChanged {
                file: "/etc/te.toml".into(),
                needs_restart: &restart,
                applied: true,
                config: Some(&config),
            }),
            {
                let mut payload = serde_json::json!({
                    "file": "/etc/te.toml", "needs_restart": restart, "applied": true,
                });
                payload["config"] = serde_json::json!(config);
                payload
            },
        ),
        (
            "config_changed_restart_only",
            json(AuditPayload::ConfigChanged {
                file: "/etc/te.toml".into(),
                needs_restart: &restart,
                applied: false,
                config: None,
            }),
            serde_json::json!({"file": "/etc/te.toml", "needs_restart": restart, "applied": false}),
        ),
    ]
}

#[test]
fn every_kind_serialises_byte_identical_to_its_former_json() {
    for (name, typed, former) in cases() {
        assert_eq!(
            canonical_json(&typed),
            canonical_json(&former),
            "{name}: the typed payload must chain exactly as before"
        );
    }
}

#[test]
fn each_payload_is_filed_under_its_former_kind() {
    let clock = ManualClock::new(at());
    let switch = new_switch(KillAction::Freeze, None, "t", &clock);
    assert_eq!(
        AuditPayload::KillEngaged { engaged: &switch }.kind(),
        AuditKind::KillSwitch
    );
    assert_eq!(
        AuditPayload::UnknownPositionHeld {
            unknown_position: "held",
            size: dec!(1)
        }
        .kind(),
        AuditKind::Reconciled
    );
    assert_eq!(
        AuditPayload::RiskReset {
            reset: true,
            by: "x",
            from: PortfolioState::Halted,
            to: PortfolioState::Active,
            rule: None,
            detail: None,
        }
        .kind(),
        AuditKind::RiskStateChanged
    );
    assert_eq!(
        AuditPayload::AuditChainBroken { reason: "x" }.kind(),
        AuditKind::AuditChainBroken
    );
}

/// A trail written as before (the recorded payloads in `testdata/audit_payloads.json`, in the
/// shape the hand-built JSON had) followed by the same payloads written typed: the whole chain
/// verifies, and each typed event's stored payload equals the recorded one.
#[tokio::test]
async fn a_trail_written_before_still_verifies_with_typed_events_after_it() {
    // The whole configuration is left out of the recording: its shape is the configuration
    // schema's, not the audit's (the byte-identity test above covers that case).
    let typed: Vec<_> = cases()
        .into_iter()
        .filter(|(name, _, _)| *name != "config_changed_applied")
        .collect();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/audit_payloads.json");
    if std::env::var_os("TRADEENGINE_RECORD_AUDIT_PAYLOADS").is_some() {
        // Records the former hand-built JSON (run once, before the payloads were typed).
        let former: Vec<(&str, &serde_json::Value)> =
            typed.iter().map(|(n, _, f)| (*n, f)).collect();
        std::fs::write(path, serde_json::to_string_pretty(&former).unwrap()).unwrap();
    }
    let recorded: Vec<(String, serde_json::Value)> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    assert_eq!(recorded.len(), typed.len(), "one recorded payload per case");
    for (name, payload) in &recorded {
        store
            .audit(
                AuditKind::ConfigChanged,
                None,
                Some(name),
                payload.clone(),
                at(),
            )
            .await
            .unwrap();
    }
    for ((name, payload, _), (recorded_name, recorded_payload)) in typed.iter().zip(&recorded) {
        assert_eq!(name, recorded_name);
        assert_eq!(
            canonical_json(payload),
            canonical_json(recorded_payload),
            "{name}: differs from the recorded payload"
        );
        store
            .audit(
                AuditKind::ConfigChanged,
                None,
                Some(name),
                payload.clone(),
                at(),
            )
            .await
            .unwrap();
    }
    let verified = store.verify_audit().await.unwrap();
    assert!(verified.is_ok(), "{verified:?}");
}
