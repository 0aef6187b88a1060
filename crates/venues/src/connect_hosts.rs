//! Which hosts move real money. A testnet account must never reach one, whatever its
//! `base_url` says: the engine refuses, at start and in `config check`, a non-live account
//! whose REST or stream URL is a production host of **any** supported venue (a Bybit account
//! pointed at `fapi.binance.com` is refused too). A URL that is not a known production host (a
//! test network, a local simulator, a proxy) is the operator's choice.
//!
//! Production is matched by domain: a host equal to or under one of a venue's production
//! domains (`api.bybit.com`, `api2.bybit.com`, `stream.bytick.com`, …), except the venue's
//! own test hosts, which share some of those domains (`api-testnet.bybit.com`,
//! `demo-fapi.binance.com`). Matching by domain rather than by exact host means an alternate
//! or a regional host added by a venue is refused before anyone lists it.

/// One venue's hosts.
struct VenueHosts {
    venue: &'static str,
    /// Domains whose hosts (the domain itself and every subdomain) are production.
    production_domains: &'static [&'static str],
    /// Hosts under a production domain that are test networks (demo trading, testnet).
    test_hosts: &'static [&'static str],
}

const HOSTS: &[VenueHosts] = &[
    VenueHosts {
        venue: "bybit",
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
    },
    VenueHosts {
        venue: "binance",
        // fapi/dapi/api/fstream…binance.com, api1-4 and api-gcp alternates, Binance.US.
        production_domains: &["binance.com", "binance.us", "binance.vision"],
        test_hosts: &[
            "demo-fapi.binance.com",
            "demo-fstream.binance.com",
            "demo-api.binance.com",
            "testnet.binance.vision",
        ],
    },
    VenueHosts {
        venue: "blofin",
        production_domains: &["blofin.com"],
        test_hosts: &[
            "demo-trading-openapi.blofin.com",
            "demo-trading-openapi-ws.blofin.com",
        ],
    },
    VenueHosts {
        venue: "kucoin",
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
    },
    VenueHosts {
        venue: "mexc",
        // contract.mexc.com, futures.mexc.com, api.mexc.com and the .co mirror.
        production_domains: &["mexc.com", "mexc.co"],
        test_hosts: &[],
    },
];

/// The supported venues whose production hosts are listed here.
pub const VENUES_WITH_HOST_LISTS: [&str; 5] = ["bybit", "binance", "blofin", "kucoin", "mexc"];

/// The host of `url` (scheme, user info, port and path stripped), lower case; `None` when the
/// URL has no `scheme://`.
pub fn host_of(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

/// The venue whose production host `url` is, if it is one of any supported venue.
pub fn production_venue_of(url: &str) -> Option<&'static str> {
    let host = host_of(url)?;
    HOSTS.iter().find_map(|v| {
        let under = v
            .production_domains
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")));
        (under && !v.test_hosts.contains(&host.as_str())).then_some(v.venue)
    })
}

/// Whether `url` is one of `venue`'s own test hosts (testnet or demo trading).
pub fn is_test_host(venue: &str, url: &str) -> bool {
    let Some(host) = host_of(url) else {
        return false;
    };
    HOSTS
        .iter()
        .any(|v| v.venue == venue && v.test_hosts.contains(&host.as_str()))
}

/// Why a non-live account may not use `url`, or `None` when it may: a production host of any
/// supported venue is refused (`what` names the setting, e.g. `base_url`).
pub fn refuse_production(what: &str, url: &str) -> Option<String> {
    let owner = production_venue_of(url)?;
    Some(format!(
        "{what} {url} is a production host of {owner}: real money. Only mode = \"live\" (with \
         --live) may use it; for testnet use the venue's test host or leave {what} unset"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_parsed_from_urls() {
        assert_eq!(
            host_of("https://api.bybit.com"),
            Some("api.bybit.com".into())
        );
        assert_eq!(
            host_of("https://user:pw@API.Bybit.com.:443/v5?x=1"),
            Some("api.bybit.com".into())
        );
        assert_eq!(host_of("http://127.0.0.1:9001"), Some("127.0.0.1".into()));
        assert_eq!(host_of("http://[::1]:9001/x"), Some("::1".into()));
        assert_eq!(host_of("api.bybit.com"), None);
    }

    #[test]
    fn production_hosts_and_alternates_of_every_venue_are_known() {
        for (url, venue) in [
            ("https://api.bybit.com", "bybit"),
            ("https://api.bytick.com", "bybit"),
            ("https://api2.bybit.com", "bybit"),
            ("wss://stream.bybit.com/v5/private", "bybit"),
            ("https://api.bybit.nl", "bybit"),
            ("https://api.bybit.eu", "bybit"),
            ("https://fapi.binance.com", "binance"),
            ("https://fapi1.binance.com", "binance"),
            ("wss://fstream.binance.com/ws", "binance"),
            ("https://api.binance.us", "binance"),
            ("https://openapi.blofin.com", "blofin"),
            ("https://api-futures.kucoin.com", "kucoin"),
            ("https://api.kucoin.com", "kucoin"),
            ("https://contract.mexc.com", "mexc"),
            ("https://futures.mexc.com", "mexc"),
            ("https://api.mexc.co", "mexc"),
        ] {
            assert_eq!(production_venue_of(url), Some(venue), "{url}");
        }
    }

    #[test]
    fn test_hosts_simulators_and_lookalikes_are_not_production() {
        for url in [
            "https://api-testnet.bybit.com",
            "https://api-demo.bybit.com",
            "https://demo-fapi.binance.com",
            "https://testnet.binancefuture.com",
            "https://demo-trading-openapi.blofin.com",
            "http://127.0.0.1:9001",
            "http://localhost:8080",
            "https://notbybit.com",
            "https://bybit.com.evil.example",
        ] {
            assert_eq!(production_venue_of(url), None, "{url}");
        }
        assert!(is_test_host("bybit", "https://api-testnet.bybit.com"));
        assert!(!is_test_host("binance", "https://api-testnet.bybit.com"));
    }

    #[test]
    fn the_default_urls_are_classified() {
        for venue in VENUES_WITH_HOST_LISTS {
            let main = crate::connect::default_base_url(venue, false).unwrap_or_default();
            assert_eq!(production_venue_of(main), Some(venue), "{venue} mainnet");
            if let Some(test) = crate::connect::default_base_url(venue, true) {
                assert_eq!(production_venue_of(test), None, "{venue} testnet");
                assert!(is_test_host(venue, test), "{venue} testnet");
            }
        }
        assert!(refuse_production("base_url", "https://api.bybit.com").is_some());
        assert!(refuse_production("base_url", "http://127.0.0.1:1").is_none());
    }
}
