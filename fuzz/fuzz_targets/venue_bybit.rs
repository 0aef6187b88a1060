//! Bybit v5 `result` objects the adapter reads, and their conversion to the model.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tradeengine_model::MarginMode;
use tradeengine_venues::bybit::models::{
    AccountInfo, InstrumentRow, OrderRow, Page, PositionRow, TickerRow, WalletAccount,
};
use tradeengine_venues::bybit::permissions::parse_withdrawal_permission;

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = serde_json::from_slice::<Page<InstrumentRow>>(data) {
        for row in &page.list {
            let _ = row.to_instrument();
        }
    }
    if let Ok(page) = serde_json::from_slice::<Page<PositionRow>>(data) {
        for row in &page.list {
            let _ = row.to_position(MarginMode::Cross);
        }
    }
    if let Ok(page) = serde_json::from_slice::<Page<OrderRow>>(data) {
        for row in &page.list {
            let _ = row.to_status();
        }
    }
    let _ = serde_json::from_slice::<Page<TickerRow>>(data);
    let _ = serde_json::from_slice::<Page<WalletAccount>>(data);
    if let Ok(info) = serde_json::from_slice::<AccountInfo>(data) {
        let _ = info.margin_mode();
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = parse_withdrawal_permission(&v);
    }
});
