//! The PTN/Vanta REST payloads (https://github.com/taoshidev/proprietary-trading-network), read
//! tolerantly.
//!
//! Every field is optional and tolerant of type changes (see [`super::lenient`]); unknown fields
//! are skipped without being materialised (`price_sources` and the Vanta additions cost nothing).
//! Format differences handled:
//! - `close_ms` is `0` for open positions in REST output and `null` elsewhere: both mean open;
//! - `trade_pair` is a 5- or 6-element array `[id, "BASE/QUOTE", fee, min, max(, …)]`, a bare id
//!   string, or a dict with `trade_pair_id`: the id is kept in every case;
//! - `is_closed_position` may be missing in old data: `position_type == "FLAT"`, a FLAT order
//!   or a positive `close_ms` also mean closed;
//! - `thirty_day_returns_augmented` (older outputs) stands in for a missing `thirty_day_returns`.
//!
//! The top-level `/miner-positions` map is read into a list in document order, because the
//! validator orders miners by returns and sirouk/trade-engine's tie-breaks depend on that order.

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::lenient::{lenient_opt, lenient_vec, opt_bool, opt_f64, opt_i64, opt_string};

/// The statistics computed from a position's orders while it is parsed (a child of the types it
/// reads, so neither module needs the other back).
pub mod summary;

pub use summary::OrderSummary;

/// The row shapes a payload may use (objects, JSON-encoded strings, junk), read without losing
/// a row.
mod rows;

/// `LONG`, `SHORT` or `FLAT`, as orders and positions spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Long,
    Short,
    Flat,
}

impl Side {
    fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("LONG") {
            Some(Self::Long)
        } else if s.eq_ignore_ascii_case("SHORT") {
            Some(Self::Short)
        } else if s.eq_ignore_ascii_case("FLAT") {
            Some(Self::Flat)
        } else {
            None
        }
    }
}

fn opt_side<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Side>, D::Error> {
    Ok(opt_string(d)?.as_deref().and_then(Side::parse))
}

/// A trade pair id (`BTCUSD`), stored inline: ranking compares one per position across 100 000
/// positions, and a heap string per position would cost a cache miss each time.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TradePairId {
    len: u8,
    /// Already in normalised form (upper-case letters and digits only).
    canonical: bool,
    bytes: [u8; 22],
}

impl TradePairId {
    /// Printable ASCII ids up to 22 bytes; anything else is not a trade pair we could follow.
    pub fn new(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.is_empty() || b.len() > 22 || !b.iter().all(|c| c.is_ascii_graphic()) {
            return None;
        }
        let mut bytes = [0u8; 22];
        bytes[..b.len()].copy_from_slice(b);
        Some(Self {
            len: b.len() as u8,
            canonical: b
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
            bytes,
        })
    }

