//! Source symbol → unified symbol.
//!
//! Each source names instruments its own way (`BINANCE:BTCUSDT.P`, `BTC-USDT-SWAP`, PTN's
//! `BTCUSD`). A [`SymbolMap`] holds one source's table, as sirouk/trade-engine's
//! `asset_mapping_config.json` did per source, so an imported mapping works unchanged. Keys are
//! normalised before lookup ([`normalise`]), so a table entry for `BTCUSDT` also matches
//! `BINANCE:BTCUSDT.P` and `btc/usdt`.
//!
//! The set of targets is the source's **universe**: a symbol that maps to nothing is refused
//! (TradingView answers 422; SN8 ignores that asset). Passing unmapped symbols through
//! unchanged would let a typo reach the engine; here a raw symbol that already equals
//! a target is accepted, and anything else must be listed.

use std::collections::{BTreeMap, BTreeSet};

use tradeengine_model::Symbol;

/// Why a raw symbol has no unified symbol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SymbolError {
    #[error("symbol {raw:?} (normalised {normalised:?}) is not in this source's symbol mapping")]
    Unknown { raw: String, normalised: String },
    #[error(
        "symbol {raw:?} holds characters a symbol never has (only letters, digits, and the \
         separators : / - _ . ! are accepted)"
    )]
    Junk { raw: String },
    #[error("mapping entry {key:?} → {target:?} is invalid: {reason}")]
    BadEntry {
        key: String,
        target: String,
        reason: String,
    },
}

/// One source's symbol table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SymbolMap {
    entries: BTreeMap<String, Symbol>,
    targets: BTreeSet<Symbol>,
}

impl SymbolMap {
    /// Builds the table from `(source symbol, unified symbol)` pairs. Every target must be a valid
    /// unified symbol; two keys that normalise to the same string must agree.
    pub fn new<I, K, V>(pairs: I) -> Result<Self, SymbolError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut map = Self::default();
        for (k, v) in pairs {
            let (k, v) = (k.as_ref(), v.as_ref());
            let target = Symbol::new(v).map_err(|e| SymbolError::BadEntry {
                key: k.to_string(),
                target: v.to_string(),
                reason: e.to_string(),
            })?;
            let key = normalise(k);
            if key.is_empty() {
                return Err(SymbolError::BadEntry {
                    key: k.to_string(),
                    target: v.to_string(),
                    reason: "the source symbol is empty after normalisation".into(),
                });
            }
            if let Some(prev) = map.entries.get(&key)
                && prev != &target
            {
                return Err(SymbolError::BadEntry {
                    key: k.to_string(),
                    target: v.to_string(),
                    reason: format!("{key} already maps to {prev}"),
                });
            }
            map.targets.insert(target.clone());
            map.entries.insert(key, target);
        }
        Ok(map)
    }

    /// The unified symbol for `raw`, or why there is none. A raw symbol with anything but
    /// letters, digits, the documented separators and surrounding blanks (a control character,
    /// a quote, a space inside) is refused, not normalised into a valid-looking symbol.
    pub fn resolve(&self, raw: &str) -> Result<Symbol, SymbolError> {
        if !plausible(raw) {
            return Err(SymbolError::Junk {
                raw: raw.chars().take(64).collect(),
            });
        }
        let key = normalise(raw);
        if let Some(s) = self.entries.get(&key) {
            return Ok(s.clone());
        }
        if let Ok(s) = Symbol::new(&key)
            && self.targets.contains(&s)
        {
            return Ok(s);
        }
        Err(SymbolError::Unknown {
            raw: raw.chars().take(64).collect(),
            normalised: key.chars().take(64).collect(),
        })
    }

    /// The unified symbols this source can produce.
    pub fn universe(&self) -> &BTreeSet<Symbol> {
        &self.targets
    }

    /// `(normalised source key, unified symbol)` pairs, in key order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Symbol)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// True when `raw` (surrounding blanks aside) holds only ASCII letters, digits, the
/// separators [`normalise`] drops, and `!` (TradingView's continuous futures, `BTC1!`).
pub fn plausible(raw: &str) -> bool {
    raw.trim()
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '-' | '_' | '.' | '!'))
}

/// Upper-cases, drops an exchange prefix (`BINANCE:`), perpetual suffixes (`.P`, `PERP`,
/// `-SWAP`) and separators (`/`, `-`, `_`, `.`), so every spelling of one instrument meets one key.
pub fn normalise(raw: &str) -> String {
    let mut s = raw.trim().to_ascii_uppercase();
    if let Some(i) = s.rfind(':') {
        s = s[i + 1..].to_string();
    }
    for suffix in [".P", "-SWAP", "_SWAP", ".PERP", "-PERP", "_PERP", "PERP"] {
        if s.len() > suffix.len()
            && let Some(stripped) = s.strip_suffix(suffix)
        {
            s = stripped.to_string();
            break;
        }
    }
    s.retain(|c| c.is_ascii_alphanumeric());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(s: &str) -> Symbol {
        Symbol::new(s).unwrap()
    }

    #[test]
    fn normalise_strips_prefix_suffix_and_separators() {
        assert_eq!(normalise("BINANCE:BTCUSDT.P"), "BTCUSDT");
        assert_eq!(normalise("btc-usdt-swap"), "BTCUSDT");
        assert_eq!(normalise("BTC/USDT"), "BTCUSDT");
        assert_eq!(normalise("BTCUSDTPERP"), "BTCUSDT");
        assert_eq!(normalise(" ethusdt "), "ETHUSDT");
        assert_eq!(normalise("PERP"), "PERP");
    }

    #[test]
    fn resolves_keys_and_identity_of_targets_only() {
        let m = SymbolMap::new([("BTCUSD", "BTCUSDT"), ("ETHUSDT", "ETHUSDT")]).unwrap();
        assert_eq!(m.resolve("BTCUSD").unwrap(), sym("BTCUSDT"));
        assert_eq!(m.resolve("BINANCE:BTCUSDT.P").unwrap(), sym("BTCUSDT"));
        assert_eq!(m.resolve("eth/usdt").unwrap(), sym("ETHUSDT"));
        let err = m.resolve("SOLUSDT").unwrap_err();
        assert!(err.to_string().contains("SOLUSDT"), "{err}");
        assert_eq!(m.universe().len(), 2);
    }

    #[test]
    fn junk_is_refused_not_normalised() {
        let m = SymbolMap::new([("BTCUSDT", "BTCUSDT")]).unwrap();
        for raw in [
            "BTC\u{0}USDT",
            "BTC USDT",
            "BTC\"USDT",
            "BTC\u{202e}USDT",
            "BTC\nUSDT",
            "BTC*",
        ] {
            assert!(
                matches!(m.resolve(raw), Err(SymbolError::Junk { .. })),
                "{raw:?}"
            );
        }
        // The documented spellings still resolve.
        for raw in [
            "BTC/USDT",
            "BINANCE:BTCUSDT.P",
            "btc-usdt-swap",
            " BTCUSDT ",
            "BTC_USDT",
        ] {
            assert_eq!(m.resolve(raw).unwrap(), sym("BTCUSDT"), "{raw:?}");
        }
    }

    #[test]
    fn refuses_bad_and_conflicting_entries() {
        assert!(SymbolMap::new([("BTCUSD", "BTC/USDT")]).is_err());
        assert!(SymbolMap::new([("BTC-USD", "BTCUSDT"), ("BTCUSD", "ETHUSDT")]).is_err());
        assert!(SymbolMap::new([("::", "BTCUSDT")]).is_err());
    }
}
