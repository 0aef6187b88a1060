//! Bittensor SN8 / PTN validator payloads: positions, statistics and eliminations documents
//! (gzip or plain JSON, with non-finite numbers).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tradeengine_signals::sn8::{parse_eliminations, parse_positions, parse_statistics};

fuzz_target!(|data: &[u8]| {
    let _ = parse_positions(data);
    let _ = parse_statistics(data);
    let _ = parse_eliminations(data);
});
