//! Binance USDⓈ-M replies the adapter reads, and their conversion to the model.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rust_decimal::Decimal;
use tradeengine_venues::binance::models::{
    Account, ExchangeInfo, OrderObj, PositionRisk, SymbolConfig,
};
use tradeengine_venues::binance::permissions::parse_withdrawal_permission;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = serde_json::from_slice::<ExchangeInfo>(data) {
        for s in &info.symbols {
            let _ = s.to_instrument(Decimal::from(125));
        }
    }
    let configs = serde_json::from_slice::<Vec<SymbolConfig>>(data).unwrap_or_default();
    for c in &configs {
        let _ = (c.margin_mode(), c.leverage());
    }
    if let Ok(rows) = serde_json::from_slice::<Vec<PositionRisk>>(data) {
        for r in &rows {
            let _ = r.to_position(configs.first());
        }
    }
    if let Ok(order) = serde_json::from_slice::<OrderObj>(data) {
        let _ = order.to_status(Decimal::ZERO);
    }
    let _ = serde_json::from_slice::<Account>(data);
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = parse_withdrawal_permission(&v);
    }
});
