//! BloFin adapter: USDT perpetuals (`BTC-USDT`), one-way (`net`) position mode, sizes in
//! contracts of `contractValue` (https://docs.blofin.com/index.html).
//!
//! - [`auth`]: the signature (base64 of the *hex text* of the HMAC) and per-request nonces;
//! - [`codes`]: what each `code` means for the caller — BloFin answers HTTP 200 on errors and
//!   puts the code at the top level **and** per item of `data`;
//! - [`http`]: signed requests, the envelope, rate limits, the clock read from `Date`;
//! - [`models`]: reply shapes and their conversion to the model (contracts ↔ base units);
//! - [`stream`]: the private WebSocket (orders, positions);
//! - [`venue`]: [`BlofinVenue`], the [`crate::Venue`] implementation.

pub mod auth;
pub mod codes;
pub mod http;
pub mod klines;
pub mod models;
pub mod stream;
pub mod venue;

pub use venue::BlofinVenue;

/// The `venue` of every BloFin error.
pub const VENUE: &str = "blofin";
pub const MAINNET_URL: &str = "https://openapi.blofin.com";
pub const DEMO_URL: &str = "https://demo-trading-openapi.blofin.com";
pub const MAINNET_STREAM: &str = "wss://openapi.blofin.com/ws/private";
pub const DEMO_STREAM: &str = "wss://demo-trading-openapi.blofin.com/ws/private";

/// The private stream URL for a REST base URL: BloFin's own hosts map to their stream hosts;
/// any other base (a simulator, a proxy) serves `/ws/private` on the same host.
pub fn stream_url(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    match base {
        MAINNET_URL => MAINNET_STREAM.to_string(),
        DEMO_URL => DEMO_STREAM.to_string(),
        _ => {
            let ws = if let Some(rest) = base.strip_prefix("https://") {
                format!("wss://{rest}")
            } else if let Some(rest) = base.strip_prefix("http://") {
                format!("ws://{rest}")
            } else {
                base.to_string()
            };
            format!("{ws}/ws/private")
        }
    }
}

/// BloFin's name of a USDT perpetual: `BTCUSDT` → `BTC-USDT`. `None` for symbols that are
/// not `{BASE}USDT`. (sirouk/trade-engine also rewrote `1000PEPEUSDT` to `PEPE-USDT`, which trades
/// a contract of a different size under the same name; here names map one to one.)
pub fn venue_symbol(symbol: &str) -> Option<String> {
    let base = symbol.strip_suffix("USDT").filter(|b| !b.is_empty())?;
    Some(format!("{base}-USDT"))
}

/// The engine's name of a BloFin instrument: `BTC-USDT` → `BTCUSDT`; `None` for anything but
/// a `{BASE}-USDT` perpetual.
pub fn engine_symbol(inst_id: &str) -> Option<String> {
    let base = inst_id.strip_suffix("-USDT").filter(|b| !b.is_empty())?;
    (!base.contains('-')).then(|| format!("{base}USDT"))
}

/// BloFin's form of a client order id. BloFin takes letters, digits and underscores only
/// (error 152009), and engine ids use `-` between the plan prefix and the leg, so `-` is sent
/// as `_`. Ids that already hold a `_` would make the mapping ambiguous and are refused.
pub fn venue_client_id(id: &str) -> Option<String> {
    (!id.contains('_')).then(|| id.replace('-', "_"))
}

/// The engine's form of a client order id BloFin reports (the inverse of
/// [`venue_client_id`]).
pub fn engine_client_id(venue_id: &str) -> String {
    venue_id.replace('_', "-")
}

#[cfg(test)]
mod tests {
    #[test]
    fn client_ids_round_trip_without_dashes_on_the_wire() {
        let id = "te3f9a0c1d2b4e5f60718293a4-0";
        let wire = venue_client_id(id).unwrap_or_default();
        assert_eq!(wire, "te3f9a0c1d2b4e5f60718293a4_0");
        assert_eq!(engine_client_id(&wire), id);
        assert_eq!(venue_client_id("has_underscore"), None);
    }

    use super::*;

    #[test]
    fn stream_urls() {
        assert_eq!(stream_url("https://openapi.blofin.com/"), MAINNET_STREAM);
        assert_eq!(stream_url(DEMO_URL), DEMO_STREAM);
        assert_eq!(
            stream_url("http://127.0.0.1:9000"),
            "ws://127.0.0.1:9000/ws/private"
        );
    }

    #[test]
    fn symbols_map_both_ways() {
        assert_eq!(venue_symbol("BTCUSDT").as_deref(), Some("BTC-USDT"));
        assert_eq!(
            venue_symbol("1000PEPEUSDT").as_deref(),
            Some("1000PEPE-USDT")
        );
        assert_eq!(venue_symbol("USDT"), None);
        assert_eq!(venue_symbol("BTCUSDC"), None);
        assert_eq!(engine_symbol("BTC-USDT").as_deref(), Some("BTCUSDT"));
        assert_eq!(engine_symbol("BTC-USDT-SWAP"), None);
        assert_eq!(engine_symbol("BTC-USD"), None);
        assert_eq!(engine_symbol("-USDT"), None);
    }
}
