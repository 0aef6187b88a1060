//! Building an adapter from an account's configuration: the one entry point the engine calls.

use std::sync::Arc;
use std::time::Duration;

use tradeengine_model::{Clock, Symbol, SystemClock};

use crate::binance::{self, BinanceVenue};
use crate::blofin::{self, BlofinVenue};
use crate::bybit::{self, BybitVenue};
use crate::feed::live::LivePriceFeed;
use crate::http::{Transport, VenueClock};
use crate::kucoin::{self, KucoinVenue};
use crate::mexc::{self, MexcVenue};
use crate::tracker::OrderTracker;
use crate::{Credentials, PriceFeed, Venue, VenueError, VenueErrorKind};

/// How to reach one exchange account.
#[derive(Debug, Clone)]
pub struct AdapterConfig {
    /// REST base, e.g. `https://api.bybit.com` or `http://127.0.0.1:PORT` (a simulator).
    pub base_url: String,
    /// Private stream URL. `None` derives it from `base_url` (the venue's stream host for its
    /// own hosts, the same host otherwise); `Some("off")` runs without a stream (fills are then
    /// confirmed over REST).
    pub ws_url: Option<String>,
    /// `None` = public market data only: trading calls fail with an `Auth` error.
    pub credentials: Option<Credentials>,
    /// How old a signed request may be when it arrives (Bybit `X-BAPI-RECV-WINDOW`, Binance
    /// `recvWindow`); 5000 is both venues' default.
    pub recv_window_ms: u64,
    /// Per HTTP request; a write that gets no answer in time is reported ambiguous.
    pub request_timeout: Duration,
    pub clock: Arc<dyn Clock>,
}

impl AdapterConfig {
    /// Defaults for `base_url`: 5 s receive window, 10 s timeout, derived stream, wall clock.
    pub fn new(base_url: impl Into<String>, credentials: Option<Credentials>) -> Self {
        Self {
            base_url: base_url.into(),
            ws_url: None,
            credentials,
            recv_window_ms: 5000,
            request_timeout: Duration::from_secs(10),
            clock: Arc::new(SystemClock),
        }
    }

    fn stream_disabled(&self) -> bool {
        self.ws_url
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case("off"))
    }
}

/// The venue's own REST base URL, mainnet or testnet.
pub fn default_base_url(venue: &str, testnet: bool) -> Option<&'static str> {
    Some(match (venue, testnet) {
        ("bybit", false) => bybit::MAINNET_URL,
        ("bybit", true) => bybit::TESTNET_URL,
        ("binance", false) => binance::MAINNET_URL,
        ("binance", true) => binance::TESTNET_URL,
        ("blofin", false) => blofin::MAINNET_URL,
        ("blofin", true) => blofin::DEMO_URL,
        ("kucoin", false) => kucoin::MAINNET_URL,
        ("mexc", false) => mexc::MAINNET_URL,
        _ => return None,
    })
}

fn unsupported(venue: &str) -> VenueError {
    VenueError::new(
        venue.to_string(),
        VenueErrorKind::Unsupported,
        format!("no adapter for venue {venue:?} in this build"),
    )
}

/// Longest a request waits for a rate-limit pause before failing as rate limited.
const MAX_RATE_WAIT: Duration = Duration::from_secs(5);

/// Connects one account: measures the venue's clock offset, and with keys, refuses a key that
/// can withdraw (where the venue reports it; [`crate::permissions`]), checks that the account
/// is in one-way mode (hedge mode is refused with the reason) and starts the private stream.
pub async fn connect(venue: &str, config: AdapterConfig) -> Result<Arc<dyn Venue>, VenueError> {
    match venue {
        "bybit" => Ok(Arc::new(connect_bybit(config).await?)),
        "binance" => Ok(Arc::new(connect_binance(config).await?)),
        "blofin" => Ok(Arc::new(connect_blofin(config).await?)),
        "kucoin" => Ok(Arc::new(connect_kucoin(config).await?)),
        "mexc" => Ok(Arc::new(connect_mexc(config).await?)),
        other => Err(unsupported(other)),
    }
}

/// [`connect`] for Binance, keeping the concrete type.
pub async fn connect_binance(config: AdapterConfig) -> Result<BinanceVenue, VenueError> {
    let transport = Transport::new(binance::VENUE, &config.base_url, config.request_timeout)?;
    let http = Arc::new(binance::http::BinanceHttp::new(
        transport,
        config.credentials.clone(),
        config.recv_window_ms,
        VenueClock::new(config.clock.clone()),
        MAX_RATE_WAIT,
    ));
    http.sync_time().await?;
    if config.credentials.is_some() {
        let permission = binance::permissions::withdrawal_permission(
            &http,
            &config.base_url,
            config.credentials.clone(),
            config.recv_window_ms,
            config.request_timeout,
            MAX_RATE_WAIT,
        )
        .await?;
        crate::permissions::enforce(binance::VENUE, permission)?;
    }
    let tracker = Arc::new(OrderTracker::new());
    let fees = Arc::new(binance::stream::FeeBook::default());
    let fill_wait = config.request_timeout.min(Duration::from_secs(1));
    if config.credentials.is_some() {
        // Checked before the stream starts, so a refused key fails here, once.
        BinanceVenue::new(http.clone(), tracker.clone(), fees.clone(), None, fill_wait)
            .check_one_way()
            .await?;
    }
    let stream = match (&config.credentials, config.stream_disabled()) {
        (Some(_), false) => {
            let ws_base = config
                .ws_url
                .clone()
                .unwrap_or_else(|| binance::stream_base(&config.base_url));
            let session = binance::stream::BinanceStream {
                ws_base,
                http: http.clone(),
                tracker: tracker.clone(),
                fees: fees.clone(),
            };
            Some(crate::ws::spawn(Arc::new(session)))
        }
        _ => None,
    };
    Ok(BinanceVenue::new(http, tracker, fees, stream, fill_wait))
}

