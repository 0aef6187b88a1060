//! The embedded default: what `tradeengine run` does with no configuration at all. One paper
//! account with 10,000 USDT trading BTCUSDT and ETHUSDT, fed by a demo source that replays a
//! seeded script of target signals over a generated price walk, so trades happen within seconds.
//!
//! It is written as TOML and loaded through the same parser and validation as a user's file, so
//! the demo can never drift from what the configuration reference documents.

/// The demo configuration: `examples/demo.toml`, compiled in.
pub const DEMO_TOML: &str = include_str!("../../../../examples/demo.toml");
