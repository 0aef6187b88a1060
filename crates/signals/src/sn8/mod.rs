//! Bittensor subnet 8 (PTN/Vanta): poll a validator, pick miners, follow their net positions.
//!
//! Pipeline: [`Sn8Client::fetch`] (HTTP, gzip, auth headers) → [`parse_positions`] (tolerant
//! of NaN/Infinity, old and new formats, tens of MB) → [`PopulationGuard`] → [`rank`] (`seed` or
//! PTN scoring, top-N, gradient weights, per-asset depth and price) → [`Sn8Source`] (signals for
//! changed assets, staleness). Everything but the client is pure; time is a parameter.
//!
//! Bugs of sirouk/trade-engine's SN8 processor fixed, each documented where it is fixed:
//! - the cycle crash on a miner with two open positions ([`metric_score`], fix 1);
//! - the miner-count guard that locked itself out forever ([`guard`]);
//! - return filters that never excluded anyone ([`metric_score`], fix 2);
//! - gains counted as drawdown, FLAT orders in the drawdown walk, recency from closed positions
//!   only ([`metric_score`], fixes 3–5);
//! - `leverage_limit_crypto` that had no effect: now each position's net leverage is capped at
//!   `leverage_limit` before it votes ([`rank`]);
//! - closed positions recognised only by a FLAT order, unfilled Vanta orders counted, float
//!   residue after a full reduce ([`net`]);
//! - no staleness limit ([`source`]);
//! - the GET-with-JSON-body key the current validator refuses: keys go in headers ([`client`]).
//!
//! The Vanta network's additions (taoshidev/vanta-network `docs/validator_rest_server.md`):
//! the key's data tier, always sent ([`config::Tier`]); `/trade-pairs` as the universe's rules
//! ([`trade_pairs`]); the WebSocket stream of position updates with sequence numbers
//! ([`stream`]), applied to a [`book::PositionBook`] that REST snapshots reset; every unusable
//! row counted by reason ([`unusable`]).

pub mod book;
pub mod client;
pub mod config;
pub mod feed;
pub mod guard;
pub mod lenient;
pub mod metric_score;
pub mod net;
pub mod parse;
pub mod ptn_score;
pub mod rank;
pub mod source;
pub mod stream;
pub mod trade_pairs;
pub mod types;
pub mod universe;
pub mod unusable;

pub use book::PositionBook;
pub use client::{Sn8Client, Sn8ClientConfig, Sn8Error, Sn8Payload, redact_url};
pub use config::{GuardParams, OnStale, PtnParams, Scoring, SeedParams, Sn8Config, Tier};
pub use feed::{FeedConfig, FeedEvent, run_feed};
pub use guard::{GuardVerdict, PopulationGuard};
pub use lenient::sanitize_non_finite;
pub use metric_score::{Exclusion, SeedMetrics};
pub use net::{NetPosition, net_position};
pub use parse::{Sn8ParseError, parse_eliminations, parse_positions, parse_statistics};
pub use rank::{
    AssetDepth, PtnInputs, RankError, RankedMiner, Ranking, format_ranking, rank, rank_weights,
};
pub use source::{RankOnceError, Sn8Event, Sn8Metrics, Sn8Source, Sn8Update, fetch_and_rank};
pub use stream::{StreamError, StreamEvent, StreamMessage, parse_stream_frame};
pub use trade_pairs::{
    AssetRule, PairRule, PairStatus, TradePairInfo, TradePairsDoc, parse_trade_pairs,
};
pub use types::{
    Elimination, EliminationsDoc, MinerPositions, MinerStatistics, Order, Position, PositionsDoc,
    Side, StatisticsDoc, TradePairId,
};
pub use types::{OrderSummary, summary};
pub use universe::Universe;
pub use unusable::{RowCounts, RowIssue, count_rows};
