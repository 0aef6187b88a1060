//! Connecting an account the way [`crate::connect`] does, keeping what a self-test needs to
//! read afterwards and the trait hides: the measured clock offset, the private stream's
//! readiness, and the key's withdrawal permission as the venue states it. One builder per
//! venue, named by its row in [`crate::registry`]; the self-test calls them through it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::adapters::{
    AdapterConfig, connect_binance, connect_blofin, connect_bybit, connect_kucoin, connect_mexc,
};
use crate::binance::BinanceVenue;
use crate::blofin::BlofinVenue;
use crate::bybit::BybitVenue;
use crate::kucoin::KucoinVenue;
use crate::mexc::MexcVenue;
use crate::permissions::WithdrawalPermission;
use crate::{Venue, VenueError};

/// What the self-test reads from a concrete adapter.
#[async_trait]
trait Inspect: Send + Sync {
    /// Venue clock minus ours, in ms, as measured at connect.
    fn clock_offset_ms(&self) -> i64;
    /// Waits up to `timeout` for the private stream to be connected and authenticated.
    async fn wait_stream_ready(&self, timeout: Duration) -> bool;
}

macro_rules! inspect {
    ($t:ty) => {
        #[async_trait]
        impl Inspect for $t {
            fn clock_offset_ms(&self) -> i64 {
                self.http().clock.offset_ms()
            }
            async fn wait_stream_ready(&self, timeout: Duration) -> bool {
                <$t>::wait_stream_ready(self, timeout).await
            }
        }
    };
}

inspect!(BybitVenue);
inspect!(BinanceVenue);
inspect!(BlofinVenue);
inspect!(KucoinVenue);
inspect!(MexcVenue);

#[async_trait]
impl Inspect for crate::hyperliquid::HyperliquidVenue {
    fn clock_offset_ms(&self) -> i64 {
        self.http().clock.offset_ms()
    }
    /// The `orderUpdates` and `userFills` subscriptions of the account's address.
    async fn wait_stream_ready(&self, timeout: Duration) -> bool {
        crate::hyperliquid::HyperliquidVenue::wait_stream_ready(self, timeout).await
    }
}

/// A connected account, as the engine would have it, plus the self-test's view of it.
pub struct Probe {
    pub venue: Arc<dyn Venue>,
    inner: Arc<dyn Inspect>,
    /// The key's withdrawal permission as the venue answered (`Unknown` where it cannot).
    pub withdrawal: WithdrawalPermission,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probe")
            .field("venue", &self.venue)
            .field("withdrawal", &self.withdrawal)
            .finish_non_exhaustive()
    }
}

impl Probe {
    pub fn clock_offset_ms(&self) -> i64 {
        self.inner.clock_offset_ms()
    }

    pub async fn wait_stream_ready(&self, timeout: Duration) -> bool {
        self.inner.wait_stream_ready(timeout).await
    }
}

/// What connecting a probe returns: a boxed future, so every registry row has the same type.
pub type Probing = Pin<Box<dyn Future<Output = Result<Probe, VenueError>> + Send>>;

/// `Unknown` with its reason.
fn unknown(why: &str) -> WithdrawalPermission {
    WithdrawalPermission::Unknown(why.to_string())
}

/// A probe of a venue that has no endpoint reporting a key's withdrawal permission.
fn unreported<V: Venue + Inspect + 'static>(venue: V) -> Probe {
    let v = Arc::new(venue);
    Probe {
        venue: v.clone(),
        inner: v,
        withdrawal: unknown(
            "the venue has no endpoint that reports an API key's withdrawal permission",
        ),
    }
}

/// Bybit: the permission from `GET /v5/user/query-api` ([`crate::bybit::permissions`]).
pub fn bybit(config: AdapterConfig) -> Probing {
    Box::pin(async move {
        let keyed = config.credentials.is_some();
        let v = Arc::new(connect_bybit(config).await?);
        let withdrawal = if keyed {
            crate::bybit::permissions::withdrawal_permission(v.http()).await?
        } else {
            unknown("no keys")
        };
        Ok(Probe {
            venue: v.clone(),
            inner: v,
            withdrawal,
        })
    })
}

/// Binance: the permission from the key's restrictions ([`crate::binance::permissions`]).
pub fn binance(config: AdapterConfig) -> Probing {
    Box::pin(async move {
        let w_config = config.clone();
        let v = Arc::new(connect_binance(config).await?);
        let withdrawal = match w_config.credentials.clone() {
            Some(credentials) => {
                crate::binance::permissions::withdrawal_permission(
                    v.http(),
                    &w_config.base_url,
                    Some(credentials),
                    w_config.recv_window_ms,
                    w_config.request_timeout,
                    Duration::from_secs(5),
                )
                .await?
            }
            None => unknown("no keys"),
        };
        Ok(Probe {
            venue: v.clone(),
            inner: v,
            withdrawal,
        })
    })
}

pub fn blofin(config: AdapterConfig) -> Probing {
    Box::pin(async move { Ok(unreported(connect_blofin(config).await?)) })
}

pub fn kucoin(config: AdapterConfig) -> Probing {
    Box::pin(async move { Ok(unreported(connect_kucoin(config).await?)) })
}

pub fn mexc(config: AdapterConfig) -> Probing {
    Box::pin(async move { Ok(unreported(connect_mexc(config).await?)) })
}

/// Hyperliquid: a keyed connect succeeds only with an agent (API wallet) key of the account,
/// which cannot withdraw at all (the master's own key is refused).
pub fn hyperliquid(config: AdapterConfig) -> Probing {
    Box::pin(async move {
        let keyed = config.credentials.is_some();
        let v = Arc::new(crate::hyperliquid::connect_hyperliquid(config).await?);
        Ok(Probe {
            venue: v.clone(),
            inner: v,
            withdrawal: if keyed {
                WithdrawalPermission::Disabled
            } else {
                unknown("no keys")
            },
        })
    })
}
