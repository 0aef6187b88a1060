//! Building each exchange's adapter from an [`AdapterConfig`], keeping its concrete type (the
//! adapter tests and the operator tools use the concrete types; the engine goes through
//! [`crate::connect::connect`], which picks one of these by [`crate::registry`]).

use std::sync::Arc;
use std::time::Duration;

use tradeengine_model::{Clock, SystemClock};

use crate::binance::{self, BinanceVenue};
use crate::blofin::{self, BlofinVenue};
use crate::bybit::{self, BybitVenue};
use crate::http::{Transport, VenueClock};
use crate::kucoin::{self, KucoinVenue};
use crate::mexc::{self, MexcVenue};
use crate::stream_setting::StreamSetting;
use crate::tracker::OrderTracker;
use crate::{Credentials, VenueError};

/// How to reach one exchange account.
#[derive(Debug, Clone)]
pub struct AdapterConfig {
    /// REST base, e.g. `https://api.bybit.com` or `http://127.0.0.1:PORT` (a simulator).
    pub base_url: String,
    /// The private stream: derived from `base_url` (the venue's stream host for its own
    /// hosts, the same host otherwise), a given URL, or off (fills are then confirmed over
    /// REST).
    pub stream: StreamSetting,
    /// `None` = public market data only: trading calls fail with an `Auth` error.
    pub credentials: Option<Credentials>,
    /// How old a signed request may be when it arrives (Bybit `X-BAPI-RECV-WINDOW`, Binance
    /// `recvWindow`); 5000 is both venues' default.
    pub recv_window_ms: u64,
    /// Per HTTP request; a write that gets no answer in time is reported ambiguous.
    pub request_timeout: Duration,
    pub clock: Arc<dyn Clock>,
    /// A Hyperliquid account's own settings (market slippage, nonce file, dead-man switch);
    /// the other venues have none and ignore it.
    pub hyperliquid: HyperliquidOptions,
}

impl AdapterConfig {
    /// Defaults for `base_url`: 5 s receive window, 10 s timeout, derived stream, wall clock.
    pub fn new(base_url: impl Into<String>, credentials: Option<Credentials>) -> Self {
        Self {
            base_url: base_url.into(),
            stream: StreamSetting::Auto,
            credentials,
            recv_window_ms: 5000,
            request_timeout: Duration::from_secs(10),
            clock: Arc::new(SystemClock),
            hyperliquid: HyperliquidOptions::default(),
        }
    }
}

/// Longest a request waits for a rate-limit pause before failing as rate limited.
const MAX_RATE_WAIT: Duration = Duration::from_secs(5);

/// Binance USDⓈ-M futures: clock offset, key permissions (where the venue reports them),
/// one-way mode, then the private stream.
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
    let url = config.credentials.as_ref().and_then(|_| {
        config
            .stream
            .resolve(|| binance::stream_base(&config.base_url))
    });
    let stream = url.map(|ws_base| {
        let session = binance::stream::BinanceStream {
            ws_base,
            http: http.clone(),
            tracker: tracker.clone(),
            fees: fees.clone(),
        };
        crate::ws::spawn(Arc::new(session))
    });
    Ok(BinanceVenue::new(http, tracker, fees, stream, fill_wait))
}

/// Bybit V5 linear: clock offset, key permissions, private stream, then one-way mode.
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
    let url = config.credentials.as_ref().and_then(|_| {
        config
            .stream
            .resolve(|| bybit::stream_url(&config.base_url))
    });
    let stream = url.map(|url| {
        let session = bybit::stream::BybitStream {
            url,
            http: http.clone(),
            tracker: tracker.clone(),
        };
        crate::ws::spawn(Arc::new(session))
    });
    let fill_wait = config.request_timeout.min(Duration::from_secs(1));
    let venue = BybitVenue::new(http, tracker, stream, fill_wait);
    if config.credentials.is_some() {
        venue.check_one_way().await?;
    }
    Ok(venue)
}

/// BloFin USDT perpetuals. BloFin has no server-time endpoint: the
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
    let url = config.credentials.as_ref().and_then(|_| {
        config
            .stream
            .resolve(|| blofin::stream_url(&config.base_url))
    });
    let stream = url.map(|url| {
        let session = blofin::stream::BlofinStream {
            url,
            http: http.clone(),
            tracker: tracker.clone(),
            instruments: by_inst_id.clone(),
        };
        crate::ws::spawn(Arc::new(session))
    });
    Ok(BlofinVenue::new(
        http, tracker, by_inst_id, stream, fill_wait,
    ))
}

/// MEXC Futures. MEXC has no testnet; with keys,
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
    let url = config
        .credentials
        .as_ref()
        .and_then(|_| config.stream.resolve(|| mexc::stream_url(&config.base_url)));
    let stream = url.map(|url| {
        let session = mexc::stream::MexcStream {
            url,
            http: http.clone(),
            tracker: tracker.clone(),
            contracts: contracts.clone(),
        };
        crate::ws::spawn(Arc::new(session))
    });
    Ok(MexcVenue::new(http, tracker, contracts, stream, fill_wait))
}

/// KuCoin Futures. An explicit stream URL, when set, replaces the
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
    let stream = match (&config.credentials, &config.stream) {
        (Some(_), StreamSetting::Auto | StreamSetting::Url(_)) => {
            let session = kucoin::stream::KucoinStream::new(
                config.stream.url().map(str::to_string),
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

/// What the adapter is told besides the connection.
#[derive(Debug, Clone)]
pub struct HyperliquidOptions {
    /// A market order is an IOC limit this far from the mark (0.05 = 5 %).
    pub slippage: rust_decimal::Decimal,
    /// How often the dead-man switch (`scheduleCancel`) is pushed forward; `None` = off.
    pub dead_man_every: Option<Duration>,
    /// How far ahead each push schedules the cancel (at least 5 s, the exchange's minimum).
    pub dead_man_after: Duration,
    /// Where the agent's nonce high-water mark is kept across restarts (see `hyperliquid::nonce`).
    pub nonce_file: Option<std::path::PathBuf>,
}

impl HyperliquidOptions {
    /// Default distance of a market order's IOC limit from the mark: the SDK's 5 %.
    pub const DEFAULT_SLIPPAGE: rust_decimal::Decimal =
        rust_decimal::Decimal::from_parts(5, 0, 0, false, 2);
}

impl Default for HyperliquidOptions {
    fn default() -> Self {
        Self {
            slippage: Self::DEFAULT_SLIPPAGE,
            dead_man_every: Some(Duration::from_secs(300)),
            dead_man_after: Duration::from_secs(600),
            nonce_file: None,
        }
    }
}
