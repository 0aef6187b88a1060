//! The assets an SN8 source follows: PTN trade pair ids → unified symbols.
//!
//! Built from the source's [`SymbolMap`] (seed: the keys of `asset_mapping_config["bittensor"]`,
//! e.g. `BTCUSD → BTCUSDT`). Lookups run once per position over 100 000 positions, so the few
//! keys are scanned linearly (faster than hashing for a handful of short ids), and only ids that
//! are not already in canonical form are normalised.

use tradeengine_model::Symbol;

use crate::mapping::{SymbolMap, normalise};

use super::trade_pairs::{AssetRule, PairRule, TradePairsDoc};
use super::types::TradePairId;

/// Trade pair ids and the asset index each belongs to, with the validator's rule for each.
#[derive(Debug, Clone, PartialEq)]
pub struct Universe {
    keys: Vec<(String, usize)>,
    /// The same keys as inline ids, compared without a call per position (with the key's index).
    ids: Vec<(TradePairId, usize, usize)>,
    symbols: Vec<Symbol>,
    /// `/trade-pairs`' rule per key (same order as `keys`); all `Unknown` until one is read.
    rules: Vec<PairRule>,
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
            .enumerate()
            .filter_map(|(n, (k, i))| TradePairId::new(k).map(|id| (id, *i, n)))
            .collect();
        let rules = vec![PairRule::Unknown; keys.len()];
        Self {
            keys,
            ids,
            symbols,
            rules,
        }
    }

    /// Applies the validator's `/trade-pairs` to every followed pair id.
    pub fn set_trade_pairs(&mut self, doc: &TradePairsDoc) {
        self.rules = self
            .keys
            .iter()
            .map(|(k, _)| PairRule::from_doc(Some(doc), k))
            .collect();
    }

    /// The asset index of a parsed trade pair id (the hot path of ranking).
    pub fn asset_of_id(&self, id: &TradePairId) -> Option<usize> {
        self.entry_of_id(id).map(|(a, _)| a)
    }

    /// The asset index of a trade pair id and the validator's rule for that id.
    pub fn entry_of_id(&self, id: &TradePairId) -> Option<(usize, PairRule)> {
        if let Some((_, i, n)) = self.ids.iter().find(|(k, ..)| k == id) {
            return Some((*i, self.rule(*n)));
        }
        if id.is_canonical() {
            return None;
        }
        self.entry_of(id.as_str())
    }

    fn rule(&self, key: usize) -> PairRule {
        self.rules.get(key).copied().unwrap_or(PairRule::Unknown)
    }

    /// What the source may do with an asset under the rules of the pairs mapped to it.
    pub fn asset_rule(&self, asset: usize) -> AssetRule {
        AssetRule::of(
            self.keys
                .iter()
                .enumerate()
                .filter(|(_, (_, a))| *a == asset)
                .map(|(n, _)| self.rule(n)),
        )
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
        self.entry_of(trade_pair).map(|(a, _)| a)
    }

    fn entry_of(&self, trade_pair: &str) -> Option<(usize, PairRule)> {
        if let Some(n) = self.keys.iter().position(|(k, _)| k == trade_pair) {
            return Some((self.keys[n].1, self.rule(n)));
        }
        if trade_pair
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return None;
        }
        let want = normalise(trade_pair);
        let n = self.keys.iter().position(|(k, _)| *k == want)?;
        Some((self.keys[n].1, self.rule(n)))
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
