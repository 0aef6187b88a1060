//! `venue = "…"` of an account: the paper venue, or one of the exchanges of
//! [`tradeengine_venues::VenueId`] (whose registry gives its hosts, adapter and key checks).
//! Configs spell it as before: `"paper"`, `"bybit"`, `"binance"`, `"blofin"`, `"kucoin"`,
//! `"mexc"`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tradeengine_venues::VenueId;

/// Which venue an account is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VenueKind {
    /// The in-process paper venue.
    Paper,
    /// A real exchange (in any mode, including paper on its public data).
    Exchange(VenueId),
}

impl VenueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paper => "paper",
            Self::Exchange(v) => v.as_str(),
        }
    }

    /// The exchange, unless this is the paper venue.
    pub fn exchange(self) -> Option<VenueId> {
        match self {
            Self::Paper => None,
            Self::Exchange(v) => Some(v),
        }
    }

    /// `"paper"` or an exchange's config name.
    pub fn parse(name: &str) -> Option<Self> {
        if name == "paper" {
            Some(Self::Paper)
        } else {
            VenueId::parse(name).map(Self::Exchange)
        }
    }
}

impl From<VenueId> for VenueKind {
    fn from(v: VenueId) -> Self {
        Self::Exchange(v)
    }
}

impl fmt::Display for VenueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for VenueKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for VenueKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Self::parse(&name).ok_or_else(|| {
            let known: Vec<&str> = std::iter::once("paper")
                .chain(VenueId::ALL.iter().map(|v| v.as_str()))
                .collect();
            serde::de::Error::custom(format!(
                "unknown venue {name:?}, expected one of {}",
                known.join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_names_are_unchanged() {
        for (name, kind) in [
            ("paper", VenueKind::Paper),
            ("bybit", VenueKind::Exchange(VenueId::Bybit)),
            ("binance", VenueKind::Exchange(VenueId::Binance)),
            ("blofin", VenueKind::Exchange(VenueId::Blofin)),
            ("kucoin", VenueKind::Exchange(VenueId::Kucoin)),
            ("mexc", VenueKind::Exchange(VenueId::Mexc)),
            ("hyperliquid", VenueKind::Exchange(VenueId::Hyperliquid)),
        ] {
            assert_eq!(VenueKind::parse(name), Some(kind));
            assert_eq!(kind.as_str(), name);
            let json = format!("\"{name}\"");
            assert_eq!(serde_json::to_string(&kind).ok(), Some(json.clone()));
            assert_eq!(serde_json::from_str::<VenueKind>(&json).ok(), Some(kind));
        }
        let e = serde_json::from_str::<VenueKind>("\"bybitt\"").err();
        assert!(e.is_some_and(|e| e.to_string().contains("\"bybitt\"")));
    }
}
