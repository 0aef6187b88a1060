//! Building an adapter from an account's configuration: the entry points the engine calls.
//! Which adapter a [`VenueId`] gets, and its hosts, come from [`crate::registry`]; the
//! per-venue constructors are in [`crate::adapters`] (re-exported here).

use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

use tradeengine_model::{Symbol, VenueId};

pub use crate::adapters::{
    AdapterConfig, connect_binance, connect_blofin, connect_bybit, connect_kucoin, connect_mexc,
};
use crate::feed::KlineSeries;
use crate::feed::live::LivePriceFeed;
use crate::market::{KlineInterval, PublicMarket};
pub use crate::registry::default_base_url;
use crate::stream_setting::StreamSetting;
use crate::{PriceFeed, Venue, VenueError, VenueErrorKind};

/// Connects one account: measures the venue's clock offset, and with keys, refuses a key that
/// can withdraw (where the venue reports it; [`crate::permissions`]), checks that the account
/// is in one-way mode (hedge mode is refused with the reason) and starts the private stream.
pub async fn connect(venue: VenueId, config: AdapterConfig) -> Result<Arc<dyn Venue>, VenueError> {
    Ok((crate::registry::entry(venue).connect)(config).await?.venue)
}

/// A keyless adapter for `venue` at `base_url`, as a [`Venue`] (instruments, prices) and as
/// [`crate::market::MarketData`] (candles). Connecting measures the venue's clock offset (one
/// public request); no private stream is started.
pub async fn public_market(venue: VenueId, base_url: &str) -> Result<PublicMarket, VenueError> {
    let mut config = AdapterConfig::new(base_url, None);
    config.stream = StreamSetting::Off;
    (crate::registry::entry(venue).connect)(config).await
}

/// Live prices from a venue's public market data (no keys), as a [`PriceFeed`] for the paper
/// venue: refreshed every second in the background, all symbols in one request.
pub async fn public_price_feed(
    venue: VenueId,
    base_url: &str,
    symbols: &[Symbol],
) -> Result<Arc<dyn PriceFeed>, VenueError> {
    public_price_feed_every(venue, base_url, symbols, Duration::from_secs(1)).await
}

/// [`public_price_feed`] with a chosen refresh interval.
pub async fn public_price_feed_every(
    venue: VenueId,
    base_url: &str,
    symbols: &[Symbol],
    every: Duration,
) -> Result<Arc<dyn PriceFeed>, VenueError> {
    let source = public_market(venue, base_url).await?.venue;
    Ok(Arc::new(
        LivePriceFeed::start(source, symbols.to_vec(), every).await?,
    ))
}

/// The latest `limit` closed candles of `symbol` as a [`KlineSeries`] (the replay feed's type),
/// for a paper account's warm-up and the operator tools.
pub async fn fetch_klines(
    venue: VenueId,
    base_url: &str,
    symbol: &Symbol,
    interval: KlineInterval,
    limit: u32,
) -> Result<KlineSeries, VenueError> {
    let source = public_market(venue, base_url).await?.candles;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let candles = source.candles(symbol, interval, limit, now_ms).await?;
    let name = source.market_venue();
    let mut csv = String::from("open_time,open,high,low,close,volume\n");
    for k in &candles {
        // Writing to a String cannot fail.
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{}",
            k.open_ms, k.open, k.high, k.low, k.close, k.volume
        );
    }
    KlineSeries::parse(&format!("{name} {symbol} klines"), &csv).map_err(|e| {
        VenueError::new(
            name,
            VenueErrorKind::Internal,
            format!("unusable candles: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_urls() {
        use VenueId::*;
        assert_eq!(
            default_base_url(Bybit, false),
            Some("https://api.bybit.com")
        );
        assert_eq!(
            default_base_url(Bybit, true),
            Some("https://api-testnet.bybit.com")
        );
        assert_eq!(
            default_base_url(Binance, false),
            Some("https://fapi.binance.com")
        );
        assert_eq!(
            default_base_url(Binance, true),
            Some("https://demo-fapi.binance.com")
        );
        assert_eq!(
            default_base_url(Blofin, false),
            Some("https://openapi.blofin.com")
        );
        assert_eq!(
            default_base_url(Blofin, true),
            Some("https://demo-trading-openapi.blofin.com")
        );
        assert_eq!(
            default_base_url(Kucoin, false),
            Some("https://api-futures.kucoin.com")
        );
        // No public KuCoin Futures sandbox: a non-live account names its base URL.
        assert_eq!(default_base_url(Kucoin, true), None);
        assert_eq!(
            default_base_url(Mexc, false),
            Some("https://contract.mexc.com")
        );
        assert_eq!(default_base_url(Mexc, true), None, "MEXC has no testnet");
    }

    #[tokio::test]
    async fn unknown_venues_and_bad_urls_are_refused_before_any_request() {
        // An unknown venue is no `VenueId`: refused where the name is read.
        assert!("nowhere".parse::<VenueId>().is_err());
        let e = connect(
            VenueId::Bybit,
            AdapterConfig::new("ftp://example.invalid", None),
        )
        .await
        .err();
        assert!(e.is_some_and(|e| e.message.contains("http://")));
    }
}
