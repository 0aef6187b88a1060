//! Faults named in words, for a person rehearsing an incident against a running simulator
//! (`tradeengine venue-sim VENUE --fault SPEC`, or `POST /__sim/faults` while it runs).
//!
//! A spec is `TARGET:KIND[:PARAM][:times=N]`:
//!
//! | part | values |
//! |---|---|
//! | `TARGET` | `order` (the venue's order-entry path; on Binance the same path also serves order look-ups and cancels), `positions` (the position read), `*` (every path), or a literal path such as `/v5/market/time` |
//! | `KIND` | `status:CODE` (answer CODE, do nothing), `status-after-accept:CODE` (do the request, then answer CODE), `timeout-after-accept[:MS]` (do it, answer after MS, default 30000), `drop-after-accept`, `drop-before-accept`, `delay:MS`, `rate-limit[:MS]` (the venue's own 429 answer, retry after MS, default 1000), `reject` (refuse the order by the venue's rules) |
//! | `times=N` | how many matching requests it hits (default 1); `times=always` keeps it until cleared |
//!
//! Examples: `order:status-after-accept:503:times=3`, `order:timeout-after-accept`,
//! `*:status:502`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::Shared;
use crate::control::Fault;
use tradeengine_model::VenueId;

/// One parsed spec: which path, how many times, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSpec {
    /// The request path it matches (`*` for every path).
    pub path: String,
    pub times: u32,
    pub fault: Fault,
}

/// `times=always`: the fault stays until cleared.
pub const ALWAYS: u32 = u32::MAX;

/// Order-entry path of a venue (where order faults go).
pub fn order_path(venue: VenueId) -> &'static str {
    match venue {
        VenueId::Bybit => "/v5/order/create",
        // Order look-ups share this path: order faults hit order entry (POST) only.
        VenueId::Binance => "POST /fapi/v1/order",
        VenueId::Blofin => "/api/v1/trade/order",
        VenueId::Kucoin => "/api/v1/orders",
        VenueId::Mexc => "/api/v1/private/order/submit",
        // Every action (orders, cancels, leverage) is a POST to /exchange.
        VenueId::Hyperliquid => "/exchange",
    }
}

/// Position-read path of a venue.
pub fn positions_path(venue: VenueId) -> &'static str {
    match venue {
        VenueId::Bybit => "/v5/position/list",
        VenueId::Binance => "/fapi/v3/positionRisk",
        VenueId::Blofin => "/api/v1/account/positions",
        VenueId::Kucoin => "/api/v1/positions",
        VenueId::Mexc => "/api/v1/private/position/open_positions",
        // Every read is a POST to /info.
        VenueId::Hyperliquid => "/info",
    }
}

/// Why a spec was refused, in words that say what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "fault {spec:?}: {reason} (format TARGET:KIND[:PARAM][:times=N], e.g. order:status-after-accept:503:times=3)"
)]
pub struct SpecError {
    pub spec: String,
    pub reason: String,
}

