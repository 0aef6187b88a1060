//! The venue registry: for each [`VenueId`], one row with everything that differs by venue at
//! the connection level — its REST hosts (production, test network, and the domains and
//! alternates that move real money), whether it reports an API key's permissions, how to
//! build its adapter (which serves trading, market data and candles alike), how the self-test
//! probes it, and how much clock skew it tolerates.
//!
//! [`entry`] is the only `match` on a venue in this crate outside the adapters themselves:
//! [`crate::connect`], [`crate::connect_public`], [`crate::connect_hosts`] and the engine ask it.
//! The simulator of each venue is chosen by `tradeengine_venue_sim::serve`, in the simulator
//! crate, so that production code never depends on it; both matches are exhaustive, so a new
//! [`VenueId`] variant does not compile until it has a row here and a simulator there.

use std::future::Future;
use std::pin::Pin;

use tradeengine_model::VenueId;

use crate::adapters::{
    AdapterConfig, connect_binance, connect_blofin, connect_bybit, connect_kucoin, connect_mexc,
};
use crate::market::PublicMarket;
use crate::venue_probe::{self as probe, Probing};
use crate::{VenueError, binance, blofin, bybit, hyperliquid, kucoin, mexc};

/// What building an adapter returns: a boxed future, so every row has the same type.
pub type Connecting = Pin<Box<dyn Future<Output = Result<PublicMarket, VenueError>> + Send>>;

/// One venue's row.
#[derive(Debug, Clone, Copy)]
pub struct VenueEntry {
    pub id: VenueId,
    /// The production REST base.
    pub mainnet_url: &'static str,
    /// The public test network's REST base (testnet or demo trading), where there is one.
    pub testnet_url: Option<&'static str>,
    /// Domains whose hosts (the domain itself and every subdomain) are production: real money.
    /// Matching by domain rather than by exact host refuses an alternate or regional host
    /// before anyone lists it ([`crate::connect_hosts`]).
    pub production_domains: &'static [&'static str],
    /// Hosts under a production domain that are test networks (demo trading, testnet).
    pub test_hosts: &'static [&'static str],
    /// Whether the venue tells a key's withdrawal permission, so connecting refuses a key that
    /// can withdraw ([`crate::permissions`]); elsewhere a warning says it cannot be checked.
    pub reports_key_permissions: bool,
    /// Whether the venue's API keys come with a passphrase (`PREFIX_API_PASSPHRASE`).
    pub needs_passphrase: bool,
    /// Builds the adapter: clock offset, key checks, private stream ([`crate::adapters`]).
    pub connect: fn(AdapterConfig) -> Connecting,
    /// Builds the adapter as `connect` does and reads what the self-test reports beside it:
    /// clock offset, stream readiness, the key's withdrawal permission ([`crate::venue_probe`]).
    pub probe: fn(AdapterConfig) -> Probing,
    /// How far a signed request's timestamp may be off before the venue refuses it.
    pub clock_tolerance: ClockTolerance,
}

/// Where a venue's limit on clock skew comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockTolerance {
    /// The receive window the client signs with: Bybit `X-BAPI-RECV-WINDOW`
    /// (<https://bybit-exchange.github.io/docs/v5/guide#parameters-for-authenticated-endpoints>),
    /// Binance and MEXC `recvWindow`
    /// (<https://developers.binance.com/docs/derivatives/usds-margined-futures/general-info>).
    ReceiveWindow,
    /// A window the venue fixes: KuCoin refuses a `KC-API-TIMESTAMP` more than 5 s off (code
    /// 400002, <https://www.kucoin.com/docs/basic-info/connection-method/authentication/signing-a-message>);
    /// BloFin's `ACCESS-TIMESTAMP` window is 60 s (see the BloFin adapter's `http` module).
    Fixed { ms: u64 },
}

