//! `GET /api/v1/history`: what the dashboard's symbol charts and risk table draw before the live
//! events extend them, read from the store so a page opened now shows the hours before it.
//!
//! - target and each source's desired position (base units): the stored plan events of P&L
//!   attribution (one per plan whose contributions changed, see `tradeengine_engine::pnl`);
//! - actual position: the account's books replayed over its fills ([`super::books`]);
//! - blended depth: the `target_changed` audit events;
//! - risk state changes: the `risk_state_changed` audit events.
//!
//! The audit trail is read forward from at most [`MAX_SCAN`] events before its head: it has no
//! index by time, and a page must open in a bounded time however long the engine has run.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use chrono::TimeDelta;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tradeengine_core::attribution::Event;
use tradeengine_engine::pnl::{self, Books, Input};
use tradeengine_model::{AccountName, Symbol, Timestamp};
use tradeengine_store::AuditKind;
use utoipa::{IntoParams, ToSchema};

use super::pnl::api_error;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::Query;

/// Audit events read back from the head at most.
pub const MAX_SCAN: i64 = 50_000;
/// Audit events per store call.
const PAGE: i64 = 5_000;
const DEFAULT_HOURS: i64 = 24;
const MAX_HOURS: i64 = 24 * 31;
/// Most points per series (the newest are kept).
pub const MAX_POINTS: usize = 5_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// The account.
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    account: String,
    /// The symbol (upper or lower case).
    #[param(pattern = "^[A-Za-z0-9]{2,40}$")]
    symbol: String,
    /// Hours of history, 1 to 744 (default 24).
    #[param(minimum = 1, maximum = 744)]
    hours: Option<i64>,
}

/// A quantity at a time, base units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct QtyPoint {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    #[schema(value_type = String)]
    pub qty: Decimal,
}

/// A blended depth decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DepthPoint {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// Signed fraction of account value, as the audit event stored it.
    pub depth: String,
    /// The target in base units it gave.
    pub quantity: String,
}

/// A change of the account's portfolio risk state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RiskPoint {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub from: String,
    pub to: String,
    /// The rule and detail, or who reset it.
    pub why: String,
}

/// The answer. A series starting before `since` begins with its value at `since`, so a step
/// line is drawn from the window's left edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SymbolHistory {
    pub account: String,
    pub symbol: String,
    #[schema(value_type = String, format = DateTime)]
    pub since: Timestamp,
    pub target: Vec<QtyPoint>,
    pub actual: Vec<QtyPoint>,
    /// Source id → its desired virtual position over time.
    pub sources: BTreeMap<String, Vec<QtyPoint>>,
    pub depth: Vec<DepthPoint>,
    /// Of the account, oldest first.
    pub risk: Vec<RiskPoint>,
    /// The first audit seq read: depth and risk changes before it are not shown.
    pub audit_from_seq: i64,
}

/// A series being built: points from `since` on, with the value just before `since` carried
/// to it.
#[derive(Debug, Default)]
struct Series {
    before: Option<Decimal>,
    points: Vec<QtyPoint>,
}

impl Series {
    fn push(&mut self, since: Timestamp, at: Timestamp, qty: Decimal) {
        if at < since {
            self.before = Some(qty);
            return;
        }
        if self.points.is_empty()
            && let Some(b) = self.before
            && at > since
        {
            self.points.push(QtyPoint { at: since, qty: b });
        }
        if self.points.last().is_some_and(|p| p.qty == qty) {
            return;
        }
        self.points.push(QtyPoint { at, qty });
    }

    fn finish(mut self, since: Timestamp) -> Vec<QtyPoint> {
        if self.points.is_empty()
            && let Some(b) = self.before
        {
            self.points.push(QtyPoint { at: since, qty: b });
        }
        let skip = self.points.len().saturating_sub(MAX_POINTS);
        self.points.split_off(skip)
    }
}

/// Target, actual, and each source's desired position.
type Positions = (
    Vec<QtyPoint>,
    Vec<QtyPoint>,
    BTreeMap<String, Vec<QtyPoint>>,
);

/// Target, sources and actual position of `account` in `symbol` from the replayed inputs.
pub(crate) fn positions(
    inputs: &[Input],
    account: &AccountName,
    symbol: &Symbol,
    since: Timestamp,
) -> Result<Positions, ApiError> {
    let mut books = Books::default();
    let mut target = Series::default();
    let mut actual = Series::default();
    let mut sources: BTreeMap<String, Series> = BTreeMap::new();
    for input in inputs {
        if input.account() != account || input.symbol() != Some(symbol) {
            continue;
        }
        books.apply(input).map_err(api_error)?;
        let at = input.at();
        if let Input::Plan {
            event: Event::Rebalance {
                desired, target: t, ..
            },
            ..
        } = input
        {
            target.push(since, at, *t);
            // A source with a sleeve and absent here desires zero (see `Event::Rebalance`).
            for (name, s) in &mut sources {
                if !desired.keys().any(|k| k.as_str() == name) {
                    s.push(since, at, Decimal::ZERO);
                }
            }
            for (source, qty) in desired {
                sources
                    .entry(source.to_string())
                    .or_default()
                    .push(since, at, *qty);
            }
        }
        if let Some(book) = books.ledger.book(account, symbol) {
            actual.push(since, at, book.account().qty);
        }
    }
    Ok((
        target.finish(since),
        actual.finish(since),
        sources
            .into_iter()
            .map(|(k, s)| (k, s.finish(since)))
            .collect(),
    ))
}

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => String::new(),
        Some(other) => other.to_string(),
    }
}

