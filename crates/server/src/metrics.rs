//! `GET /metrics`: Prometheus text. Counters and histograms are recorded where things happen
//! (`tradeengine_engine::telemetry`); the gauges below are set from the engine's shared state at
//! scrape time, so they are never stale between cycles.

use std::collections::BTreeSet;
use std::sync::Mutex;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use rust_decimal::prelude::ToPrimitive;

use crate::AppState;

/// Installs the process-wide Prometheus recorder (once, at the binary's edge) with latency
/// buckets and every metric's help text ([`crate::metrics_help`]), and returns the handle `/metrics` renders.
pub fn install() -> Result<PrometheusHandle, String> {
    let seconds = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
        .map_err(|e| e.to_string())?
        .install_recorder()
        .map_err(|e| e.to_string())?;
    // `# HELP` for every metric: descriptions go to the recorder just installed.
    crate::metrics_help::describe();
    Ok(handle)
}

fn f(d: rust_decimal::Decimal) -> f64 {
    d.to_f64().unwrap_or(f64::NAN)
}

/// Sets the state gauges. Money shown as f64 here is for charts only; nothing reads it back.
async fn set_gauges(app: &AppState) {
    let views = app.engine.account_views().await;
    let kill = app.engine.kill_state().await;
    let prices = app.engine.prices().await;
    for (symbol, price) in &prices {
        metrics::gauge!("tradeengine_symbol_price", "symbol" => symbol.to_string())
            .set(f(price.get()));
    }
    metrics::gauge!("tradeengine_kill_switch_engaged").set(if kill.is_engaged() {
        1.0
    } else {
        0.0
    });
    let mut held = BTreeSet::new();
    for (name, v) in &views {
        let account = name.to_string();
        if let Some(value) = v.value {
            metrics::gauge!("tradeengine_account_equity", "account" => account.clone())
                .set(f(value));
        }
        metrics::gauge!("tradeengine_account_reconciled", "account" => account.clone())
            .set(if v.reconciled { 1.0 } else { 0.0 });
        metrics::gauge!("tradeengine_account_frozen", "account" => account.clone())
            .set(if v.kill.is_some() { 1.0 } else { 0.0 });
        metrics::gauge!("tradeengine_account_cycle_failing", "account" => account.clone())
            .set(if v.last_error.is_some() { 1.0 } else { 0.0 });
        // 0 active, 1 reducing, 2 halted.
        if let Some(r) = &v.risk {
            let level = match r.state {
                tradeengine_engine::risk::PortfolioState::Active => 0.0,
                tradeengine_engine::risk::PortfolioState::Reducing => 1.0,
                tradeengine_engine::risk::PortfolioState::Halted => 2.0,
            };
            metrics::gauge!("tradeengine_account_risk_state", "account" => account.clone())
                .set(level);
        }
        metrics::counter!("tradeengine_orders_risk_refused_total", "account" => account.clone())
            .absolute(v.orders_risk_refused);
        metrics::counter!("tradeengine_account_orders_rejected_total", "account" => account.clone())
            .absolute(v.orders_rejected);
        // P&L: unrealised at the engine's last prices, and since the day's first equity reading
        // (the daily loss limit's baseline).
        let unrealised: rust_decimal::Decimal = v
            .positions
            .iter()
            .filter_map(|p| prices.get(&p.symbol).and_then(|m| p.unrealised_pnl(*m)))
            .sum();
        metrics::gauge!("tradeengine_account_unrealised_pnl", "account" => account.clone())
            .set(f(unrealised));
        if let (Some(value), Some(day)) = (v.value, v.risk.as_ref().and_then(|r| r.day.as_ref())) {
            metrics::gauge!("tradeengine_account_pnl_today", "account" => account.clone())
                .set(f(value - day.equity));
        }
        if let Some(drawdown) = v.risk.as_ref().and_then(|r| r.figures.drawdown) {
            metrics::gauge!("tradeengine_account_drawdown", "account" => account.clone())
                .set(f(drawdown));
        }
        for p in &v.positions {
            metrics::gauge!("tradeengine_position_size", "account" => account.clone(), "symbol" => p.symbol.to_string())
                .set(f(p.size.get()));
            held.insert((account.clone(), p.symbol.to_string()));
        }
        for (symbol, target) in &v.targets {
            let actual = v
                .positions
                .iter()
                .find(|p| &p.symbol == symbol)
                .map(|p| p.size.get())
                .unwrap_or_default();
            metrics::gauge!("tradeengine_target_size", "account" => account.clone(), "symbol" => symbol.to_string())
                .set(f(*target));
            metrics::gauge!("tradeengine_target_drift", "account" => account.clone(), "symbol" => symbol.to_string())
                .set(f(*target - actual));
        }
    }
    zero_closed_positions(held);
}

