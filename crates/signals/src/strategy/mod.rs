//! The strategy source's pure parts (issue 10, seed 002): candles → indicators → VuManChu Cipher
//! A/B → a market snapshot → a decision (an LLM's, validated, or the rule-based fallback's) → an
//! order intent into the strategy's own sleeve.
//!
//! - [`candles`]: OHLCV candles and the bounded, time-ordered window with gap detection;
//! - [`indicators`]: EMA, SMA, RSI, MFI, Stochastic RSI, ATR, WaveTrend (golden-tested against
//!   TA-Lib, `scripts/indicators_reference.py`);
//! - [`cipher`]: Cipher A (EMA ribbon, diamonds, yellow crosses, candles) and Cipher B (circles,
//!   money flow, divergences), and the [`cipher::MarketState`] snapshot.

pub mod candles;
pub mod cipher;
pub mod indicators;

pub use candles::{Candle, CandleWindow, PushOutcome};
pub use cipher::{CipherAParams, CipherBParams, MarketState};
