//! MEXC Futures (contract API) adapter: USDT-margined perpetuals, one-way position mode.
//!
//! - [`auth`]: request and stream signatures;
//! - [`codes`]: what each `code` means for the caller, including the "order entry restricted"
//!   answers MEXC has given since 2022;
//! - [`json`]: reading replies without ever holding a number as `f64`;
//! - [`sides`]: the side codes 1–4 and how a net position change maps onto them;
//! - [`http`]: signed requests, the `{success, code, data, message}` envelope, rate limits,
//!   clock resync;
//! - [`models`]: reply shapes and their conversion to the model (contracts ↔ base units);
//! - [`stream`]: the private WebSocket (`/edge`, `login`, `push.personal.*`);
//! - [`venue`]: [`MexcVenue`], the [`crate::Venue`] implementation.
//!
//! Access: MEXC has labelled its contract order endpoints "under maintenance" since
//! 2022-07-25 and answers many accounts' orders with a refusal. The adapter implements the
//! documented API and reports such a refusal as [`crate::VenueErrorKind::Unsupported`] with
//! the venue's code, never as a retryable or ambiguous failure (see [`codes`]).

pub mod auth;
pub mod codes;
pub mod contracts;
pub mod http;
pub mod json;
pub mod klines;
pub mod models;
pub mod sides;
pub mod stream;
pub mod venue;

pub use venue::MexcVenue;

/// The `venue` of every MEXC error.
pub const VENUE: &str = "mexc";
/// The documented contract host. MEXC has no futures testnet.
pub const MAINNET_URL: &str = "https://contract.mexc.com";
pub const MAINNET_STREAM: &str = "wss://contract.mexc.com/edge";

/// The private stream URL for a REST base URL: MEXC's own host maps to its stream host; any
/// other base (a simulator, a proxy) serves `/edge` on the same host.
pub fn stream_url(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    match base {
        MAINNET_URL | "https://api.mexc.com" => MAINNET_STREAM.to_string(),
        _ => {
            let ws = if let Some(rest) = base.strip_prefix("https://") {
                format!("wss://{rest}")
            } else if let Some(rest) = base.strip_prefix("http://") {
                format!("ws://{rest}")
            } else {
                base.to_string()
            };
            format!("{ws}/edge")
        }
    }
}

/// MEXC's name for a unified symbol: `BTCUSDT` → `BTC_USDT`. `None` for anything not quoted in
/// USDT (the only contracts this adapter trades).
pub fn venue_symbol(unified: &str) -> Option<String> {
    let base = unified.strip_suffix("USDT").filter(|b| !b.is_empty())?;
    Some(format!("{base}_USDT"))
}

/// The unified name of a MEXC contract: `BTC_USDT` → `BTCUSDT`.
pub fn unified_symbol(venue: &str) -> String {
    venue.replace('_', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_urls() {
        assert_eq!(stream_url("https://contract.mexc.com/"), MAINNET_STREAM);
        assert_eq!(
            stream_url("http://127.0.0.1:9002"),
            "ws://127.0.0.1:9002/edge"
        );
    }

    #[test]
    fn symbols_use_an_underscore_on_the_venue() {
        assert_eq!(venue_symbol("BTCUSDT").as_deref(), Some("BTC_USDT"));
        assert_eq!(venue_symbol("S001USDT").as_deref(), Some("S001_USDT"));
        assert_eq!(venue_symbol("USDT"), None);
        assert_eq!(venue_symbol("BTCUSDC"), None);
        assert_eq!(unified_symbol("ETH_USDT"), "ETHUSDT");
    }
}
