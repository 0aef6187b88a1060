//! What each mode means for an exchange account, in one place, so the engine, `config check`,
//! the banner, `status` and the API cannot disagree:
//!
//! | mode      | host                                          | private requests           |
//! |-----------|-----------------------------------------------|----------------------------|
//! | `paper`   | `base_url`, else production (public data)     | none: fills on paper       |
//! | `dry-run` | `base_url`, else the venue's test network     | reads only; nothing sent   |
//! | `testnet` | the test network, or a `base_url` that is no production host of any venue | all |
//! | `live`    | `base_url`, else production; needs `--live`   | all                        |
//!
//! An exchange account in paper mode never resolves its credentials: it trades on the paper
//! venue against the venue's public instruments and prices.

use tradeengine_venues::connect_hosts;

use super::{AccountConfig, Config, Mode, VenueKind};

type Failure = (String, String);

/// Refuses what would let a non-live account reach real money: a testnet account whose
/// `base_url` or `ws_url` is a production host of any supported venue, or that has no test
/// network to default to; and paper-venue settings an exchange account in paper mode cannot use.
pub fn validate_modes(c: &Config) -> Result<(), Failure> {
    for (i, a) in c.accounts.iter().enumerate() {
        if a.venue == VenueKind::Paper {
            continue;
        }
        let key = |field: &str| format!("accounts[{i}].{field}");
        let mode = c.account_mode(a);
        if mode == Mode::Testnet {
            for (field, url) in [
                ("base_url", a.base_url.as_deref()),
                ("ws_url", a.ws_url.url()),
            ] {
                if let Some(u) = url
                    && let Some(reason) = connect_hosts::refuse_production(field, u)
                {
                    return Err((key(field), reason));
                }
            }
        }
        if let Err(reason) = base_url(c, a) {
            return Err((key("base_url"), reason));
        }
        if mode == Mode::Paper
            && let Some(p) = &a.paper
            && p.price_source != super::PaperAccountConfig::default().price_source
        {
            return Err((
                key("paper.price_source"),
                format!(
                    "an {} account in paper mode takes its prices from {}'s public market data; remove price_source",
                    a.venue.as_str(),
                    a.venue.as_str()
                ),
            ));
        }
    }
    Ok(())
}

/// The REST base an exchange account uses in its mode (see the module table).
pub fn base_url(c: &Config, a: &AccountConfig) -> Result<String, String> {
    let venue = a.venue.as_str();
    let mode = c.account_mode(a);
    if let Some(u) = &a.base_url {
        return Ok(u.clone());
    }
    let testnet = matches!(mode, Mode::Testnet | Mode::DryRun);
    a.venue
        .exchange()
        .and_then(|v| tradeengine_venues::connect::default_base_url(v, testnet))
        .map(str::to_string)
        .ok_or_else(|| {
            format!(
                "{venue} has no {} network; set base_url (a {} account cannot default to production)",
                mode.as_str(),
                mode.as_str()
            )
        })
}

/// One line saying what an account really does, for the banner, `status`, the API and the
/// dashboard: e.g. `paper on bybit public data (https://api.bybit.com)`.
pub fn describe(c: &Config, a: &AccountConfig) -> String {
    let mode = c.account_mode(a);
    if a.venue == VenueKind::Paper {
        let source = a
            .paper
            .as_ref()
            .map(|p| p.price_source.clone())
            .unwrap_or_else(|| "walk".into());
        return format!("{} on the paper venue (prices: {source})", mode.as_str());
    }
    let venue = a.venue.as_str();
    let url = base_url(c, a).unwrap_or_else(|e| e);
    let host = connect_hosts::host_of(&url).unwrap_or(url);
    match mode {
        Mode::Paper => format!("paper on {venue} public data ({host}; no keys, simulated fills)"),
        Mode::DryRun => format!("dry-run on {venue} ({host}; private reads only, nothing sent)"),
        Mode::Testnet => format!("testnet on {venue} ({host})"),
        Mode::Live => format!("LIVE on {venue} ({host}; real orders, real money)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overrides, load_str};

    fn account(mode: &str, base_url: Option<&str>, venue: &str) -> String {
        let url = base_url
            .map(|u| format!("base_url = \"{u}\"\n"))
            .unwrap_or_default();
        format!(
            "[engine]\nmode = \"{mode}\"\n[[accounts]]\nname = \"a\"\nvenue = \"{venue}\"\ncredentials = \"env:X\"\n{url}"
        )
    }

    #[test]
    fn testnet_refuses_every_production_host_and_names_the_owner() {
        for (venue, url) in [
            ("bybit", "https://api.bybit.com"),
            ("bybit", "https://api.bytick.com"),
            ("bybit", "https://fapi.binance.com"),
            ("binance", "https://fapi.binance.com"),
            ("blofin", "https://openapi.blofin.com"),
            ("kucoin", "https://api-futures.kucoin.com"),
            ("mexc", "https://contract.mexc.com"),
        ] {
            let e = load_str(
                &account("testnet", Some(url), venue),
                None,
                &[],
                &Overrides::default(),
            )
            .err()
            .unwrap_or_else(|| panic!("{venue} {url} accepted"));
            assert_eq!(e.key, "accounts[0].base_url", "{e}");
            assert!(e.reason.contains("production host"), "{e}");
        }
        for (venue, url) in [
            ("bybit", "https://api-testnet.bybit.com"),
            ("binance", "https://demo-fapi.binance.com"),
            ("mexc", "http://127.0.0.1:9001"),
        ] {
            load_str(
                &account("testnet", Some(url), venue),
                None,
                &[],
                &Overrides::default(),
            )
            .unwrap_or_else(|e| panic!("{venue} {url}: {e}"));
        }
    }

    #[test]
    fn testnet_without_a_test_network_needs_a_base_url() {
        let e = load_str(
            &account("testnet", None, "mexc"),
            None,
            &[],
            &Overrides::default(),
        )
        .err()
        .map(|e| e.reason);
        assert!(e.is_some_and(|r| r.contains("no testnet network")));
    }

    #[test]
    fn paper_mode_on_an_exchange_reads_production_public_data_and_says_so() {
        let c = load_str(
            &account("paper", None, "bybit"),
            None,
            &[],
            &Overrides::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            describe(&c, &c.accounts[0]),
            "paper on bybit public data (api.bybit.com; no keys, simulated fills)"
        );
        // A mainnet base_url in paper mode is public data only, never refused.
        let c = load_str(
            &account("paper", Some("https://api.bybit.com"), "bybit"),
            None,
            &[],
            &Overrides::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(describe(&c, &c.accounts[0]).starts_with("paper on bybit public data"));
    }
}