/// Depth decisions and risk changes from the audit trail's newest [`MAX_SCAN`] events.
async fn from_audit(
    app: &AppState,
    account: &AccountName,
    symbol: &Symbol,
    since: Timestamp,
) -> Result<(Vec<DepthPoint>, Vec<RiskPoint>, i64), ApiError> {
    let head = tradeengine_engine::sources::events::chain_head(&*app.store).await?;
    let mut after = (head - MAX_SCAN).max(0);
    let from = after + 1;
    let (mut depth, mut risk) = (Vec::new(), Vec::new());
    loop {
        let page = app.store.audit_events(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            if e.at < since || e.account.as_deref() != Some(account.as_str()) {
                continue;
            }
            match e.kind {
                AuditKind::TargetChanged if e.symbol.as_deref() == Some(symbol.as_str()) => {
                    depth.push(DepthPoint {
                        at: e.at,
                        depth: text(&e.payload, "depth"),
                        quantity: text(&e.payload, "quantity"),
                    });
                }
                AuditKind::RiskStateChanged => {
                    let p = &e.payload;
                    let why = if p.get("by").is_some_and(|b| !b.is_null()) {
                        format!("reset by {}", text(p, "by"))
                    } else {
                        [text(p, "rule"), text(p, "detail")]
                            .into_iter()
                            .filter(|s| !s.is_empty())
                            .collect::<Vec<_>>()
                            .join(": ")
                    };
                    risk.push(RiskPoint {
                        at: e.at,
                        from: text(p, "from"),
                        to: text(p, "to"),
                        why,
                    });
                }
                _ => {}
            }
        }
        if i64::try_from(page.len()).unwrap_or(i64::MAX) < PAGE || after >= head {
            break;
        }
    }
    let skip = depth.len().saturating_sub(MAX_POINTS);
    Ok((depth.split_off(skip), risk, from))
}

/// `GET /api/v1/history?account=&symbol=&hours=`.
#[utoipa::path(get, path = "/api/v1/history", tag = "read",
    security(("bearer" = [])),
    params(HistoryQuery),
    responses(
        (status = 200, description = "An account's history in one symbol from the store: target, actual and each source's desired position (base units, exact decimals as strings), blended depth decisions and the account's risk state changes, oldest first", body = SymbolHistory),
        (status = 400, description = "A missing or bad account, symbol or hours", body = crate::schema::ErrorBody),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
        (status = 500, description = "The store failed, or a stored event cannot be read", body = crate::schema::ErrorBody),
    ))]
pub async fn history(
    State(app): State<AppState>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<SymbolHistory>, ApiError> {
    let account = AccountName::new(&q.account).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let symbol = Symbol::new(&q.symbol).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let hours = q.hours.unwrap_or(DEFAULT_HOURS);
    if !(1..=MAX_HOURS).contains(&hours) {
        return Err(ApiError::BadRequest(format!(
            "hours must be between 1 and {MAX_HOURS}, not {hours}"
        )));
    }
    let since = app.intake.clock().now() - TimeDelta::hours(hours);
    // Positions and sleeves only: prices never move them.
    let inputs = pnl::inputs(&*app.store, Some(&account), pnl::Marks::Skip)
        .await
        .map_err(api_error)?;
    let (target, actual, sources) = positions(&inputs, &account, &symbol, since)?;
    let (depth, risk, audit_from_seq) = from_audit(&app, &account, &symbol, since).await?;
    Ok(Json(SymbolHistory {
        account: account.to_string(),
        symbol: symbol.to_string(),
        since,
        target,
        actual,
        sources,
        depth,
        risk,
        audit_from_seq,
    }))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    #[test]
    fn a_window_starts_with_the_value_at_its_edge_and_repeats_are_dropped() {
        let t = |m: i64| Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + TimeDelta::minutes(m);
        let since = t(10);
        let mut s = Series::default();
        for (m, q) in [(0, 1), (5, 2), (12, 2), (15, 3), (20, 3)] {
            s.push(since, t(m), Decimal::from(q));
        }
        let got: Vec<(Timestamp, Decimal)> =
            s.finish(since).into_iter().map(|p| (p.at, p.qty)).collect();
        assert_eq!(got, [(since, Decimal::from(2)), (t(15), Decimal::from(3))]);
        // Only older values: one point, at the edge.
        let mut old = Series::default();
        old.push(since, t(1), Decimal::from(7));
        let got = old.finish(since);
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].at, got[0].qty), (since, Decimal::from(7)));
        assert!(Series::default().finish(since).is_empty());
    }
}