impl FaultSpec {
    /// Parses one spec for a simulator of `venue`.
    pub fn parse(venue: VenueId, spec: &str) -> Result<Self, SpecError> {
        let fail = |reason: String| SpecError {
            spec: spec.chars().take(200).collect(),
            reason,
        };
        let mut parts: Vec<&str> = spec.trim().split(':').collect();
        let times = take_times(&mut parts).map_err(fail)?;
        let [target, kind, rest @ ..] = parts.as_slice() else {
            return Err(fail("needs a target and a kind".into()));
        };
        let path = target_path(venue, target).map_err(fail)?;
        let param = match rest {
            [] => None,
            [p] => Some(*p),
            _ => return Err(fail("too many parts".into())),
        };
        let number = |what: &str| -> Result<u64, SpecError> {
            let p = param.ok_or_else(|| fail(format!("{kind} needs {what}")))?;
            p.parse::<u64>()
                .map_err(|_| fail(format!("{what} {p:?} is not a whole number")))
        };
        let ms_or = |default: u64| -> Result<Duration, SpecError> {
            match param {
                None => Ok(Duration::from_millis(default)),
                Some(_) => number("milliseconds").map(Duration::from_millis),
            }
        };
        let status = || -> Result<u16, SpecError> {
            let code = number("an HTTP status")?;
            u16::try_from(code)
                .ok()
                .filter(|c| (500..=599).contains(c))
                .ok_or_else(|| fail(format!("status {code}: a 5xx (500–599)")))
        };
        let no_param = |f: Fault| -> Result<Fault, SpecError> {
            match param {
                None => Ok(f),
                Some(p) => Err(fail(format!("{kind} takes no parameter (got {p:?})"))),
            }
        };
        let fault = match *kind {
            "status" => Fault::Status(status()?),
            "status-after-accept" => Fault::StatusAfterAccept(status()?),
            "timeout-after-accept" => Fault::TimeoutAfterAccept {
                hold: ms_or(30_000)?,
            },
            "drop-after-accept" => no_param(Fault::DropAfterAccept)?,
            "drop-before-accept" => no_param(Fault::DropBeforeAccept)?,
            "delay" => Fault::Delay(Duration::from_millis(number("milliseconds")?)),
            "rate-limit" => Fault::RateLimit {
                retry_after: ms_or(1_000)?,
            },
            "reject" => no_param(Fault::Reject)?,
            other => {
                return Err(fail(format!(
                    "kind {other:?}: status, status-after-accept, timeout-after-accept, \
                     drop-after-accept, drop-before-accept, delay, rate-limit or reject"
                )));
            }
        };
        Ok(Self { path, times, fault })
    }

    /// One line for the operator: what will happen.
    pub fn describe(&self) -> String {
        let times = if self.times == ALWAYS {
            "until cleared".to_string()
        } else {
            format!("next {} request(s)", self.times)
        };
        format!("{:?} on {} ({times})", self.fault, self.path)
    }
}

/// Prefix of the simulator's own control paths: never counted, delayed or faulted.
pub const CONTROL_PREFIX: &str = "/__sim/";

/// `POST /__sim/faults` (body: one spec per line) injects; `GET` shows how many fault hits are
/// pending; `DELETE` clears every fault. `GET /__sim/state` shows what the venue holds, so a
/// rehearsal can check the engine's account against the venue's own book. The simulator listens
/// on loopback only, like the rest of it: this is a rehearsal tool, not something to expose.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/__sim/faults", get(pending).post(inject).delete(clear))
        .route("/__sim/state", get(state))
        .with_state(shared)
}

/// How many of the newest orders `GET /__sim/state` lists.
const STATE_ORDERS: usize = 100;

/// The venue's book as the engine's counterpart sees it: wallet, equity, prices, every
/// non-flat position (base units) and the newest orders (newest first).
async fn state(State(shared): State<Arc<Shared>>) -> Response {
    let ex = shared.exchange();
    let positions: serde_json::Map<String, serde_json::Value> = ex
        .positions()
        .iter()
        .filter(|(_, p)| !p.size.is_zero())
        .map(|(s, p)| {
            (
                s.clone(),
                json!({ "size": p.size.to_string(), "entry_price": p.entry.to_string() }),
            )
        })
        .collect();
    let orders: Vec<serde_json::Value> = ex
        .orders()
        .iter()
        .rev()
        .take(STATE_ORDERS)
        .map(|o| {
            json!({
                "client_id": o.client_id,
                "order_id": o.order_id,
                "symbol": o.symbol,
                "side": format!("{:?}", o.side).to_lowercase(),
                "type": format!("{:?}", o.order_type).to_lowercase(),
                "qty": o.qty.to_string(),
                "filled": o.filled.to_string(),
                "avg_price": o.avg_price.map(|p| p.to_string()),
                "reduce_only": o.reduce_only,
                "status": format!("{:?}", o.status).to_lowercase(),
                "updated_ms": o.updated_ms,
            })
        })
        .collect();
    let prices: serde_json::Map<String, serde_json::Value> = ex
        .prices()
        .iter()
        .map(|(s, p)| (s.clone(), json!(p.to_string())))
        .collect();
    Json(json!({
        "venue": format!("{:?}", shared.venue).to_lowercase(),
        "wallet": ex.wallet().to_string(),
        "equity": ex.equity().to_string(),
        "prices": prices,
        "positions": positions,
        "orders_total": ex.orders().len(),
        "orders": orders,
    }))
    .into_response()
}

