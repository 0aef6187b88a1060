//! KuCoin Futures adapter: USDT-margined perpetuals (`XBTUSDTM`, `{BASE}USDTM`), one-way
//! positions, sizes in integer lots of `multiplier` (https://www.kucoin.com/docs/).
//!
//! - [`auth`]: the signature and the key-version-2 passphrase (itself HMAC-signed);
//! - [`codes`]: what each `code` means for the caller (`200000` is success, on any status);
//! - [`http`]: signed requests, the envelope, the Rate Limit 2.0 pool and its headers, the
//!   clock resync on 400002;
//! - [`models`]: reply shapes and their conversion to the model (lots ↔ base units);
//! - [`stream`]: the private WebSocket (token from `bullet-private`; order changes, positions);
//! - [`venue`]: [`KucoinVenue`], the [`crate::Venue`] implementation.

pub mod auth;
pub mod codes;
pub mod http;
pub mod klines;
pub mod models;
pub mod stream;
pub mod venue;

pub use venue::KucoinVenue;

/// The `venue` of every KuCoin error.
pub const VENUE: &str = "kucoin";
/// KuCoin Futures REST. There is no public futures sandbox any more, so there is no testnet
/// URL: a non-live KuCoin account must name its `base_url` (a simulator).
pub const MAINNET_URL: &str = "https://api-futures.kucoin.com";

/// KuCoin's name of a USDT perpetual: `BTCUSDT` → `XBTUSDTM` (Bitcoin is `XBT`), otherwise
/// `{BASE}USDT` → `{BASE}USDTM`. `None` for symbols that are not `{BASE}USDT`.
pub fn venue_symbol(symbol: &str) -> Option<String> {
    let base = symbol.strip_suffix("USDT").filter(|b| !b.is_empty())?;
    let base = if base == "BTC" { "XBT" } else { base };
    Some(format!("{base}USDTM"))
}

/// The engine's name of a KuCoin USDT perpetual: `XBTUSDTM` → `BTCUSDT`, `ETHUSDTM` →
/// `ETHUSDT`; `None` for anything else (`XBTUSDM` is inverse, dated futures have no `M`).
pub fn engine_symbol(venue_symbol: &str) -> Option<String> {
    let base = venue_symbol
        .strip_suffix("USDTM")
        .filter(|b| !b.is_empty())?;
    let base = if base == "XBT" { "BTC" } else { base };
    Some(format!("{base}USDT"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_map_both_ways() {
        assert_eq!(venue_symbol("BTCUSDT").as_deref(), Some("XBTUSDTM"));
        assert_eq!(venue_symbol("ETHUSDT").as_deref(), Some("ETHUSDTM"));
        assert_eq!(venue_symbol("USDT"), None);
        assert_eq!(engine_symbol("XBTUSDTM").as_deref(), Some("BTCUSDT"));
        assert_eq!(engine_symbol("SOLUSDTM").as_deref(), Some("SOLUSDT"));
        assert_eq!(engine_symbol("XBTUSDM"), None);
        assert_eq!(engine_symbol("USDTM"), None);
    }
}
