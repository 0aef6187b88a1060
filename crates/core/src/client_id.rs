//! Deterministic client order ids (ARCHITECTURE.md, "Stored before sent,
//! settled by client id": a retry re-uses the id, and the venue refuses a double).
//!
//! `te` + 24 hex digits of BLAKE3(account, symbol, plan id) + `-` + leg number, e.g.
//! `te3f9a0c1d2b4e5f60718293a4-0`: at most 2 + 24 + 1 + 5 = 32 characters of `[a-z0-9-]`, which
//! every venue accepts (BloFin and MEXC allow 32). The same intent always gives the same id, so
//! a retried request is refused by the venue as a duplicate instead of doubling the order, and
//! an ambiguous outcome is settled by asking the venue for this id.
//!
//! The legs of one plan share the 26-character prefix, so the engine can find every order of a
//! plan with one prefix. Distinct (account, symbol, plan id) collide with probability 2⁻⁹⁶ per
//! pair. Each field is length-prefixed before hashing, so no two field splits hash alike.

use tradeengine_model::{AccountName, ClientOrderId, PlanId, Symbol};

use crate::CoreError;

/// Hex digits of the hash kept in the id.
const HASH_HEX: usize = 24;

/// Length of a plan's prefix: `te` and the hex digits.
pub(crate) const PREFIX_LEN: usize = 2 + HASH_HEX;

/// The shared prefix of every client order id of one plan (`te` + 24 hex digits).
pub fn plan_prefix(account: &AccountName, symbol: &Symbol, plan: &PlanId) -> String {
    String::from_utf8_lossy(&prefix_bytes(account, symbol, plan)).into_owned()
}

/// [`plan_prefix`] on the stack: the planner builds one per plan with orders, every cycle.
pub(crate) fn prefix_bytes(
    account: &AccountName,
    symbol: &Symbol,
    plan: &PlanId,
) -> [u8; PREFIX_LEN] {
    // One buffer and one hash call.
    let mut buf = [0u8; 3 + 64 + 40 + 40];
    let mut n = 0;
    for bytes in [account.as_bytes(), symbol.as_bytes(), plan.as_bytes()] {
        // Lengths are ≤ 64 (validated by the model), so a one-byte prefix keeps the encoding
        // unambiguous; `get_mut` keeps an unexpected length from panicking.
        if let Some(slot) = buf.get_mut(n..n + 1 + bytes.len()) {
            slot[0] = bytes.len() as u8;
            slot[1..].copy_from_slice(bytes);
            n += 1 + bytes.len();
        }
    }
    let hash = blake3::hash(&buf[..n]);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; PREFIX_LEN];
    out[0] = b't';
    out[1] = b'e';
    for (pair, b) in out[2..].chunks_exact_mut(2).zip(hash.as_bytes()) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0xf)];
    }
    out
}

/// The client order id of leg `leg` of a plan whose prefix is `prefix` (see [`plan_prefix`]).
pub fn leg_id(prefix: &str, leg: u16) -> Result<ClientOrderId, CoreError> {
    leg_id_of(prefix.as_bytes(), leg)
}

