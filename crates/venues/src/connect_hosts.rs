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
//! or a regional host added by a venue is refused before anyone lists it. The domains and test
//! hosts are columns of [`crate::registry`].

use tradeengine_model::VenueId;

use crate::registry;

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
pub fn production_venue_of(url: &str) -> Option<VenueId> {
    let host = host_of(url)?;
    registry::all().find_map(|v| {
        let under = v
            .production_domains
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")));
        (under && !v.test_hosts.contains(&host.as_str())).then_some(v.id)
    })
}

/// Whether `url` is one of `venue`'s own test hosts (testnet or demo trading).
pub fn is_test_host(venue: VenueId, url: &str) -> bool {
    host_of(url).is_some_and(|host| registry::entry(venue).test_hosts.contains(&host.as_str()))
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
        use VenueId::*;
        for (url, venue) in [
            ("https://api.bybit.com", Bybit),
            ("https://api.bytick.com", Bybit),
            ("https://api2.bybit.com", Bybit),
            ("wss://stream.bybit.com/v5/private", Bybit),
            ("https://api.bybit.nl", Bybit),
            ("https://api.bybit.eu", Bybit),
            ("https://fapi.binance.com", Binance),
            ("https://fapi1.binance.com", Binance),
            ("wss://fstream.binance.com/ws", Binance),
            ("https://api.binance.us", Binance),
            ("https://openapi.blofin.com", Blofin),
            ("https://api-futures.kucoin.com", Kucoin),
            ("https://api.kucoin.com", Kucoin),
            ("https://contract.mexc.com", Mexc),
            ("https://futures.mexc.com", Mexc),
            ("https://api.mexc.co", Mexc),
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
        assert!(is_test_host(
            VenueId::Bybit,
            "https://api-testnet.bybit.com"
        ));
        assert!(!is_test_host(
            VenueId::Binance,
            "https://api-testnet.bybit.com"
        ));
    }

    #[test]
    fn the_default_urls_are_classified() {
        for venue in VenueId::ALL {
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
