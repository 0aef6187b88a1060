//! The validator's `/trade-pairs` (public, no key): which pairs miners may trade, and how.
//!
//! Shapes read (all from taoshidev/vanta-network `docs/validator_rest_server.md` and
//! `vanta_api/validator_rest_server.py`, copies in `tests/testdata/sn8/`):
//! - current: `{"allowed": [pair…], "disabled": [pair…], "total_allowed", "total_disabled",
//!   "timestamp"}`, each pair `{"trade_pair_id", "hl_coin", "trade_pair", "trade_pair_category",
//!   "trade_pair_source": "vanta"|"hyperliquid", "min_leverage", "max_leverage", …}`;
//! - earlier: `{"allowed_trade_pairs": [pair…], "allowed_trade_pair_ids": […],
//!   "total_trade_pairs", "timestamp"}` (blocked and deprecated pairs left out entirely).
//!
//! `deprecated` / `deprecated_trade_pairs` (pairs that may only be closed or reduced, which the
//! validator marks with src-2 FLAT orders when it retires a pair) is read with the same per-pair
//! shape. No published example of that list was found; the key name is the closest documented
//! shape and is marked as such in the fixtures.
//!
//! A pair the source follows that the document does not list at all is treated as dropped by the
//! validator: it goes flat, with that reason.

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

use super::lenient::{lenient_vec, opt_f64, opt_i64, opt_string};
use super::parse::{Sn8ParseError, parse_with_limit};

/// What the validator allows on a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PairStatus {
    /// Open and close.
    Allowed,
    /// Close or reduce only.
    Deprecated,
    /// Neither.
    Disabled,
}

/// One pair of the document.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct TradePairInfo {
    #[serde(deserialize_with = "opt_string")]
    pub trade_pair_id: Option<String>,
    /// Display form, `BTC/USDC`.
    #[serde(deserialize_with = "opt_string")]
    pub trade_pair: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub trade_pair_category: Option<String>,
    /// `vanta` or `hyperliquid`.
    #[serde(deserialize_with = "opt_string")]
    pub trade_pair_source: Option<String>,
    /// The Hyperliquid coin behind an HL-sourced pair (`BTC`).
    #[serde(deserialize_with = "opt_string")]
    pub hl_coin: Option<String>,
    #[serde(deserialize_with = "opt_f64")]
    pub max_leverage: Option<f64>,
}

impl TradePairInfo {
    /// The unified symbol a crypto pair most likely follows (`BTCUSDC`, `BTCUSD`, HL coin `BTC`
    /// → `BTCUSDT`): a suggestion for `[mapping.<source>]`, never applied by itself. `None` for
    /// forex, indices and the like, which no crypto venue lists.
    pub fn suggested_symbol(&self) -> Option<String> {
        let crypto = self.is_hyperliquid()
            || self
                .trade_pair_category
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case("crypto"));
        if !crypto {
            return None;
        }
        let base = match self.hl_coin.as_deref().filter(|c| !c.is_empty()) {
            // HIP-3 coins are `dex:COIN`.
            Some(coin) => coin.rsplit(':').next().unwrap_or(coin).to_ascii_uppercase(),
            None => {
                let id = crate::mapping::normalise(self.trade_pair_id.as_deref()?);
                ["USDC", "USDT", "USD"]
                    .iter()
                    .find_map(|q| id.strip_suffix(q).map(str::to_string))?
            }
        };
        (!base.is_empty() && base.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| format!("{base}USDT"))
    }

    pub fn is_hyperliquid(&self) -> bool {
        self.trade_pair_source
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("hyperliquid"))
    }
}

/// `/trade-pairs`, every pair with its status, in document order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TradePairsDoc {
    pub pairs: Vec<(PairStatus, TradePairInfo)>,
    pub timestamp_ms: Option<i64>,
}

