//! The engine's live events as notifications: which audit events a trader hears about, and
//! in which words' worth of fields. Everything else in the chain (signals accepted, targets,
//! plans, order states) is for the dashboard, not the phone.

use serde_json::Value;
use tradeengine_model::Fill;
use tradeengine_notify::Event;

use crate::state::live::LiveEvent;

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| match x {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    })
}

/// The notification a live event makes, if any.
pub fn notice_of(event: &LiveEvent) -> Option<Event> {
    match event {
        LiveEvent::Audit {
            kind,
            account,
            at,
            payload,
            ..
        } => audit_notice(kind, account.as_deref(), *at, payload),
        LiveEvent::Freshness {
            source,
            stale,
            stale_since,
            last_error,
            at,
        } => Some(if *stale {
            Event::SourceStale {
                source: source.clone(),
                since: stale_since.unwrap_or(*at),
                error: last_error.clone(),
            }
        } else {
            Event::SourceFresh {
                source: source.clone(),
                at: *at,
            }
        }),
        LiveEvent::AccountError { account, error, at } => {
            error.as_ref().map(|e| Event::ReconcileFailed {
                account: account.clone(),
                detail: e.clone(),
                at: *at,
            })
        }
        LiveEvent::Prices { .. } => None,
    }
}

fn audit_notice(
    kind: &str,
    account: Option<&str>,
    at: tradeengine_model::Timestamp,
    p: &Value,
) -> Option<Event> {
    let account = account.unwrap_or("-").to_string();
    match kind {
        "fill" => {
            // The store audits a fill as the `Fill` itself.
            let fill: Fill = serde_json::from_value(p.clone()).ok()?;
            Some(Event::Fill {
                account,
                symbol: fill.symbol.to_string(),
                side: fill.side.as_str().to_string(),
                qty: fill.qty,
                price: fill.price.get(),
                fee: Some(fill.fee),
                at: fill.filled_at,
            })
        }
        "signal_refused" => Some(Event::SignalRefused {
            source: text(p, "source").unwrap_or_else(|| "?".into()),
            reason: text(p, "reason").unwrap_or_else(|| "refused".into()),
            at,
        }),
        "kill_switch" => {
            if let Some(s) = p.get("engaged") {
                let scope = match s.get("accounts") {
                    Some(Value::Array(a)) => a
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", "),
                    _ => "all accounts".into(),
                };
                Some(Event::KillSwitch {
                    action: text(s, "action").unwrap_or_else(|| "freeze".into()),
                    scope,
                    by: text(s, "reason").unwrap_or_default(),
                    at,
                })
            } else if p.get("released").is_some() {
                Some(Event::KillSwitch {
                    action: "released".into(),
                    scope: "all accounts".into(),
                    by: text(p, "by").unwrap_or_default(),
                    at,
                })
            } else {
                None
            }
        }
        "risk_state_changed" => Some(Event::RiskState {
            account,
            from: text(p, "from").unwrap_or_default(),
            to: text(p, "to").unwrap_or_default(),
            detail: match text(p, "by") {
                Some(by) => format!("reset by {by}"),
                None => text(p, "detail").unwrap_or_default(),
            },
            at,
        }),
        "reconciled" if p.get("moved_outside").is_some() => Some(Event::ReconcileFailed {
            account,
            detail: format!(
                "position moved outside this engine: read {}, expected {}",
                text(p, "read").unwrap_or_default(),
                text(p, "expected").unwrap_or_default()
            ),
            at,
        }),
        "audit_chain_broken" => Some(Event::ReconcileFailed {
            account,
            detail: format!(
                "audit chain broken: {}",
                text(p, "reason").unwrap_or_default()
            ),
            at,
        }),
        "engine_started" => Some(Event::EngineStarted {
            mode: text(p, "mode").unwrap_or_default(),
            accounts: p
                .get("accounts")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            at,
        }),
        "engine_stopped" => Some(Event::EngineStopped {
            detail: "session ended".into(),
            at,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn audit(kind: &str, account: Option<&str>, payload: Value) -> LiveEvent {
        LiveEvent::Audit {
            seq: 7,
            kind: kind.into(),
            account: account.map(String::from),
            symbol: None,
            at: chrono::Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap(),
            payload,
        }
    }

    #[test]
    fn a_stored_fill_becomes_a_fill_notice_with_exact_decimals() {
        let e = audit(
            "fill",
            Some("main"),
            json!({"client_order_id": "te-1", "venue_order_id": null,
                "symbol": "BTCUSDT", "side": "buy", "qty": "0.0105", "price": "64000.5",
                "fee": "0.27", "filled_at": "2025-01-02T03:04:05Z"}),
        );
        let Some(Event::Fill {
            qty,
            price,
            fee,
            account,
            ..
        }) = notice_of(&e)
        else {
            panic!("not a fill: {:?}", notice_of(&e));
        };
        assert_eq!(account, "main");
        assert_eq!(qty.to_string(), "0.0105");
        assert_eq!(price.to_string(), "64000.5");
        assert_eq!(fee.map(|f| f.to_string()).as_deref(), Some("0.27"));
    }

    #[test]
    fn kill_switch_engaged_and_released() {
        let on = audit(
            "kill_switch",
            None,
            json!({"engaged": {"action": "flatten", "accounts": null, "reason": "telegram:1",
                "engaged_at": "2025-01-02T03:04:05Z"}}),
        );
        assert!(
            matches!(notice_of(&on), Some(Event::KillSwitch { ref action, .. }) if action == "flatten")
        );
        let off = audit("kill_switch", None, json!({"released": null, "by": "api"}));
        assert!(
            matches!(notice_of(&off), Some(Event::KillSwitch { ref action, ref by, .. }) if action == "released" && by == "api")
        );
    }

    #[test]
    fn the_dashboard_only_events_say_nothing() {
        assert_eq!(notice_of(&audit("signal_accepted", None, json!({}))), None);
        assert_eq!(
            notice_of(&audit("plan_created", Some("a"), json!({}))),
            None
        );
        assert_eq!(
            notice_of(&audit(
                "reconciled",
                Some("a"),
                json!({"unknown_position": "held"})
            )),
            None
        );
    }
}
