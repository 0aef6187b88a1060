//! `GET /api/v1/pnl/history`: P&L by source over time, for the dashboard's per-account chart.
//!
//! Built from what `GET /api/v1/pnl` is built from (stored plan events, fills and the cycles'
//! mark readings, applied in order by `tradeengine_engine::pnl::Books`), so the newest point of
//! each series is that endpoint's line: the chart and the table cannot disagree. One point per
//! time bucket that had an input, stamped with the time of the bucket's last input (the books
//! as they stood then, marked at the newest price seen by then, so open positions move with
//! the market between trades), so a quiet day costs nothing and no point is stamped in the
//! future.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tradeengine_core::attribution::{GroupBy, PnlLine};
use tradeengine_engine::pnl::{self, Books, Input};
use tradeengine_model::{AccountName, Timestamp};
use utoipa::{IntoParams, ToSchema};

use super::pnl::api_error;
use super::read::account_param;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::Query;

/// Seconds per bucket when none is asked for.
const DEFAULT_BUCKET: i64 = 3_600;
const MIN_BUCKET: i64 = 60;
const MAX_BUCKET: i64 = 7 * 86_400;
/// Most points per series: the newest are kept (a chart cannot show more usefully, and the
/// answer stays bounded whatever the store holds).
pub const MAX_POINTS: usize = 2_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PnlHistoryQuery {
    /// Only this account (default: every account, summed).
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    account: Option<String>,
    /// Seconds per point, 60 to 604800 (default 3600).
    #[param(minimum = 60, maximum = 604_800)]
    bucket: Option<i64>,
}

/// One point of a series: the line as of `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PnlPoint {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// realised + unrealised − fees + funding, quote units, exact.
    #[schema(value_type = String)]
    pub pnl: Decimal,
    #[schema(value_type = String)]
    pub realised: Decimal,
    #[schema(value_type = String)]
    pub unrealised: Decimal,
    #[schema(value_type = String)]
    pub fees: Decimal,
}

/// One line over time: a source, `unattributed`, or `account` (the total).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PnlSeries {
    pub name: String,
    pub points: Vec<PnlPoint>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PnlHistory {
    pub bucket_secs: i64,
    /// Sources by name, then `unattributed`, then `account`.
    pub series: Vec<PnlSeries>,
}

fn point(at: Timestamp, l: &PnlLine) -> PnlPoint {
    PnlPoint {
        at,
        pnl: l.pnl,
        realised: l.realised,
        unrealised: l.unrealised,
        fees: l.fees,
    }
}

/// The bucket an instant falls in.
fn bucket_of(at: Timestamp, secs: i64) -> i64 {
    at.timestamp().div_euclid(secs)
}

/// The history of `account` (all when `None`) in buckets of `secs` seconds, from the replayed
/// inputs.
pub(crate) fn history(
    inputs: &[Input],
    account: Option<&AccountName>,
    secs: i64,
) -> Result<PnlHistory, ApiError> {
    // Buckets that get a point: the newest MAX_POINTS that had an input.
    let mut buckets: Vec<i64> = inputs.iter().map(|i| bucket_of(i.at(), secs)).collect();
    buckets.dedup();
    let first_kept = buckets
        .len()
        .checked_sub(MAX_POINTS)
        .and_then(|skip| buckets.get(skip).copied())
        .unwrap_or(i64::MIN);
    // (rank, name) → points; rank puts `unattributed` after the sources and `account` last.
    let mut series: BTreeMap<(u8, String), Vec<PnlPoint>> = BTreeMap::new();
    let mut books = Books::default();
    let mut snapshot = |books: &Books, at: Timestamp| -> Result<(), ApiError> {
        let (lines, total) = books
            .ledger
            .report(account, &books.marks, GroupBy::Source)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        for l in &lines {
            let rank = u8::from(l.name == "unattributed");
            series
                .entry((rank, l.name.clone()))
                .or_default()
                .push(point(at, l));
        }
        series
            .entry((2, total.name.clone()))
            .or_default()
            .push(point(at, &total));
        Ok(())
    };
    let mut iter = inputs.iter().peekable();
    while let Some(input) = iter.next() {
        books.apply(input).map_err(api_error)?;
        let bucket = bucket_of(input.at(), secs);
        let bucket_ends = iter
            .peek()
            .is_none_or(|next| bucket_of(next.at(), secs) != bucket);
        if bucket_ends && bucket >= first_kept {
            snapshot(&books, input.at())?;
        }
    }
    Ok(PnlHistory {
        bucket_secs: secs,
        series: series
            .into_iter()
            .map(|((_, name), points)| PnlSeries { name, points })
            .collect(),
    })
}