impl TradePairsDoc {
    /// The status and details of a pair id (any spelling: `btc/usd` finds `BTCUSD`).
    pub fn find(&self, id: &str) -> Option<(PairStatus, &TradePairInfo)> {
        let want = crate::mapping::normalise(id);
        self.pairs
            .iter()
            .find(|(_, p)| {
                p.trade_pair_id
                    .as_deref()
                    .is_some_and(|x| crate::mapping::normalise(x) == want)
            })
            .map(|(s, p)| (*s, p))
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Raw {
    #[serde(deserialize_with = "lenient_vec")]
    allowed: Vec<TradePairInfo>,
    #[serde(deserialize_with = "lenient_vec")]
    allowed_trade_pairs: Vec<TradePairInfo>,
    #[serde(deserialize_with = "lenient_vec")]
    deprecated: Vec<TradePairInfo>,
    #[serde(deserialize_with = "lenient_vec")]
    deprecated_trade_pairs: Vec<TradePairInfo>,
    #[serde(deserialize_with = "lenient_vec")]
    disabled: Vec<TradePairInfo>,
    #[serde(deserialize_with = "lenient_vec")]
    disabled_trade_pairs: Vec<TradePairInfo>,
    #[serde(deserialize_with = "opt_i64")]
    timestamp: Option<i64>,
}

impl<'de> Deserialize<'de> for TradePairsDoc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Only an object is a trade-pairs document; a list or a scalar is the wrong endpoint.
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Raw;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a /trade-pairs object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Raw, A::Error> {
                Raw::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        let raw = d.deserialize_map(V)?;
        let mut pairs = Vec::new();
        let mut add = |status, list: Vec<TradePairInfo>| {
            pairs.extend(
                list.into_iter()
                    .filter(|p| p.trade_pair_id.is_some())
                    .map(|p| (status, p)),
            );
        };
        add(PairStatus::Allowed, raw.allowed);
        add(PairStatus::Allowed, raw.allowed_trade_pairs);
        add(PairStatus::Deprecated, raw.deprecated);
        add(PairStatus::Deprecated, raw.deprecated_trade_pairs);
        add(PairStatus::Disabled, raw.disabled);
        add(PairStatus::Disabled, raw.disabled_trade_pairs);
        Ok(TradePairsDoc {
            pairs,
            timestamp_ms: raw.timestamp,
        })
    }
}

/// `/trade-pairs` from bytes (gzip or not).
pub fn parse_trade_pairs(bytes: &[u8]) -> Result<TradePairsDoc, Sn8ParseError> {
    parse_with_limit(bytes, super::parse::DEFAULT_MAX_PAYLOAD_BYTES)
}

/// The rule one followed pair id is under.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PairRule {
    /// No `/trade-pairs` read yet: follow, with only the source's own leverage limit.
    Unknown,
    Allowed {
        max_leverage: Option<f64>,
    },
    Deprecated {
        max_leverage: Option<f64>,
    },
    Disabled,
    /// Not in the validator's list.
    Dropped,
}

impl PairRule {
    pub fn from_doc(doc: Option<&TradePairsDoc>, id: &str) -> Self {
        let Some(doc) = doc else {
            return Self::Unknown;
        };
        match doc.find(id) {
            None => Self::Dropped,
            Some((PairStatus::Allowed, p)) => Self::Allowed {
                max_leverage: p.max_leverage,
            },
            Some((PairStatus::Deprecated, p)) => Self::Deprecated {
                max_leverage: p.max_leverage,
            },
            Some((PairStatus::Disabled, _)) => Self::Disabled,
        }
    }

    /// The validator's leverage bound on this pair, when it gave one (positive and finite).
    pub fn max_leverage(self) -> Option<f64> {
        match self {
            Self::Allowed { max_leverage } | Self::Deprecated { max_leverage } => {
                max_leverage.filter(|m| m.is_finite() && *m > 0.0)
            }
            _ => None,
        }
    }

    /// Positions on this pair may vote.
    pub fn votes(self) -> bool {
        !matches!(self, Self::Disabled | Self::Dropped)
    }
}

/// What the source may do with an asset, from the rules of every pair mapped to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetRule {
    /// Follow freely.
    Open,
    /// Only move toward zero (every mapped pair is deprecated).
    ReduceOnly,
    /// Depth 0: every mapped pair is disabled.
    FlatDisabled,
    /// Depth 0: the validator no longer lists any mapped pair.
    FlatDropped,
}

impl AssetRule {
    /// The most permissive rule among an asset's pairs (one open pair keeps the asset open).
    pub fn of(rules: impl IntoIterator<Item = PairRule>) -> Self {
        let mut best = None::<Self>;
        for r in rules {
            let this = match r {
                PairRule::Unknown | PairRule::Allowed { .. } => Self::Open,
                PairRule::Deprecated { .. } => Self::ReduceOnly,
                PairRule::Disabled => Self::FlatDisabled,
                PairRule::Dropped => Self::FlatDropped,
            };
            best = Some(match best {
                None => this,
                Some(b) => b.min(this),
            });
        }
        best.unwrap_or(Self::Open)
    }