/// The row of `id`. One table `match` with a literal row per venue: long because the rows are.
pub fn entry(id: VenueId) -> VenueEntry {
    match id {
        VenueId::Bybit => VenueEntry {
            id,
            mainnet_url: bybit::MAINNET_URL,
            testnet_url: Some(bybit::TESTNET_URL),
            // api.bybit.com, api.bytick.com (the documented alternate), and the regional
            // sites: bybitglobal.com, Netherlands, Turkey, Kazakhstan, EU, UAE, Hong Kong,
            // Indonesia, Georgia.
            production_domains: &[
                "bybit.com",
                "bytick.com",
                "bybitglobal.com",
                "bybit.nl",
                "bybit-tr.com",
                "bybit.kz",
                "bybit.eu",
                "bybit.ae",
                "byhkbit.com",
                "bybit.id",
                "bybit.ge",
            ],
            test_hosts: &[
                "api-testnet.bybit.com",
                "stream-testnet.bybit.com",
                "api-demo.bybit.com",
                "stream-demo.bybit.com",
                "api-demo-testnet.bybit.com",
            ],
            reports_key_permissions: true,
            needs_passphrase: false,
            connect: |c| Box::pin(async { Ok(PublicMarket::of(connect_bybit(c).await?)) }),
            probe: probe::bybit,
            clock_tolerance: ClockTolerance::ReceiveWindow,
        },
        VenueId::Binance => VenueEntry {
            id,
            mainnet_url: binance::MAINNET_URL,
            testnet_url: Some(binance::TESTNET_URL),
            // fapi/dapi/api/fstream…binance.com, api1-4 and api-gcp alternates, Binance.US.
            production_domains: &["binance.com", "binance.us", "binance.vision"],
            test_hosts: &[
                "demo-fapi.binance.com",
                "demo-fstream.binance.com",
                "demo-api.binance.com",
                "testnet.binance.vision",
            ],
            reports_key_permissions: true,
            needs_passphrase: false,
            connect: |c| Box::pin(async { Ok(PublicMarket::of(connect_binance(c).await?)) }),
            probe: probe::binance,
            clock_tolerance: ClockTolerance::ReceiveWindow,
        },
        VenueId::Blofin => VenueEntry {
            id,
            mainnet_url: blofin::MAINNET_URL,
            testnet_url: Some(blofin::DEMO_URL),
            production_domains: &["blofin.com"],
            test_hosts: &[
                "demo-trading-openapi.blofin.com",
                "demo-trading-openapi-ws.blofin.com",
            ],
            reports_key_permissions: false,
            needs_passphrase: true,
            connect: |c| Box::pin(async { Ok(PublicMarket::of(connect_blofin(c).await?)) }),
            probe: probe::blofin,
            clock_tolerance: ClockTolerance::Fixed { ms: 60_000 },
        },
        VenueId::Kucoin => VenueEntry {
            id,
            mainnet_url: kucoin::MAINNET_URL,
            // No public KuCoin Futures sandbox: a non-live account names its base URL.
            testnet_url: None,
            // api-futures.kucoin.com, api.kucoin.com, the .cc mirror and the EU/Thailand/Turkey
            // entities.
            production_domains: &[
                "kucoin.com",
                "kucoin.cc",
                "kucoin.eu",
                "kucoin.th",
                "kucoin.tr",
            ],
            test_hosts: &[
                "api-sandbox-futures.kucoin.com",
                "openapi-sandbox.kucoin.com",
            ],
            reports_key_permissions: false,
            needs_passphrase: true,
            connect: |c| Box::pin(async { Ok(PublicMarket::of(connect_kucoin(c).await?)) }),
            probe: probe::kucoin,
            clock_tolerance: ClockTolerance::Fixed { ms: 5_000 },
        },
        VenueId::Mexc => VenueEntry {
            id,
            mainnet_url: mexc::MAINNET_URL,
            // MEXC has no testnet.
            testnet_url: None,
            // contract.mexc.com, futures.mexc.com, api.mexc.com and the .co mirror.
            production_domains: &["mexc.com", "mexc.co"],
            test_hosts: &[],
            reports_key_permissions: false,
            needs_passphrase: false,
            connect: |c| Box::pin(async { Ok(PublicMarket::of(connect_mexc(c).await?)) }),
            probe: probe::mexc,
            clock_tolerance: ClockTolerance::ReceiveWindow,
        },
        VenueId::Hyperliquid => VenueEntry {
            id,
            mainnet_url: hyperliquid::MAINNET_URL,
            testnet_url: Some(hyperliquid::TESTNET_URL),
            // api.hyperliquid.xyz and the app; the test network is its own domain.
            production_domains: &["hyperliquid.xyz"],
            test_hosts: &["api.hyperliquid-testnet.xyz"],
            // Connect reads the signing key's role (`userRole`) and accepts only an agent (API
            // wallet) of the account, which cannot withdraw at all; the master's own key can,
            // and is refused.
            reports_key_permissions: true,
            needs_passphrase: false,
            connect: |c| {
                Box::pin(async { Ok(PublicMarket::of(hyperliquid::connect_hyperliquid(c).await?)) })
            },
            probe: probe::hyperliquid,
            clock_tolerance: ClockTolerance::ReceiveWindow,
        },
    }
}

/// Every venue's row, in [`VenueId::ALL`] order.
pub fn all() -> impl Iterator<Item = VenueEntry> {
    VenueId::ALL.into_iter().map(entry)
}

/// The venue's own REST base URL, mainnet or testnet.
pub fn default_base_url(venue: VenueId, testnet: bool) -> Option<&'static str> {
    let e = entry(venue);
    if testnet {
        e.testnet_url
    } else {
        Some(e.mainnet_url)
    }
}

/// Whether `venue`'s adapter checks key permissions at connect time.
pub fn reports_key_permissions(venue: VenueId) -> bool {
    entry(venue).reports_key_permissions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_venue_has_its_own_row() {
        for v in VenueId::ALL {
            let e = entry(v);
            assert_eq!(e.id, v);
            assert!(e.mainnet_url.starts_with("https://"), "{v}");
            assert!(!e.production_domains.is_empty(), "{v}");
        }
    }

    #[test]
    fn permissions_and_passphrases_by_venue() {
        let reports: Vec<VenueId> = all()
            .filter(|e| e.reports_key_permissions)
            .map(|e| e.id)
            .collect();
        // Hyperliquid: connect accepts only an agent key, which cannot withdraw.
        assert_eq!(
            reports,
            [VenueId::Bybit, VenueId::Binance, VenueId::Hyperliquid]
        );
        let passphrase: Vec<VenueId> = all().filter(|e| e.needs_passphrase).map(|e| e.id).collect();
        assert_eq!(passphrase, [VenueId::Blofin, VenueId::Kucoin]);
    }
}
