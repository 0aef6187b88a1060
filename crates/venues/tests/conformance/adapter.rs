//! Each venue's adapter behind one type, so a scenario written once can reach what the `Venue`
//! trait does not show: the private stream, the order tracker, the venue clock and the rate
//! limits.

use std::ops::Deref;
use std::time::Duration;

use tradeengine_model::{ClientOrderId, OrderState, OrderStatus, Symbol};
use tradeengine_venue_sim::{SimHandle, SimOptions, VenueId};
use tradeengine_venues::binance::BinanceVenue;
use tradeengine_venues::blofin::BlofinVenue;
use tradeengine_venues::bybit::BybitVenue;
use tradeengine_venues::connect::{
    connect_binance, connect_blofin, connect_bybit, connect_kucoin, connect_mexc,
};
use tradeengine_venues::hyperliquid::{
    HyperliquidOptions, HyperliquidVenue, connect_hyperliquid_with,
};
use tradeengine_venues::kucoin::KucoinVenue;
use tradeengine_venues::mexc::MexcVenue;
use tradeengine_venues::ratelimit::RateLimits;
use tradeengine_venues::tracker::OrderTracker;
use tradeengine_venues::{AdapterConfig, Venue, VenueError};

use crate::sim::{config, start};
use crate::venues::Row;

/// One connected adapter of any venue.
pub enum Adapter {
    Bybit(BybitVenue),
    Binance(BinanceVenue),
    Blofin(BlofinVenue),
    Kucoin(KucoinVenue),
    Mexc(MexcVenue),
    Hyperliquid(HyperliquidVenue),
}

/// Hyperliquid without dead-man pushes in the background: scenarios count `/exchange` requests.
pub fn quiet_hyperliquid() -> HyperliquidOptions {
    HyperliquidOptions {
        dead_man_every: None,
        ..HyperliquidOptions::default()
    }
}

impl Adapter {
    pub async fn connect(venue: VenueId, config: AdapterConfig) -> Result<Self, VenueError> {
        Ok(match venue {
            VenueId::Bybit => Self::Bybit(connect_bybit(config).await?),
            VenueId::Binance => Self::Binance(connect_binance(config).await?),
            VenueId::Blofin => Self::Blofin(connect_blofin(config).await?),
            VenueId::Kucoin => Self::Kucoin(connect_kucoin(config).await?),
            VenueId::Mexc => Self::Mexc(connect_mexc(config).await?),
            VenueId::Hyperliquid => {
                Self::Hyperliquid(connect_hyperliquid_with(config, quiet_hyperliquid()).await?)
            }
        })
    }

    fn dyn_venue(&self) -> &(dyn Venue + 'static) {
        match self {
            Self::Bybit(v) => v,
            Self::Binance(v) => v,
            Self::Blofin(v) => v,
            Self::Kucoin(v) => v,
            Self::Mexc(v) => v,
            Self::Hyperliquid(v) => v,
        }
    }

    /// The streamed order updates; `None` for a venue whose adapter has no private stream.
    pub fn tracker(&self) -> Option<&OrderTracker> {
        match self {
            Self::Bybit(v) => Some(v.tracker()),
            Self::Binance(v) => Some(v.tracker()),
            Self::Blofin(v) => Some(v.tracker()),
            Self::Kucoin(v) => Some(v.tracker()),
            Self::Mexc(v) => Some(v.tracker()),
            Self::Hyperliquid(_) => None,
        }
    }

    pub fn stream_connects(&self) -> u64 {
        match self {
            Self::Bybit(v) => v.stream_connects(),
            Self::Binance(v) => v.stream_connects(),
            Self::Blofin(v) => v.stream_connects(),
            Self::Kucoin(v) => v.stream_connects(),
            Self::Mexc(v) => v.stream_connects(),
            Self::Hyperliquid(_) => 0,
        }
    }

    pub async fn wait_stream_ready(&self, timeout: Duration) -> bool {
        match self {
            Self::Bybit(v) => v.wait_stream_ready(timeout).await,
            Self::Binance(v) => v.wait_stream_ready(timeout).await,
            Self::Blofin(v) => v.wait_stream_ready(timeout).await,
            Self::Kucoin(v) => v.wait_stream_ready(timeout).await,
            Self::Mexc(v) => v.wait_stream_ready(timeout).await,
            Self::Hyperliquid(_) => false,
        }
    }

    /// The offset the adapter measured between its clock and the venue's, milliseconds.
    pub fn clock_offset_ms(&self) -> i64 {
        match self {
            Self::Bybit(v) => v.http().clock.offset_ms(),
            Self::Binance(v) => v.http().clock.offset_ms(),
            Self::Blofin(v) => v.http().clock.offset_ms(),
            Self::Kucoin(v) => v.http().clock.offset_ms(),
            Self::Mexc(v) => v.http().clock.offset_ms(),
            Self::Hyperliquid(v) => v.http().clock.offset_ms(),
        }
    }

    pub fn limits(&self) -> &RateLimits {
        match self {
            Self::Bybit(v) => &v.http().limits,
            Self::Binance(v) => &v.http().limits,
            Self::Blofin(v) => &v.http().limits,
            Self::Kucoin(v) => &v.http().limits,
            Self::Mexc(v) => &v.http().limits,
            Self::Hyperliquid(v) => &v.http().limits,
        }
    }

    /// Waits (bounded) until the order is filled: on the stream where the adapter has one,
    /// otherwise by asking the venue, which is how such an adapter learns it too.
    pub async fn wait_filled(&self, symbol: &Symbol, id: &ClientOrderId) -> Option<OrderStatus> {
        let filled = |s: &OrderStatus| s.state == OrderState::Filled;
        if let Some(t) = self.tracker() {
            return t
                .wait_for(id.as_str(), Duration::from_secs(2), move |s| filled(s))
                .await;
        }
        for _ in 0..40 {
            if let Some(s) = self.order_by_client_id(symbol, id).await.ok().flatten()
                && filled(&s)
            {
                return Some(s);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }
}

impl Deref for Adapter {
    type Target = dyn Venue;

    fn deref(&self) -> &Self::Target {
        self.dyn_venue()
    }
}

/// The row's simulator with its default options and an adapter connected to it, its private
/// stream (where it has one) up.
pub async fn setup(row: &Row) -> (SimHandle, Adapter) {
    setup_with(row, SimOptions::new(row.id)).await
}

pub async fn setup_with(row: &Row, options: SimOptions) -> (SimHandle, Adapter) {
    let sim = start(row.id, options).await;
    let adapter = Adapter::connect(row.id, config(&sim)).await.unwrap();
    if row.has_stream {
        assert!(
            adapter.wait_stream_ready(Duration::from_secs(3)).await,
            "{:?}: private stream not ready",
            row.id
        );
    }
    (sim, adapter)
}