    /// Why the asset is held flat, for the signal's record.
    pub fn flat_reason(self) -> Option<&'static str> {
        match self {
            Self::FlatDisabled => Some("pair_disabled"),
            Self::FlatDropped => Some("pair_dropped_by_validator"),
            _ => None,
        }
    }

    fn rank(self) -> u8 {
        match self {
            Self::Open => 0,
            Self::ReduceOnly => 1,
            Self::FlatDisabled => 2,
            Self::FlatDropped => 3,
        }
    }

    fn min(self, other: Self) -> Self {
        if self.rank() <= other.rank() {
            self
        } else {
            other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_documented_shapes_and_the_deprecated_list_are_read() {
        let cur = parse_trade_pairs(
            br#"{"allowed": [{"trade_pair_id": "BTCUSDC", "hl_coin": "BTC",
                  "trade_pair_source": "hyperliquid", "max_leverage": 1.0}, 7],
                 "deprecated": [{"trade_pair_id": "AUDJPY", "max_leverage": 5}],
                 "disabled": [{"trade_pair_id": "BTCUSD", "max_leverage": 0.5}],
                 "timestamp": 1749234567890}"#,
        )
        .unwrap();
        assert_eq!(cur.pairs.len(), 3);
        let (s, p) = cur.find("btc/usdc").unwrap();
        assert_eq!(s, PairStatus::Allowed);
        assert!(p.is_hyperliquid());
        assert_eq!(cur.find("AUDJPY").unwrap().0, PairStatus::Deprecated);
        assert_eq!(cur.find("BTCUSD").unwrap().0, PairStatus::Disabled);
        let old = parse_trade_pairs(
            br#"{"allowed_trade_pairs": [{"trade_pair_id": "ETHUSD", "max_leverage": 0.5}],
                 "allowed_trade_pair_ids": ["ETHUSD"], "total_trade_pairs": 1}"#,
        )
        .unwrap();
        assert_eq!(
            PairRule::from_doc(Some(&old), "ETHUSD"),
            PairRule::Allowed {
                max_leverage: Some(0.5)
            }
        );
        assert_eq!(PairRule::from_doc(Some(&old), "BTCUSD"), PairRule::Dropped);
        assert_eq!(PairRule::from_doc(None, "BTCUSD"), PairRule::Unknown);
        assert!(parse_trade_pairs(b"[1]").is_err());
    }

    #[test]
    fn crypto_pairs_suggest_a_unified_symbol() {
        let p = |v: serde_json::Value| serde_json::from_value::<TradePairInfo>(v).unwrap();
        let hl = p(
            serde_json::json!({"trade_pair_id": "BTCUSDC", "hl_coin": "BTC",
            "trade_pair_source": "hyperliquid", "trade_pair_category": "crypto"}),
        );
        assert_eq!(hl.suggested_symbol().as_deref(), Some("BTCUSDT"));
        let hip3 = p(
            serde_json::json!({"trade_pair_id": "GOLDUSDC", "hl_coin": "xyz:GOLD",
            "trade_pair_source": "hyperliquid"}),
        );
        assert_eq!(hip3.suggested_symbol().as_deref(), Some("GOLDUSDT"));
        let v = p(serde_json::json!({"trade_pair_id": "ETHUSD", "trade_pair_category": "CRYPTO"}));
        assert_eq!(v.suggested_symbol().as_deref(), Some("ETHUSDT"));
        let fx = p(serde_json::json!({"trade_pair_id": "EURUSD", "trade_pair_category": "forex"}));
        assert_eq!(fx.suggested_symbol(), None);
    }

    #[test]
    fn an_asset_is_as_open_as_its_most_open_pair() {
        use PairRule::*;
        let a = |m| Allowed { max_leverage: m };
        assert_eq!(AssetRule::of([Disabled, a(None)]), AssetRule::Open);
        assert_eq!(
            AssetRule::of([Dropped, Deprecated { max_leverage: None }]),
            AssetRule::ReduceOnly
        );
        assert_eq!(AssetRule::of([Dropped, Disabled]), AssetRule::FlatDisabled);
        assert_eq!(AssetRule::of([Dropped]), AssetRule::FlatDropped);
        assert_eq!(AssetRule::of([]), AssetRule::Open);
        assert_eq!(a(Some(-1.0)).max_leverage(), None);
        assert!(!Disabled.votes() && !Dropped.votes() && Unknown.votes());
    }
}
