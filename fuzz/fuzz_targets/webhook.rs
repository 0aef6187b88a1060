//! TradingView webhook bodies (JSON and plain text), with and without a secret configured.
#![no_main]

use chrono::TimeZone;
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use tradeengine_model::SourceId;
use tradeengine_signals::SymbolMap;
use tradeengine_signals::tradingview::{TvConfig, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(source) = SourceId::new("tv") else {
        return;
    };
    let Ok(mapping) = SymbolMap::new([("BTCUSDT", "BTCUSDT"), ("BTCUSD", "BTCUSDT")]) else {
        return;
    };
    let Some(now) = chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single() else {
        return;
    };
    let mut open = TvConfig::new(source.clone(), None);
    open.allow_unauthenticated = true;
    let closed = TvConfig::new(source, Some(SecretString::from("fuzz-secret")));
    for cfg in [&open, &closed] {
        for content_type in [Some("application/json"), Some("text/plain"), None] {
            if let Err(e) = parse(data, content_type, cfg, &mapping, now) {
                assert!(!e.to_string().is_empty());
            }
        }
    }
});
