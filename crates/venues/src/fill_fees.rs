//! A finished order's fee read from the venue's list of its executions, for venues that put no
//! fee on the order itself (KuCoin's fills, Binance's trades when its stream missed some).
//!
//! The engine records an order's fill, with its fee, once, when the order is finished, so such
//! an order is reported only with the fee of all its executions. Venues list executions with a
//! delay: while the listed ones do not cover the filled quantity, the list is read again for
//! [`LISTING_WAIT`], then the order is reported ambiguous (`fills_not_listed`), so the engine
//! leaves it unsettled and settles it by client id on a later cycle. An order that finished
//! over six days ago, whose executions the venue (a week of them queryable on both) no longer
//! lists, is reported with the fee it has and an error in the log, rather than left unsettled
//! (its symbol untraded) for good.

use std::future::Future;
use std::time::Duration;

use rust_decimal::Decimal;
use tradeengine_model::OrderStatus;

use crate::{VenueError, VenueErrorKind};

/// How long to wait for a venue to list an order's executions, and how often to ask meanwhile.
const LISTING_WAIT: Duration = Duration::from_secs(2);
const LISTING_POLL: Duration = Duration::from_millis(250);

/// `status` (finished, with fills) with the fee `read` finds: `read` answers the fee once the
/// executions it listed cover the filled quantity, `None` while they do not. `what` names the
/// list in errors ("fills", "trades").
pub(crate) async fn poll_fee<F, Fut>(
    venue: &'static str,
    what: &str,
    status: OrderStatus,
    mut read: F,
) -> Result<OrderStatus, VenueError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<Decimal>, VenueError>>,
{
    let deadline = tokio::time::Instant::now() + LISTING_WAIT;
    loop {
        if let Some(fee) = read().await? {
            return Ok(OrderStatus { fee, ..status });
        }
        if listing_gone(&status) {
            tracing::error!(venue, order = %status.client_order_id, filled = %status.filled_qty, fee = %status.fee, "the order finished over six days ago and the venue no longer lists its executions: it is recorded with the fee it reported, which may be short");
            return Ok(status);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(not_listed(
                venue,
                &status,
                &format!("the venue does not list all of its {what} yet, so its fee is unknown"),
            ));
        }
        tokio::time::sleep(LISTING_POLL).await;
    }
}

/// Whether `status` finished so long ago that the venue no longer lists its executions.
fn listing_gone(status: &OrderStatus) -> bool {
    chrono::Utc::now() - status.updated_at > chrono::Duration::days(6)
}

/// The ambiguous answer for a finished order whose fee cannot be read yet.
pub(crate) fn not_listed(venue: &'static str, status: &OrderStatus, why: &str) -> VenueError {
    VenueError::new(
        venue,
        VenueErrorKind::Ambiguous,
        format!(
            "order {} filled {} {}, but {why}; it is settled again by client id",
            status.client_order_id, status.filled_qty, status.symbol
        ),
    )
    .with_code("fills_not_listed")
}