async fn pending(State(shared): State<Arc<Shared>>) -> Response {
    Json(json!({ "pending": shared.faults.pending() })).into_response()
}

async fn clear(State(shared): State<Arc<Shared>>) -> Response {
    shared.faults.clear();
    Json(json!({ "pending": 0 })).into_response()
}

/// All specs are checked before any is injected: a typo injects nothing.
async fn inject(State(shared): State<Arc<Shared>>, body: String) -> Response {
    let parsed: Result<Vec<FaultSpec>, SpecError> = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| FaultSpec::parse(shared.venue, l))
        .collect();
    match parsed {
        Ok(specs) if specs.is_empty() => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "no fault spec in the body (one per line)" })),
        )
            .into_response(),
        Ok(specs) => {
            let injected: Vec<String> = specs.iter().map(FaultSpec::describe).collect();
            for s in specs {
                tracing::warn!(fault = %s.describe(), "simulator fault injected");
                shared.faults.inject(&s.path, s.times, s.fault);
            }
            Json(json!({ "injected": injected, "pending": shared.faults.pending() }))
                .into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}

/// The trailing `times=N` (or `times=always`) among a fault's parts, removed; 1 when absent.
fn take_times(parts: &mut Vec<&str>) -> Result<u32, String> {
    let Some(n) = parts.last().and_then(|last| last.strip_prefix("times=")) else {
        return Ok(1);
    };
    let times = match n {
        "always" => ALWAYS,
        n => n
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("times={n}: a whole number ≥ 1, or always"))?,
    };
    parts.pop();
    Ok(times)
}

/// The request path a fault's target names: `order` and `positions` are the venue's own paths.
fn target_path(venue: VenueId, target: &str) -> Result<String, String> {
    Ok(match target {
        "order" => order_path(venue).to_string(),
        "positions" => positions_path(venue).to_string(),
        "*" => "*".to_string(),
        p if p.starts_with('/') && p.len() > 1 && p.is_ascii() => p.to_string(),
        other => {
            return Err(format!(
                "target {other:?}: order, positions, * or a path starting with /"
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_to_the_fault_they_name() {
        let p = |s: &str| FaultSpec::parse(VenueId::Bybit, s).unwrap();
        assert_eq!(
            p("order:status-after-accept:503:times=3"),
            FaultSpec {
                path: "/v5/order/create".into(),
                times: 3,
                fault: Fault::StatusAfterAccept(503)
            }
        );
        assert_eq!(
            p("order:timeout-after-accept"),
            FaultSpec {
                path: "/v5/order/create".into(),
                times: 1,
                fault: Fault::TimeoutAfterAccept {
                    hold: Duration::from_secs(30)
                }
            }
        );
        assert_eq!(
            p("*:status:502:times=always"),
            FaultSpec {
                path: "*".into(),
                times: ALWAYS,
                fault: Fault::Status(502)
            }
        );
        assert_eq!(
            p("positions:delay:250").fault,
            Fault::Delay(Duration::from_millis(250))
        );
        assert_eq!(
            p("/v5/market/time:drop-before-accept").path,
            "/v5/market/time"
        );
        assert_eq!(
            FaultSpec::parse(VenueId::Kucoin, "order:reject")
                .unwrap()
                .path,
            "/api/v1/orders"
        );
    }

    #[test]
    fn a_bad_spec_says_what_is_wrong() {
        let e = |s: &str| FaultSpec::parse(VenueId::Binance, s).unwrap_err().reason;
        assert!(e("order:status:200").contains("5xx"));
        assert!(e("order:status").contains("needs"));
        assert!(e("order:explode").contains("kind"));
        assert!(e("orders:status:503").contains("target"));
        assert!(e("order:status:503:times=0").contains("times"));
        assert!(e("order:drop-after-accept:5").contains("no parameter"));
        assert!(e("order").contains("target and a kind"));
    }
}
