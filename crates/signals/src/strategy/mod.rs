//! The strategy source's pure parts (after Angleito/Single-Agent-Trader's LLM bot): candles →
//! indicators → VuManChu Cipher A/B → a market snapshot → a decision (an LLM's, validated, or the
//! rule-based fallback's) → an order intent into the strategy's own sleeve.
//!
//! - [`candles`]: OHLCV candles and the bounded, time-ordered window with gap detection;
//! - [`indicators`]: EMA, SMA, RSI, MFI, Stochastic RSI, ATR, WaveTrend (golden-tested against
//!   TA-Lib, `scripts/indicators_reference.py`);
//! - [`cipher`]: Cipher A (EMA ribbon, diamonds, yellow crosses, candles) and Cipher B (circles,
//!   money flow, divergences), and the [`cipher::MarketState`] snapshot;
//! - [`decision`]: the strict JSON decision schema, Single-Agent-Trader's validator rules, the
//!   order intent;
//! - [`fallback`]: the rule-based decision (with ATR-based stops);
//! - [`prompt`], [`llm`] (OpenAI-compatible client) and [`agent`] (LLM, else the rules).
//!
//! Everything but [`llm`] and [`agent`] is pure and synchronous.

pub mod agent;
pub mod candles;
pub mod cipher;
pub mod decision;
pub mod fallback;
pub mod indicators;
pub mod llm;
pub mod prompt;

pub use agent::{Agent, Origin, Outcome};
pub use candles::{Candle, CandleWindow, PushOutcome};
pub use cipher::{CipherAParams, CipherBParams, MarketState};
pub use decision::{Action, Decision, DecisionRules, Position};
pub use fallback::FallbackParams;
pub use llm::{LlmClient, LlmConfig, LlmError};
