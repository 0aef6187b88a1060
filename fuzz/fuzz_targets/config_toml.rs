//! Configuration files: TOML text through layering and validation. An error always names its
//! key or the place the syntax broke.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tradeengine_engine::config::{Overrides, load_str};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = load_str(text, None, &[], &Overrides::default()) {
        assert!(!e.reason.trim().is_empty());
    }
});
