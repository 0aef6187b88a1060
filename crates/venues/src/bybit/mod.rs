//! Bybit v5 adapter: unified account, category `linear` (USDT perpetuals), one-way mode.
//!
//! - [`auth`]: request and stream signatures;
//! - [`batch`]: batch order entry (`/v5/order/create-batch`);
//! - [`codes`]: what each `retCode` means for the caller;
//! - [`http`]: signed requests, the envelope, rate limits, clock resync;
//! - [`models`]: reply shapes and their conversion to the model;
//! - [`permissions`]: the key's permissions (a key that can withdraw is refused);
//! - [`stream`]: the private WebSocket (orders, positions);
//! - [`venue`]: [`BybitVenue`], the [`crate::Venue`] implementation.

pub mod auth;
pub mod batch;
pub mod codes;
pub mod http;
pub mod klines;
pub mod models;
pub mod permissions;
pub mod stream;
pub mod venue;

pub use venue::BybitVenue;

/// The `venue` of every Bybit error.
pub const VENUE: &str = "bybit";
pub const MAINNET_URL: &str = "https://api.bybit.com";
pub const TESTNET_URL: &str = "https://api-testnet.bybit.com";
pub const MAINNET_STREAM: &str = "wss://stream.bybit.com/v5/private";
pub const TESTNET_STREAM: &str = "wss://stream-testnet.bybit.com/v5/private";

/// The private stream URL for a REST base URL: Bybit's own hosts map to their stream hosts;
/// any other base (a simulator, a proxy) serves `/v5/private` on the same host.
pub fn stream_url(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    match base {
        MAINNET_URL | "https://api.bytick.com" => MAINNET_STREAM.to_string(),
        TESTNET_URL => TESTNET_STREAM.to_string(),
        _ => {
            let ws = if let Some(rest) = base.strip_prefix("https://") {
                format!("wss://{rest}")
            } else if let Some(rest) = base.strip_prefix("http://") {
                format!("ws://{rest}")
            } else {
                base.to_string()
            };
            format!("{ws}/v5/private")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_urls() {
        assert_eq!(stream_url("https://api.bybit.com/"), MAINNET_STREAM);
        assert_eq!(stream_url(TESTNET_URL), TESTNET_STREAM);
        assert_eq!(
            stream_url("http://127.0.0.1:9000"),
            "ws://127.0.0.1:9000/v5/private"
        );
    }
}
