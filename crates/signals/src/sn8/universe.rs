//! The assets an SN8 source follows: PTN trade pair ids → unified symbols.
//!
//! Built from the source's [`SymbolMap`] (seed: the keys of `asset_mapping_config["bittensor"]`,
//! e.g. `BTCUSD → BTCUSDT`). Lookups run once per position over 100 000 positions, so the few
//! keys are scanned linearly (faster than hashing for a handful of short ids), and only ids that
//! are not already in canonical form are normalised.

use tradeengine_model::Symbol;

use crate::mapping::{SymbolMap, normalise};

use super::types::TradePairId;

/// Trade pair ids and the asset index each belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Universe {
    keys: Vec<(String, usize)>,
    /// The same keys as inline ids, compared without a call per position.
    ids: Vec<(TradePairId, usize)>,
    symbols: Vec<Symbol>,
}

impl Universe {
    pub fn from_mapping(mapping: &SymbolMap) -> Self {
        let symbols: Vec<Symbol> = mapping.universe().iter().cloned().collect();
        let keys: Vec<(String, usize)> = mapping
            .entries()
            .filter_map(|(k, s)| {
                symbols
                    .iter()
                    .position(|x| x == s)
                    .map(|i| (k.to_string(), i))
            })
            .collect();
        let ids = keys
            .iter()
            .filter_map(|(k, i)| TradePairId::new(k).map(|id| (id, *i)))
            .collect();
        Self { keys, ids, symbols }
    }

    /// The asset index of a parsed trade pair id (the hot path of ranking).
    pub fn asset_of_id(&self, id: &TradePairId) -> Option<usize> {
        if let Some((_, i)) = self.ids.iter().find(|(k, _)| k == id) {
            return Some(*i);
        }
        if id.is_canonical() {
            return None;
        }
        self.asset_of(id.as_str())
    }

    /// Unified symbols, indexed by asset index.
    pub fn symbols(&self) -> &[Symbol] {
        &self.symbols
    }

    pub fn len(&self) -> usize {
        self.symbols.len()
    }

    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }

    /// The asset index of a trade pair id, if the source follows it.
    pub fn asset_of(&self, trade_pair: &str) -> Option<usize> {
        if let Some((_, i)) = self.keys.iter().find(|(k, _)| k == trade_pair) {
            return Some(*i);
        }
        if trade_pair
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return None;
        }
        let n = normalise(trade_pair);
        self.keys.iter().find(|(k, _)| *k == n).map(|(_, i)| *i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_ids_in_any_spelling() {
        let m = SymbolMap::new([
            ("BTCUSD", "BTCUSDT"),
            ("ETHUSD", "ETHUSDT"),
            ("XBTUSD", "BTCUSDT"),
        ])
        .unwrap();
        let u = Universe::from_mapping(&m);
        assert_eq!(u.len(), 2);
        let btc = u.asset_of("BTCUSD").unwrap();
        assert_eq!(u.symbols()[btc].as_str(), "BTCUSDT");
        assert_eq!(u.asset_of("XBTUSD"), Some(btc));
        assert_eq!(u.asset_of("btc/usd"), Some(btc));
        assert_eq!(u.asset_of("EURUSD"), None);
        let id = |s: &str| TradePairId::new(s).unwrap();
        assert_eq!(u.asset_of_id(&id("BTCUSD")), Some(btc));
        assert_eq!(u.asset_of_id(&id("btc/usd")), Some(btc));
        assert_eq!(u.asset_of_id(&id("EURUSD")), None);
    }
}