    /// True when the id is already in normalised form (`BTCUSD`, not `btc/usd`).
    pub fn is_canonical(&self) -> bool {
        self.canonical
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl fmt::Debug for TradePairId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// The trade pair id from any of its shapes.
fn trade_pair_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<TradePairId>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<TradePairId>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a trade pair")
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(TradePairId::new(v))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let id = seq.next_element::<IdOnly>()?.and_then(|x| x.0);
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(id.as_deref().and_then(TradePairId::new))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut id = None;
            while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if k == "trade_pair_id" {
                    id = map.next_value::<IdOnly>()?.0;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(id.as_deref().and_then(TradePairId::new))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// A string-or-nothing element.
struct IdOnly(Option<String>);

impl<'de> Deserialize<'de> for IdOnly {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        opt_string(d).map(IdOnly)
    }
}

/// One order inside a position.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Order {
    #[serde(deserialize_with = "opt_side")]
    pub order_type: Option<Side>,
    /// Signed: positive for LONG, negative for SHORT. A FLAT order's value depends on the era.
    #[serde(deserialize_with = "opt_f64")]
    pub leverage: Option<f64>,
    #[serde(deserialize_with = "opt_f64")]
    pub price: Option<f64>,
    #[serde(deserialize_with = "opt_i64")]
    pub processed_ms: Option<i64>,
    /// Who placed it: 0 miner, 1–4 forced closes, Vanta 5–10 limit/bracket states.
    #[serde(deserialize_with = "opt_i64")]
    pub src: Option<i64>,
}

impl Order {
    /// Vanta's unfilled or cancelled limit/bracket orders (src 5, 7, 8, 10) never moved the
    /// position; everything else did.
    pub fn was_filled(&self) -> bool {
        !matches!(self.src, Some(5 | 7 | 8 | 10))
    }
}

/// One position: uni-directional, many orders.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Position {
    #[serde(deserialize_with = "opt_string")]
    pub position_uuid: Option<String>,
    /// Present in REST rows and in every WebSocket update (which names the miner only here).
    #[serde(deserialize_with = "opt_string")]
    pub miner_hotkey: Option<String>,
    #[serde(deserialize_with = "trade_pair_id")]
    pub trade_pair: Option<TradePairId>,
    #[serde(deserialize_with = "opt_i64")]
    pub open_ms: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub close_ms: Option<i64>,
    #[serde(deserialize_with = "opt_bool")]
    pub is_closed_position: Option<bool>,
    #[serde(deserialize_with = "opt_side")]
    pub position_type: Option<Side>,
    #[serde(deserialize_with = "opt_f64")]
    pub net_leverage: Option<f64>,
    #[serde(deserialize_with = "opt_f64")]
    pub average_entry_price: Option<f64>,
    #[serde(deserialize_with = "opt_f64")]
    pub current_return: Option<f64>,
    #[serde(deserialize_with = "opt_f64")]
    pub return_at_close: Option<f64>,
    #[serde(deserialize_with = "lenient_vec")]
    pub orders: Vec<Order>,
    /// Statistics of `orders`, computed once when parsed (see [`OrderSummary`]).
    #[serde(skip)]
    pub summary: OrderSummary,
    /// How the row arrived; an unreadable one is kept (empty) so it is counted, never lost.
    #[serde(skip)]
    pub origin: RowOrigin,
}

/// How a position row was written in the payload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RowOrigin {
    /// A JSON object (the REST output).
    #[default]
    Object,
    /// A JSON-encoded string holding the object (the older override file), parsed.
    JsonString,
    /// Neither an object nor a string that parses as one: counted as unusable.
    Unreadable,
}

impl Position {
    /// Recomputes [`Position::summary`] after `orders` were built or edited in code.
    pub fn refresh_summary(&mut self) {
        self.summary = OrderSummary::of(&self.orders);
    }

    /// The order statistics: the cached ones when present, else computed now.
    pub fn order_summary(&self) -> OrderSummary {
        if self.summary.computed {
            self.summary
        } else {
            OrderSummary::of(&self.orders)
        }
    }

    /// Closed by any of the signs the formats use.
    pub fn is_closed(&self) -> bool {
        self.is_closed_position == Some(true)
            || self.position_type == Some(Side::Flat)
            || self.close_ms.is_some_and(|c| c > 0)
            || self.order_summary().has_flat_order
    }

    /// The close time, when there is one (`0` and `null` both mean open).
    pub fn closed_at_ms(&self) -> Option<i64> {
        self.close_ms.filter(|c| *c > 0)
    }

    /// The multiplicative return that counts for scoring: at close for closed positions,
    /// current for open ones.
    pub fn scoring_return(&self) -> Option<f64> {
        if self.is_closed() {
            self.return_at_close.or(self.current_return)
        } else {
            self.current_return
        }
    }

    /// The latest time anything happened in this position.
    pub fn last_activity_ms(&self) -> Option<i64> {
        self.closed_at_ms()
            .max(self.open_ms)
            .max(self.order_summary().last_order_ms)
    }
}

