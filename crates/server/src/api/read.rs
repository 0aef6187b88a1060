//! Read-only API: what the engine knows now (status, accounts, the blend per symbol) and what it
//! did (signals, orders, fills, equity, audit events), with filters and paging.
//!
//! Numbers are Decimal strings, rounded for reading ([`super::shown`]): prices at the
//! instrument's tick, money at 2 dp, blend figures at 4 dp.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::State;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tradeengine_model::{AccountName, OrderState, Position, Symbol};
use tradeengine_store::OrderFilter;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Query;
use utoipa::IntoParams;

pub(crate) fn account_param(raw: Option<&str>) -> Result<Option<AccountName>, ApiError> {
    raw.map(AccountName::new)
        .transpose()
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

fn limit(raw: Option<i64>, default: i64) -> Result<i64, ApiError> {
    match raw.unwrap_or(default) {
        l if (1..=1000).contains(&l) => Ok(l),
        l => Err(ApiError::BadRequest(format!(
            "limit {l} must be between 1 and 1000"
        ))),
    }
}

fn offset(raw: Option<i64>) -> Result<i64, ApiError> {
    match raw.unwrap_or(0) {
        o if o >= 0 => Ok(o),
        o => Err(ApiError::BadRequest(format!(
            "offset {o} must not be negative"
        ))),
    }
}

/// `GET /api/v1/status`.
#[utoipa::path(get, path = "/api/v1/status", tag = "read",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Mode, kill switch, accounts, sources", body = serde_json::Value),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
    ))]
pub async fn status(State(app): State<AppState>) -> Json<serde_json::Value> {
    let config = app.engine.config();
    let kill = app.engine.kill_state().await;
    let views = app.engine.account_views().await;
    let accounts: BTreeMap<&AccountName, serde_json::Value> = views
        .iter()
        .map(|(n, v)| {
            (
                n,
                serde_json::json!({
                    "value": v.value.map(tradeengine_engine::display::money), "reconciled": v.reconciled, "last_cycle_at": v.last_cycle_at,
                    "last_error": v.last_error, "kill": v.kill, "state": v.state,
                    "risk_state": v.risk.as_ref().map(|r| r.state),
                    "risk_rule": v.risk.as_ref().and_then(|r| r.rule),
                    "orders_risk_refused": v.orders_risk_refused,
                    "mode": v.mode, "trading": v.trading, "connection": v.connection,
                    "unknown_positions": v.unknown_positions, "symbol_errors": v.symbol_errors,
                    "venue_rejections": v.venue_rejections,
                }),
            )
        })
        .collect();
    Json(serde_json::json!({
        "mode": config.engine.mode.as_str(),
        "started_at": app.started_at,
        "kill_switch": kill,
        "accounts": accounts,
        "sources": config.sources.iter().map(|(n, s)| (n.clone(), s.kind.as_str())).collect::<BTreeMap<_, _>>(),
        "source_freshness": app.engine.source_freshness(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    account: Option<String>,
}

/// `GET /api/v1/accounts`: every account's last view.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "read",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Each account's last view, by name (value and risk equities as money at 2 dp, risk loss and drawdown fractions at 6 dp, entry prices at the instrument's tick)", body = serde_json::Value),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
    ))]
pub async fn accounts(State(app): State<AppState>) -> Json<serde_json::Value> {
    let ticks = app.engine.ticks().await;
    let views: BTreeMap<AccountName, tradeengine_engine::state::AccountView> = app
        .engine
        .account_views()
        .await
        .iter()
        .map(|(n, v)| (n.clone(), super::shown::account(&ticks, v)))
        .collect();
    Json(serde_json::to_value(views).unwrap_or_default())
}

/// One account's position in one symbol, with the engine's target beside it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PositionRow {
    #[schema(value_type = String)]
    account: AccountName,
    #[schema(value_type = String)]
    symbol: Symbol,
    /// Signed size in base units as last read from the venue (0 when flat).
    #[schema(value_type = String)]
    size: Decimal,
    /// Average entry price, at the instrument's tick.
    #[schema(value_type = Option<String>)]
    entry_price: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    leverage: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    margin_mode: Option<tradeengine_model::MarginMode>,
    /// The engine's target in base units, when it has decided one.
    #[schema(value_type = Option<String>)]
    target: Option<Decimal>,
    /// target − size, base units.
    #[schema(value_type = Option<String>)]
    drift: Option<Decimal>,
}

/// `GET /api/v1/positions[?account=]`: target vs actual; a symbol with a target but no position
/// is listed flat.
#[utoipa::path(get, path = "/api/v1/positions", tag = "read",
    security(("bearer" = [])),
    params(AccountQuery),
    responses(
        (status = 200, description = "Target vs actual per account and symbol", body = Vec<PositionRow>),
        (status = 400, description = "A bad filter or page", body = crate::schema::ErrorBody),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
    ))]