/// [`connect`] for Bybit, keeping the concrete type (tests, the operator tool).
pub async fn connect_bybit(config: AdapterConfig) -> Result<BybitVenue, VenueError> {
    let transport = Transport::new(bybit::VENUE, &config.base_url, config.request_timeout)?;
    let http = Arc::new(bybit::http::BybitHttp::new(
        transport,
        config.credentials.clone(),
        config.recv_window_ms,
        VenueClock::new(config.clock.clone()),
        MAX_RATE_WAIT,
    ));
    http.sync_time().await?;
    if config.credentials.is_some() {
        // Before the stream starts, so a refused key fails here, once.
        let permission = bybit::permissions::withdrawal_permission(&http).await?;
        crate::permissions::enforce(bybit::VENUE, permission)?;
    }
    let tracker = Arc::new(OrderTracker::new());
    let stream = match (&config.credentials, config.stream_disabled()) {
        (Some(_), false) => {
            let url = config
                .ws_url
                .clone()
                .unwrap_or_else(|| bybit::stream_url(&config.base_url));
            let session = bybit::stream::BybitStream {
                url,
                http: http.clone(),
                tracker: tracker.clone(),
            };
            Some(crate::ws::spawn(Arc::new(session)))
        }
        _ => None,
    };
    let fill_wait = config.request_timeout.min(Duration::from_secs(1));
    let venue = BybitVenue::new(http, tracker, stream, fill_wait);
    if config.credentials.is_some() {
        venue.check_one_way().await?;
    }
    Ok(venue)
}

/// [`connect`] for BloFin, keeping the concrete type. BloFin has no server-time endpoint: the
/// clock offset comes from a reply's `Date` header.
pub async fn connect_blofin(config: AdapterConfig) -> Result<BlofinVenue, VenueError> {
    let transport = Transport::new(blofin::VENUE, &config.base_url, config.request_timeout)?;
    let http = Arc::new(blofin::http::BlofinHttp::new(
        transport,
        config.credentials.clone(),
        VenueClock::new(config.clock.clone()),
        MAX_RATE_WAIT,
    ));
    http.sync_time().await?;
    let tracker = Arc::new(OrderTracker::new());
    let by_inst_id = blofin::stream::ByInstId::default();
    let fill_wait = config.request_timeout.min(Duration::from_secs(1));
    if config.credentials.is_some() {
        // Checked before the stream starts, so a refused key fails here, once.
        BlofinVenue::new(
            http.clone(),
            tracker.clone(),
            by_inst_id.clone(),
            None,
            fill_wait,
        )
        .check_one_way()
        .await?;
    }
    let stream = match (&config.credentials, config.stream_disabled()) {
        (Some(_), false) => {
            let url = config
                .ws_url
                .clone()
                .unwrap_or_else(|| blofin::stream_url(&config.base_url));
            let session = blofin::stream::BlofinStream {
                url,
                http: http.clone(),
                tracker: tracker.clone(),
                instruments: by_inst_id.clone(),
            };
            Some(crate::ws::spawn(Arc::new(session)))
        }
        _ => None,
    };
    Ok(BlofinVenue::new(
        http, tracker, by_inst_id, stream, fill_wait,
    ))
}

/// [`connect`] for MEXC Futures, keeping the concrete type. MEXC has no testnet; with keys,
/// hedge mode is refused here.
pub async fn connect_mexc(config: AdapterConfig) -> Result<MexcVenue, VenueError> {
    let transport = Transport::new(mexc::VENUE, &config.base_url, config.request_timeout)?;
    let http = Arc::new(mexc::http::MexcHttp::new(
        transport,
        config.credentials.clone(),
        config.recv_window_ms,
        VenueClock::new(config.clock.clone()),
        MAX_RATE_WAIT,
    ));
    http.sync_time().await?;
    let tracker = Arc::new(OrderTracker::new());
    let contracts = Arc::new(mexc::contracts::ContractBook::default());
    let fill_wait = config.request_timeout.min(Duration::from_secs(1));
    if config.credentials.is_some() {
        // Checked before the stream starts, so a refused key fails here, once.
        MexcVenue::new(
            http.clone(),
            tracker.clone(),
            contracts.clone(),
            None,
            fill_wait,
        )
        .check_one_way()
        .await?;
    }
    let stream = match (&config.credentials, config.stream_disabled()) {
        (Some(_), false) => {
            let url = config
                .ws_url
                .clone()
                .unwrap_or_else(|| mexc::stream_url(&config.base_url));
            let session = mexc::stream::MexcStream {
                url,
                http: http.clone(),
                tracker: tracker.clone(),
                contracts: contracts.clone(),
            };
            Some(crate::ws::spawn(Arc::new(session)))
        }
        _ => None,
    };
    Ok(MexcVenue::new(http, tracker, contracts, stream, fill_wait))
}

