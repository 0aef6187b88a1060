//! The exchange's nonce rule
//! (<https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/nonces-and-api-wallets>):
//! each signer's 100 highest nonces are kept; a new nonce must be larger than the smallest of
//! them, must not be one of them, and must lie within (T − 2 days, T + 1 day) of the time T the
//! exchange sees it.

use std::collections::{BTreeMap, BTreeSet};

/// How many nonces the exchange keeps per signer.
pub const KEPT: usize = 100;
const TWO_DAYS_MS: i64 = 2 * 24 * 3600 * 1000;
const ONE_DAY_MS: i64 = 24 * 3600 * 1000;

/// Each signer's highest nonces.
#[derive(Debug, Default)]
pub struct NonceBook {
    by_signer: BTreeMap<[u8; 20], BTreeSet<u64>>,
}

impl NonceBook {
    /// Records `nonce` for `signer` at exchange time `now_ms`, or says why it is refused.
    pub fn use_nonce(&mut self, signer: [u8; 20], nonce: u64, now_ms: i64) -> Result<(), String> {
        let n = i64::try_from(nonce).unwrap_or(i64::MAX);
        if n <= now_ms - TWO_DAYS_MS || n >= now_ms + ONE_DAY_MS {
            return Err(format!(
                "Invalid nonce: nonce {nonce} is not within (T - 2 days, T + 1 day) of T = {now_ms}"
            ));
        }
        let kept = self.by_signer.entry(signer).or_default();
        if kept.contains(&nonce) {
            return Err(format!("Invalid nonce: duplicate nonce {nonce}"));
        }
        if kept.len() >= KEPT && kept.first().is_some_and(|low| nonce <= *low) {
            return Err(format!(
                "Invalid nonce: nonce {nonce} is lower than the smallest of the last {KEPT}"
            ));
        }
        kept.insert(nonce);
        while kept.len() > KEPT {
            kept.pop_first();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_stale_and_far_nonces_are_refused() {
        let now = 1_700_000_000_000i64;
        let mut book = NonceBook::default();
        let a = [1u8; 20];
        let b = [2u8; 20];
        let base = u64::try_from(now).unwrap_or_default();
        assert!(book.use_nonce(a, base, now).is_ok());
        assert!(book.use_nonce(a, base, now).is_err(), "duplicate");
        // Another signer has its own set.
        assert!(book.use_nonce(b, base, now).is_ok());
        // Out of order is fine while fewer than 100 are kept.
        assert!(book.use_nonce(a, base - 5, now).is_ok());
        for i in 1..=100 {
            assert!(book.use_nonce(a, base + i, now).is_ok());
        }
        // Now the smallest kept is base + 1: anything at or under it is refused.
        assert!(book.use_nonce(a, base - 1, now).is_err());
        assert!(book.use_nonce(a, base + 1, now).is_err());
        assert!(book.use_nonce(a, base + 101, now).is_ok());
        // The time window.
        let two_days = u64::try_from(TWO_DAYS_MS).unwrap_or_default();
        let one_day = u64::try_from(ONE_DAY_MS).unwrap_or_default();
        assert!(book.use_nonce(b, base - two_days, now).is_err());
        assert!(book.use_nonce(b, base + one_day, now).is_err());
        assert!(book.use_nonce(b, base + one_day - 1, now).is_ok());
    }
}