/// [`leg_id`] built in a stack buffer: `prefix`, `-`, then the leg number in decimal.
#[inline(always)]
pub(crate) fn leg_id_of(prefix: &[u8], leg: u16) -> Result<ClientOrderId, CoreError> {
    // Digits of `leg`, most significant first (a u16 has at most five).
    let mut digits = [0u8; 5];
    let mut k = digits.len();
    let mut rest = leg;
    loop {
        k -= 1;
        digits[k] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let mut buf = [0u8; ClientOrderId::MAX_LEN];
    let id = buf
        .get_mut(..prefix.len() + 1 + digits.len() - k)
        .and_then(|out| {
            let (head, tail) = out.split_at_mut(prefix.len());
            head.copy_from_slice(prefix);
            tail[0] = b'-';
            tail[1..].copy_from_slice(&digits[k..]);
            ClientOrderId::from_ascii(out).ok()
        });
    match id {
        Some(id) => Ok(id),
        // Too long or not a name: say which string was refused, built only now.
        None => {
            let mut value = String::from_utf8_lossy(prefix).into_owned();
            value.push('-');
            value.push_str(&leg.to_string());
            let rule = match ClientOrderId::new(&value) {
                Err(tradeengine_model::ModelError::BadId { rule, .. }) => rule,
                _ => "must be a valid client order id",
            };
            Err(CoreError::BadInput {
                field: "client order id",
                value,
                rule,
            })
        }
    }
}

/// The client order id of `leg` in plan `plan` of `account` and `symbol`.
pub fn client_order_id(
    account: &AccountName,
    symbol: &Symbol,
    plan: &PlanId,
    leg: u16,
) -> Result<ClientOrderId, CoreError> {
    leg_id_of(&prefix_bytes(account, symbol, plan), leg)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn ids(a: &str, s: &str, p: &str, leg: u16) -> ClientOrderId {
        client_order_id(
            &AccountName::new(a).unwrap(),
            &Symbol::new(s).unwrap(),
            &PlanId::new(p).unwrap(),
            leg,
        )
        .unwrap()
    }

    #[test]
    fn deterministic_and_within_every_venues_rules() {
        let a = ids("bybit-main", "BTCUSDT", "20260101T000000-000001", 0);
        assert_eq!(a, ids("bybit-main", "BTCUSDT", "20260101T000000-000001", 0));
        let longest = ids(&"a".repeat(64), &"B".repeat(40), &"c".repeat(40), u16::MAX);
        for id in [&a, &longest] {
            assert!(id.as_str().len() <= 32, "{id}");
            assert!(id.as_str().starts_with("te"));
            assert!(
                id.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            );
        }
        assert_eq!(longest.as_str().len(), 32);
    }

    #[test]
    fn unique_per_account_symbol_plan_and_leg() {
        let mut seen = BTreeSet::new();
        for a in ["bybit-main", "bybit-mai", "paper"] {
            for s in ["BTCUSDT", "ETHUSDT"] {
                for p in ["p1", "p2", "1p"] {
                    for leg in 0..20 {
                        assert!(seen.insert(ids(a, s, p, leg)), "{a} {s} {p} {leg}");
                    }
                }
            }
        }
        // Field boundaries matter: ("ab", "CDUSDT") must not equal ("a", "BCDUSDT").
        assert_ne!(ids("ab", "CDUSDT", "p", 0), ids("a", "BCDUSDT", "p", 0));
    }

    #[test]
    fn prefix_is_the_blake3_of_the_length_prefixed_fields() {
        // Pinned so a refactor can never silently change the ids of plans already sent.
        let mut h = blake3::Hasher::new();
        h.update(&[5]);
        h.update(b"paper");
        h.update(&[7]);
        h.update(b"BTCUSDT");
        h.update(&[2]);
        h.update(b"p1");
        let want = format!("te{}", &h.finalize().to_hex()[..24]);
        let got = plan_prefix(
            &AccountName::new("paper").unwrap(),
            &Symbol::new("BTCUSDT").unwrap(),
            &PlanId::new("p1").unwrap(),
        );
        assert_eq!(got, want);
        assert_eq!(got, "te84b58dad09435e98c94a260c");
    }

    #[test]
    fn leg_ids_are_prefix_dash_decimal_leg_and_refuse_what_the_model_refuses() {
        for leg in [0, 7, 10, 99, 100, 12345, u16::MAX] {
            let id = leg_id("te84b58dad09435e98c94a260c", leg).unwrap();
            assert_eq!(id.as_str(), format!("te84b58dad09435e98c94a260c-{leg}"));
        }
        let too_long = "t".repeat(30);
        assert_eq!(
            leg_id(&too_long, 100),
            Err(CoreError::BadInput {
                field: "client order id",
                value: format!("{too_long}-100"),
                rule: "1–32 characters of A–Z a–z 0–9 _ -",
            })
        );
        assert!(matches!(leg_id("te.x", 1), Err(CoreError::BadInput { .. })));
    }

    #[test]
    fn legs_of_one_plan_share_the_prefix() {
        let a = ids("paper", "BTCUSDT", "p1", 0);
        let b = ids("paper", "BTCUSDT", "p1", 7);
        assert_eq!(a.as_str()[..26], b.as_str()[..26]);
        assert!(b.as_str().ends_with("-7"));
    }
}