/// [`connect`] for KuCoin Futures, keeping the concrete type. `ws_url`, when set, replaces the
/// endpoint KuCoin hands out with the stream token.
pub async fn connect_kucoin(config: AdapterConfig) -> Result<KucoinVenue, VenueError> {
    let transport = Transport::new(kucoin::VENUE, &config.base_url, config.request_timeout)?;
    let http = Arc::new(kucoin::http::KucoinHttp::new(
        transport,
        config.credentials.clone(),
        VenueClock::new(config.clock.clone()),
        MAX_RATE_WAIT,
    ));
    http.sync_time().await?;
    let tracker = Arc::new(OrderTracker::new());
    let by_symbol = kucoin::stream::BySymbol::default();
    let fill_wait = config.request_timeout.min(Duration::from_secs(1));
    if config.credentials.is_some() {
        // Checked before the stream starts, so a refused key fails here, once.
        KucoinVenue::new(
            http.clone(),
            tracker.clone(),
            by_symbol.clone(),
            None,
            fill_wait,
        )
        .check_keys()
        .await?;
    }
    let stream = match (&config.credentials, config.stream_disabled()) {
        (Some(_), false) => {
            let session = kucoin::stream::KucoinStream::new(
                config.ws_url.clone(),
                http.clone(),
                tracker.clone(),
                by_symbol.clone(),
            );
            Some(crate::ws::spawn(Arc::new(session)))
        }
        _ => None,
    };
    Ok(KucoinVenue::new(
        http, tracker, by_symbol, stream, fill_wait,
    ))
}

/// Live prices from a venue's public market data (no keys), as a [`PriceFeed`] for the paper
/// venue: refreshed every second in the background, all symbols in one request.
pub async fn public_price_feed(
    venue: &str,
    base_url: &str,
    symbols: &[Symbol],
) -> Result<Arc<dyn PriceFeed>, VenueError> {
    public_price_feed_every(venue, base_url, symbols, Duration::from_secs(1)).await
}

/// [`public_price_feed`] with a chosen refresh interval.
pub async fn public_price_feed_every(
    venue: &str,
    base_url: &str,
    symbols: &[Symbol],
    every: Duration,
) -> Result<Arc<dyn PriceFeed>, VenueError> {
    let mut config = AdapterConfig::new(base_url, None);
    config.ws_url = Some("off".into());
    let source: Arc<dyn Venue> = match venue {
        "bybit" => Arc::new(connect_bybit(config).await?),
        "binance" => Arc::new(connect_binance(config).await?),
        "blofin" => Arc::new(connect_blofin(config).await?),
        "kucoin" => Arc::new(connect_kucoin(config).await?),
        "mexc" => Arc::new(connect_mexc(config).await?),
        other => return Err(unsupported(other)),
    };
    Ok(Arc::new(
        LivePriceFeed::start(source, symbols.to_vec(), every).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_urls() {
        assert_eq!(
            default_base_url("bybit", false),
            Some("https://api.bybit.com")
        );
        assert_eq!(
            default_base_url("bybit", true),
            Some("https://api-testnet.bybit.com")
        );
        assert_eq!(
            default_base_url("binance", false),
            Some("https://fapi.binance.com")
        );
        assert_eq!(
            default_base_url("binance", true),
            Some("https://demo-fapi.binance.com")
        );
        assert_eq!(
            default_base_url("blofin", false),
            Some("https://openapi.blofin.com")
        );
        assert_eq!(
            default_base_url("blofin", true),
            Some("https://demo-trading-openapi.blofin.com")
        );
        assert_eq!(
            default_base_url("kucoin", false),
            Some("https://api-futures.kucoin.com")
        );
        // No public KuCoin Futures sandbox: a non-live account names its base URL.
        assert_eq!(default_base_url("kucoin", true), None);
        assert_eq!(
            default_base_url("mexc", false),
            Some("https://contract.mexc.com")
        );
        assert_eq!(default_base_url("mexc", true), None, "MEXC has no testnet");
        assert_eq!(default_base_url("nowhere", false), None);
    }

    #[tokio::test]
    async fn unknown_venues_and_bad_urls_are_refused_before_any_request() {
        let e = connect(
            "nowhere",
            AdapterConfig::new("https://api.nowhere.invalid", None),
        )
        .await
        .err();
        assert_eq!(e.map(|e| e.kind), Some(VenueErrorKind::Unsupported));
        let e = connect("bybit", AdapterConfig::new("ftp://example.invalid", None))
            .await
            .err();
        assert!(e.is_some_and(|e| e.message.contains("http://")));
    }
}
