//! Connecting an account the way [`crate::connect`] does, keeping what a self-test needs to
//! read afterwards and the trait hides: the measured clock offset, the private stream's
//! readiness, and the key's withdrawal permission as the venue states it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::binance::BinanceVenue;
use crate::blofin::BlofinVenue;
use crate::bybit::BybitVenue;
use crate::connect::{
    AdapterConfig, connect_binance, connect_blofin, connect_bybit, connect_kucoin, connect_mexc,
};
use crate::kucoin::KucoinVenue;
use crate::mexc::MexcVenue;
use crate::permissions::WithdrawalPermission;
use crate::{Venue, VenueError};
use tradeengine_model::VenueId;

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
    /// No private stream: REST read-back is the truth.
    async fn wait_stream_ready(&self, _timeout: Duration) -> bool {
        false
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

/// How far a signed request's timestamp may be from the venue's clock before it is refused:
/// Bybit `X-BAPI-RECV-WINDOW` and Binance/MEXC `recvWindow` are the receive window the client
/// signs with (<https://bybit-exchange.github.io/docs/v5/guide#parameters-for-authenticated-endpoints>,
/// <https://developers.binance.com/docs/derivatives/usds-margined-futures/general-info>);
/// KuCoin refuses a `KC-API-TIMESTAMP` more than 5 s off (code 400002,
/// <https://www.kucoin.com/docs/basic-info/connection-method/authentication/signing-a-message>);
/// BloFin's `ACCESS-TIMESTAMP` window is 60 s (see the BloFin adapter's `http` module).
pub fn clock_tolerance_ms(venue: VenueId, recv_window_ms: u64) -> u64 {
    match venue {
        VenueId::Kucoin => 5_000,
        VenueId::Blofin => 60_000,
        _ => recv_window_ms,
    }
}

/// Connects exactly as [`crate::connect::connect`] (the withdrawal and one-way checks and the
/// private stream included), then asks the key's withdrawal permission where the venue reports
/// it, for the report (connect already refused an enabled one).
pub async fn connect_probe(venue: VenueId, config: AdapterConfig) -> Result<Probe, VenueError> {
    let keyed = config.credentials.is_some();
    let unknown = |why: &str| WithdrawalPermission::Unknown(why.to_string());
    let no_report = "the venue has no endpoint that reports an API key's withdrawal permission";
    let (venue, inner, withdrawal): (Arc<dyn Venue>, Arc<dyn Inspect>, _) = match venue {
        VenueId::Bybit => {
            let v = Arc::new(connect_bybit(config).await?);
            let w = if keyed {
                crate::bybit::permissions::withdrawal_permission(v.http()).await?
            } else {
                unknown("no keys")
            };
            (v.clone(), v, w)
        }
        VenueId::Binance => {
            let w_config = config.clone();
            let v = Arc::new(connect_binance(config).await?);
            let w = if keyed {
                crate::binance::permissions::withdrawal_permission(
                    v.http(),
                    &w_config.base_url,
                    w_config.credentials.clone(),
                    w_config.recv_window_ms,
                    w_config.request_timeout,
                    Duration::from_secs(5),
                )
                .await?
            } else {
                unknown("no keys")
            };
            (v.clone(), v, w)
        }
        VenueId::Blofin => {
            let v = Arc::new(connect_blofin(config).await?);
            (v.clone(), v, unknown(no_report))
        }
        VenueId::Kucoin => {
            let v = Arc::new(connect_kucoin(config).await?);
            (v.clone(), v, unknown(no_report))
        }
        VenueId::Mexc => {
            let v = Arc::new(connect_mexc(config).await?);
            (v.clone(), v, unknown(no_report))
        }
        VenueId::Hyperliquid => {
            let v = Arc::new(crate::hyperliquid::connect_hyperliquid(config).await?);
            let why =
                "agent keys cannot withdraw; connect checked the key is an agent of the account";
            (v.clone(), v, unknown(why))
        }
    };
    Ok(Probe {
        venue,
        inner,
        withdrawal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_is_the_receive_window_where_the_client_sets_it() {
        assert_eq!(clock_tolerance_ms(VenueId::Bybit, 5000), 5000);
        assert_eq!(clock_tolerance_ms(VenueId::Binance, 10_000), 10_000);
        assert_eq!(clock_tolerance_ms(VenueId::Mexc, 7000), 7000);
        assert_eq!(clock_tolerance_ms(VenueId::Kucoin, 60_000), 5000);
        assert_eq!(clock_tolerance_ms(VenueId::Blofin, 5000), 60_000);
    }
}