/// The (account, symbol) pairs whose position gauge the last scrape set.
static POSITION_GAUGES: Mutex<BTreeSet<(String, String)>> = Mutex::new(BTreeSet::new());

/// Sets the position gauge to 0 for every pair set before that the views no longer list: a
/// closed position leaves the views, and a gauge not set again keeps its last value (a flat
/// account charted as still holding its last size).
fn zero_closed_positions(held: BTreeSet<(String, String)>) {
    let mut last = POSITION_GAUGES.lock().unwrap_or_else(|p| p.into_inner());
    for (account, symbol) in last.difference(&held) {
        metrics::gauge!("tradeengine_position_size", "account" => account.clone(), "symbol" => symbol.clone())
            .set(0.0);
    }
    // Kept until a restart: a closed pair keeps reading 0 on every scrape.
    last.extend(held);
}

/// Each polled source's freshness: `tradeengine_source_stale` (1 stale, 0 fresh) and the time of
/// its last accepted poll, so an alert can fire on a dead SN8 validator.
fn set_source_gauges(app: &AppState) {
    for (source, f) in app.engine.source_freshness() {
        metrics::gauge!("tradeengine_source_stale", "source" => source.clone()).set(if f.stale {
            1.0
        } else {
            0.0
        });
        if let Some(at) = f.last_success {
            metrics::gauge!("tradeengine_source_last_success_timestamp_seconds", "source" => source)
                .set(at.timestamp_millis() as f64 / 1000.0);
        }
    }
}

/// `GET /metrics`: Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "probes",
    responses(
        (status = 200, description = "Prometheus exposition", content_type = "text/plain", body = String),
        (status = 503, description = "No recorder installed", content_type = "text/plain", body = String),
    ))]
pub async fn render(State(app): State<AppState>) -> Response {
    let Some(handle) = app.metrics.clone() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder not installed\n",
        )
            .into_response();
    };
    set_gauges(&app).await;
    set_source_gauges(&app);
    set_pnl_gauges(&app).await;
    handle.run_upkeep();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}

/// P&L by source per account (`tradeengine pnl`'s lines), from the books kept up to date with
/// the store (only what was stored since the last scrape or request is read). A store that
/// cannot be read leaves the last values and is logged.
async fn set_pnl_gauges(app: &AppState) {
    use tradeengine_engine::pnl::GroupBy;
    let accounts = match app.engine.pnl_books.accounts(&*app.store).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "P&L by source not rebuilt for /metrics");
            return;
        }
    };
    for account in accounts {
        // Each account marked at its own prices, as `GET /api/v1/pnl?account=` marks it.
        let marked = app
            .engine
            .pnl_books
            .books(&*app.store, Some(&account))
            .await
            .map_err(|e| e.to_string())
            .and_then(|own| {
                own.ledger
                    .report(Some(&account), &own.marks, GroupBy::Source)
                    .map_err(|e| e.to_string())
            });
        match marked {
            Ok((lines, _)) => {
                for line in lines {
                    metrics::gauge!("tradeengine_source_pnl", "account" => account.to_string(), "source" => line.name.clone())
                        .set(f(line.pnl));
                    metrics::gauge!("tradeengine_source_netting_saved", "account" => account.to_string(), "source" => line.name)
                        .set(f(line.netting_saving));
                }
            }
            Err(e) => tracing::warn!(%account, error = %e, "P&L by source not marked for /metrics"),
        }
    }
}