pub async fn positions(
    State(app): State<AppState>,
    Query(q): Query<AccountQuery>,
) -> Result<Json<Vec<PositionRow>>, ApiError> {
    let filter = account_param(q.account.as_deref())?;
    let ticks = app.engine.ticks().await;
    let views = app.engine.account_views().await;
    let mut rows = Vec::new();
    for (name, view) in views.iter() {
        if filter.as_ref().is_some_and(|f| f != name) {
            continue;
        }
        let by_symbol: BTreeMap<_, &Position> = view
            .positions
            .iter()
            .map(|p| (p.symbol.clone(), p))
            .collect();
        let mut symbols: BTreeSet<_> = by_symbol.keys().cloned().collect();
        symbols.extend(view.targets.keys().cloned());
        for symbol in symbols {
            let p = by_symbol.get(&symbol);
            let size = p.map(|p| p.size.get()).unwrap_or_default();
            let target = view.targets.get(&symbol).copied();
            rows.push(PositionRow {
                account: name.clone(),
                size,
                entry_price: p
                    .and_then(|p| p.entry_price)
                    .map(|e| super::shown::price(&ticks, &symbol, e.get())),
                leverage: p.map(|p| p.leverage),
                margin_mode: p.map(|p| p.margin_mode),
                drift: target.and_then(|t| t.checked_sub(size)),
                target,
                symbol,
            });
        }
    }
    Ok(Json(rows))
}

/// `GET /api/v1/symbols`: each symbol's blend broken down by source (depth, weight,
/// contribution, staleness), with the blended depth and leverage. A contribution is `"stale":
/// true` when its sleeve is older than the source's TTL **or** its source is a polled one that
/// is stale now (`stale_sources` names those, with since when), so a dead SN8 validator shows on
/// every symbol it feeds at once.
#[utoipa::path(get, path = "/api/v1/symbols", tag = "read",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The blend per symbol: price at the instrument's tick (`tick`, when an account has read it), blend figures (depths, weights, contributions, raw leverage) at 4 dp, base quantities at 8 dp", body = Vec<serde_json::Value>),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
    ))]
pub async fn symbols(State(app): State<AppState>) -> Json<serde_json::Value> {
    let blends = app.engine.blends().await;
    let prices = app.engine.prices().await;
    let ticks = app.engine.ticks().await;
    let config = app.engine.config();
    let stale: BTreeMap<String, Option<tradeengine_model::Timestamp>> = app
        .engine
        .source_freshness()
        .into_iter()
        .filter(|(_, f)| f.stale)
        .map(|(name, f)| (name, f.stale_since))
        .collect();
    let rows: Vec<serde_json::Value> = config
        .symbols
        .iter()
        .map(|s| {
            let sym = &s.symbol;
            // Each account blends with its own limits: `blend` is the first account's (by
            // name) for a single-account engine's readers, `blends` every account's.
            let by_account = blends.get(sym);
            let mut blend = serde_json::to_value(
                by_account
                    .and_then(|b| b.values().next())
                    .map(super::shown::blend),
            )
            .unwrap_or_default();
            flag_stale_sources(&mut blend, &stale);
            let stale_sources: BTreeMap<&String, &Option<tradeengine_model::Timestamp>> = stale
                .iter()
                .filter(|(name, _)| s.weights.contains_key(*name))
                .collect();
            serde_json::json!({
                "symbol": s.symbol,
                "config_leverage": s.leverage,
                "weights": s.weights,
                "price": prices.get(sym).map(|p| super::shown::price(&ticks, sym, p.get())),
                "tick": ticks.get(sym),
                "blend": blend,
                "stale_sources": stale_sources,
                "blends": by_account.map(|m| {
                    m.iter()
                        .map(|(a, b)| (a.clone(), super::shown::blend(b)))
                        .collect::<BTreeMap<_, _>>()
                }),
            })
        })
        .collect();
    Json(serde_json::Value::Array(rows))
}

/// Sets `"stale": true` (and `stale_since`) on each contribution of a stale polled source.
fn flag_stale_sources(
    blend: &mut serde_json::Value,
    stale: &BTreeMap<String, Option<tradeengine_model::Timestamp>>,
) {
    let Some(contributions) = blend
        .get_mut("contributions")
        .and_then(|c| c.as_array_mut())
    else {
        return;
    };
    for c in contributions {
        let Some(since) = c
            .get("source")
            .and_then(|s| s.as_str())
            .and_then(|s| stale.get(s))
        else {
            continue;
        };
        c["stale"] = serde_json::Value::Bool(true);
        c["stale_since"] = serde_json::to_value(since).unwrap_or_default();
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    #[param(minimum = 0)]
    offset: Option<i64>,
}

/// `GET /api/v1/signals?limit=&offset=`.
#[utoipa::path(get, path = "/api/v1/signals", tag = "read",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "Signals, newest first", body = Vec<serde_json::Value>),
        (status = 400, description = "A bad filter or page", body = crate::schema::ErrorBody),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
        (status = 500, description = "The store failed", body = crate::schema::ErrorBody),
    ))]