/// One miner's entry in `/miner-positions`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct MinerPositions {
    #[serde(deserialize_with = "opt_f64")]
    pub all_time_returns: Option<f64>,
    #[serde(deserialize_with = "opt_f64")]
    pub thirty_day_returns: Option<f64>,
    #[serde(deserialize_with = "opt_f64")]
    pub thirty_day_returns_augmented: Option<f64>,
    #[serde(deserialize_with = "opt_i64")]
    pub n_positions: Option<i64>,
    #[serde(deserialize_with = "opt_f64")]
    pub percentage_profitable: Option<f64>,
    #[serde(deserialize_with = "opt_i64")]
    pub tier: Option<i64>,
    #[serde(deserialize_with = "positions")]
    pub positions: Vec<Position>,
}

/// Positions with their order summaries computed while the orders are still in cache. Rows that
/// are JSON-encoded strings (the older override file writes them so) are parsed; rows that are
/// neither an object nor such a string are kept as empty [`RowOrigin::Unreadable`] rows, so the
/// ranking counts them instead of losing them. The whole list may also be one JSON-encoded
/// string.
fn positions<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Position>, D::Error> {
    let mut v = rows::PositionList::deserialize(d)?.0;
    for p in &mut v {
        p.refresh_summary();
    }
    Ok(v)
}

impl MinerPositions {
    pub fn thirty_day(&self) -> Option<f64> {
        self.thirty_day_returns
            .or(self.thirty_day_returns_augmented)
    }
}

/// `/miner-positions`: `{hotkey: MinerPositions}` in document order. Entries that are not
/// objects are counted in `skipped` and otherwise ignored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PositionsDoc {
    pub miners: Vec<(String, MinerPositions)>,
    pub skipped: usize,
}

impl<'de> Deserialize<'de> for PositionsDoc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PositionsDoc;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of hotkey → miner positions")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PositionsDoc, A::Error> {
                let mut doc = PositionsDoc::default();
                while let Some(hotkey) = map.next_key::<String>()? {
                    match map.next_value::<rows::MinerRow>()?.0 {
                        Some(m) => doc.miners.push((hotkey, m)),
                        None => doc.skipped += 1,
                    }
                }
                Ok(doc)
            }
        }
        d.deserialize_map(V)
    }
}

/// `{"value": …, "rank": …}` blocks of the statistics document.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ValueRank {
    #[serde(deserialize_with = "opt_f64")]
    pub value: Option<f64>,
    #[serde(deserialize_with = "opt_i64")]
    pub rank: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ChallengePeriod {
    /// `testing` (challenge), `success` (main competition), `probation`, `plagiarism`.
    #[serde(deserialize_with = "opt_string")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Drawdowns {
    /// Ratio: 0.97 is a 3 % drawdown.
    #[serde(deserialize_with = "opt_f64")]
    pub instantaneous_max_drawdown: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Penalties {
    #[serde(deserialize_with = "opt_f64")]
    pub total: Option<f64>,
}

/// One miner in `/statistics` `data[]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct MinerStatistics {
    #[serde(deserialize_with = "opt_string")]
    pub hotkey: Option<String>,
    #[serde(deserialize_with = "lenient_opt")]
    pub challengeperiod: Option<ChallengePeriod>,
    #[serde(deserialize_with = "lenient_opt")]
    pub weight: Option<ValueRank>,
    #[serde(deserialize_with = "lenient_opt")]
    pub drawdowns: Option<Drawdowns>,
    #[serde(deserialize_with = "lenient_opt")]
    pub penalties: Option<Penalties>,
    #[serde(deserialize_with = "opt_f64")]
    pub plagiarism: Option<f64>,
}

/// `/statistics` (only what miner selection reads).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct StatisticsDoc {
    #[serde(deserialize_with = "opt_i64")]
    pub created_timestamp_ms: Option<i64>,
    #[serde(deserialize_with = "lenient_vec")]
    pub data: Vec<MinerStatistics>,
}

/// One row of `/eliminations`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Elimination {
    #[serde(deserialize_with = "opt_string")]
    pub hotkey: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub reason: Option<String>,
    #[serde(deserialize_with = "opt_i64")]
    pub elimination_initiated_time_ms: Option<i64>,
}

/// `/eliminations`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct EliminationsDoc {
    #[serde(deserialize_with = "lenient_vec")]
    pub eliminations: Vec<Elimination>,
}