/// `GET /api/v1/pnl/history?account=&bucket=`.
#[utoipa::path(get, path = "/api/v1/pnl/history", tag = "read",
    security(("bearer" = [])),
    params(PnlHistoryQuery),
    responses(
        (status = 200, description = "P&L by source over time: one series per source, then `unattributed`, then `account` (the total), each point the line as of its time (exact decimals as strings); the newest point equals `GET /api/v1/pnl`", body = PnlHistory),
        (status = 400, description = "A bad account or bucket", body = crate::schema::ErrorBody),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
        (status = 500, description = "The store failed, or a stored event cannot be read", body = crate::schema::ErrorBody),
    ))]
pub async fn pnl_history(
    State(app): State<AppState>,
    Query(q): Query<PnlHistoryQuery>,
) -> Result<Json<PnlHistory>, ApiError> {
    let account = account_param(q.account.as_deref())?;
    let secs = q.bucket.unwrap_or(DEFAULT_BUCKET);
    if !(MIN_BUCKET..=MAX_BUCKET).contains(&secs) {
        return Err(ApiError::BadRequest(format!(
            "bucket must be between {MIN_BUCKET} and {MAX_BUCKET} seconds, not {secs}"
        )));
    }
    let inputs = pnl::inputs(&*app.store, account.as_ref(), pnl::Marks::Read)
        .await
        .map_err(api_error)?;
    history(&inputs, account.as_ref(), secs).map(Json)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone, Utc};
    use tradeengine_model::{ClientOrderId, Fill, Price, Side, Symbol};
    use tradeengine_store::StoredFill;

    use super::*;

    fn fills(n: i64) -> Vec<Input> {
        let t0 = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        (0..n)
            .map(|i| {
                Input::Fill(StoredFill {
                    seq: i + 1,
                    account: AccountName::new("a").unwrap(),
                    fill: Fill {
                        client_order_id: ClientOrderId::new(&format!("x-{i}")).unwrap(),
                        venue_order_id: None,
                        symbol: Symbol::new("BTCUSDT").unwrap(),
                        side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
                        qty: Decimal::ONE,
                        price: Price::new(Decimal::from(100 + i)).unwrap(),
                        fee: Decimal::ZERO,
                        filled_at: t0 + TimeDelta::seconds(30 * i),
                    },
                })
            })
            .collect()
    }

    #[test]
    fn a_point_per_bucket_the_newest_kept_and_the_last_is_the_whole_report() {
        // Two fills a minute: 2100 one-minute buckets, of which the newest 2000 get a point.
        let inputs = fills(4200);
        let h = history(&inputs, None, 60).unwrap();
        let total = h.series.last().unwrap();
        assert_eq!(total.name, "account");
        assert_eq!(total.points.len(), MAX_POINTS);
        // Each point is its bucket's second fill: bucket 100 is the first kept.
        assert_eq!(total.points[0].at, inputs[201].at());
        assert_eq!(total.points[MAX_POINTS - 1].at, inputs[4199].at());
        // Bought at 100 + 2k, sold at 101 + 2k: one realised per pair, flat at the end.
        assert_eq!(total.points[MAX_POINTS - 1].realised, Decimal::from(2100));
        assert_eq!(total.points[0].realised, Decimal::from(101));
        let mut all = Books::default();
        for i in &inputs {
            all.apply(i).unwrap();
        }
        let (_, whole) = all
            .ledger
            .report(None, &all.marks, GroupBy::Source)
            .unwrap();
        assert_eq!(total.points[MAX_POINTS - 1].pnl, whole.pnl);
        // Nothing stored: no series.
        assert!(history(&[], None, 60).unwrap().series.is_empty());
    }
}