pub async fn signals(
    State(app): State<AppState>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Vec<tradeengine_model::Signal>>, ApiError> {
    Ok(Json(
        app.store
            .recent_signals(limit(q.limit, 50)?, offset(q.offset)?)
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrdersQuery {
    account: Option<String>,
    symbol: Option<String>,
    /// intended, sent, acknowledged, partially_filled, filled, rejected, cancelled, unknown.
    state: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    #[param(minimum = 0)]
    offset: Option<i64>,
}

/// `GET /api/v1/orders?account=&symbol=&state=&limit=&offset=`.
#[utoipa::path(get, path = "/api/v1/orders", tag = "read",
    security(("bearer" = [])),
    params(OrdersQuery),
    responses(
        (status = 200, description = "Orders, newest first (average fill price at the instrument's tick)", body = Vec<serde_json::Value>),
        (status = 400, description = "A bad filter or page", body = crate::schema::ErrorBody),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
        (status = 500, description = "The store failed", body = crate::schema::ErrorBody),
    ))]
pub async fn orders(
    State(app): State<AppState>,
    Query(q): Query<OrdersQuery>,
) -> Result<Json<Vec<tradeengine_store::StoredOrder>>, ApiError> {
    let filter = OrderFilter {
        account: account_param(q.account.as_deref())?,
        symbol: q
            .symbol
            .as_deref()
            .map(Symbol::new)
            .transpose()
            .map_err(|e| ApiError::BadRequest(e.to_string()))?,
        state: match q.state.as_deref() {
            Some(s) => Some(
                OrderState::parse(s)
                    .ok_or_else(|| ApiError::BadRequest(format!("unknown order state {s:?}")))?,
            ),
            None => None,
        },
        limit: Some(limit(q.limit, 50)?),
        offset: Some(offset(q.offset)?),
    };
    let ticks = app.engine.ticks().await;
    let orders = app.store.orders(&filter).await?;
    Ok(Json(
        orders
            .into_iter()
            .map(|o| super::shown::order(&ticks, o))
            .collect(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FillsQuery {
    account: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// `GET /api/v1/fills?account=&limit=`.
#[utoipa::path(get, path = "/api/v1/fills", tag = "read",
    security(("bearer" = [])),
    params(FillsQuery),
    responses(
        (status = 200, description = "Fills, newest first", body = Vec<serde_json::Value>),
        (status = 400, description = "A bad filter or page", body = crate::schema::ErrorBody),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
        (status = 500, description = "The store failed", body = crate::schema::ErrorBody),
    ))]
pub async fn fills(
    State(app): State<AppState>,
    Query(q): Query<FillsQuery>,
) -> Result<Json<Vec<tradeengine_model::Fill>>, ApiError> {
    let account = account_param(q.account.as_deref())?;
    Ok(Json(
        app.store
            .fills(account.as_ref(), limit(q.limit, 50)?)
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EquityQuery {
    account: String,
    /// Hours of history (default 24).
    hours: Option<i64>,
}

/// `GET /api/v1/equity?account=&hours=`: the equity curve.
#[utoipa::path(get, path = "/api/v1/equity", tag = "read",
    security(("bearer" = [])),
    params(EquityQuery),
    responses(
        (status = 200, description = "Equity snapshots, oldest first (money at 2 dp)", body = Vec<serde_json::Value>),
        (status = 400, description = "A bad filter or page", body = crate::schema::ErrorBody),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
        (status = 500, description = "The store failed", body = crate::schema::ErrorBody),
    ))]
pub async fn equity(
    State(app): State<AppState>,
    Query(q): Query<EquityQuery>,
) -> Result<Json<Vec<tradeengine_store::EquitySnapshot>>, ApiError> {
    let account = AccountName::new(&q.account).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let hours = q.hours.unwrap_or(24).clamp(1, 24 * 365);
    let since = app.intake.clock().now() - chrono::Duration::hours(hours);
    let curve = app.store.equity(&account, since).await?;
    Ok(Json(curve.into_iter().map(super::shown::equity).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Sequence number to start after.
    #[param(minimum = 0)]
    after: Option<i64>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// `GET /api/v1/audit?after=&limit=`: audit events after a sequence number, oldest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "read",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "Audit events", body = Vec<serde_json::Value>),
        (status = 400, description = "A bad filter or page", body = crate::schema::ErrorBody),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
        (status = 500, description = "The store failed", body = crate::schema::ErrorBody),
    ))]
pub async fn audit(
    State(app): State<AppState>,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<tradeengine_store::AuditEvent>>, ApiError> {
    let after = offset(q.after)?;
    Ok(Json(
        app.store.audit_events(after, limit(q.limit, 100)?).await?,
    ))
}
