//! The exchanges tradeengine trades on, named once.
//!
//! [`VenueId`] is the one list: engine configuration (`venue = "bybit"`), the adapters
//! (`tradeengine_venues::registry`, which gives each venue its URLs, connector, market data and
//! permission check) and the simulators (`tradeengine_venue_sim`) all take it. Adding a venue is
//! one variant here and one row in the venues registry; every `match` on it that must learn
//! about the new venue is then a compile error until it does.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One supported exchange. The serde names (`"bybit"`, …) are the names configs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VenueId {
    Bybit,
    Binance,
    Blofin,
    Kucoin,
    Mexc,
    Hyperliquid,
}

impl VenueId {
    /// Every venue, in a stable order (the order tests and listings use).
    pub const ALL: [VenueId; 6] = [
        Self::Bybit,
        Self::Binance,
        Self::Blofin,
        Self::Kucoin,
        Self::Mexc,
        Self::Hyperliquid,
    ];

    /// The configuration name (`bybit`), also the `venue` field of errors and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Bybit => "bybit",
            Self::Binance => "binance",
            Self::Blofin => "blofin",
            Self::Kucoin => "kucoin",
            Self::Mexc => "mexc",
            Self::Hyperliquid => "hyperliquid",
        }
    }

    /// The venue named `name` (exactly as configs spell it), if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == name)
    }
}

impl fmt::Display for VenueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no supported venue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown venue {name:?}; supported: bybit, binance, blofin, kucoin, mexc, hyperliquid")]
pub struct UnknownVenue {
    pub name: String,
}

impl FromStr for VenueId {
    type Err = UnknownVenue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| UnknownVenue {
            name: s.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_serde() {
        for v in VenueId::ALL {
            assert_eq!(VenueId::parse(v.as_str()), Some(v));
            assert_eq!(v.as_str().parse::<VenueId>(), Ok(v));
            let json = serde_json::to_string(&v).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", v.as_str()));
        }
        assert_eq!(VenueId::parse("Bybit"), None, "names are exact");
        let e = "paper".parse::<VenueId>().err();
        assert!(e.is_some_and(|e| e.to_string().contains("supported: bybit")));
    }

    #[test]
    fn the_error_lists_every_venue() {
        let e = UnknownVenue { name: "x".into() }.to_string();
        for v in VenueId::ALL {
            assert!(e.contains(v.as_str()), "{e}");
        }
    }
}
