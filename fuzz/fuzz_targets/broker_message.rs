//! NATS / RabbitMQ / REST message bodies: the canonical, strategy signal
//! (`petrosa`) and amount signal (`seed004`) formats.
#![no_main]

use chrono::{TimeDelta, TimeZone};
use libfuzzer_sys::fuzz_target;
use tradeengine_model::SourceId;
use tradeengine_signals::SymbolMap;
use tradeengine_signals::canonical::parse_canonical;
use tradeengine_signals::message::MessageContext;
use tradeengine_signals::strategy_signal::{StrategySignalOptions, parse_strategy_signal};
use tradeengine_signals::amount_signal::parse_amount_signal;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = SourceId::new("fuzz") else {
        return;
    };
    let Ok(map) = SymbolMap::new([("BTCUSDT", "BTCUSDT")]) else {
        return;
    };
    let Some(now) = chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single() else {
        return;
    };
    let mut ctx = MessageContext::new(&source, &map, now);
    ctx.max_age = Some(TimeDelta::seconds(300));
    for result in [
        parse_canonical(data, &ctx),
        parse_strategy_signal(data, &ctx, &StrategySignalOptions::default()),
        parse_amount_signal(data, &ctx),
    ] {
        match result {
            Ok(s) => assert_eq!(s.source, source),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
});
