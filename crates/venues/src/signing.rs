//! HMAC-SHA256, the primitive every venue signs with. What each venue feeds into it (its
//! pre-hash string) and how it encodes the digest live in the venue modules, pinned by the
//! venues' official test vectors where they publish them, derived ones otherwise.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// HMAC-SHA256 of `message` under `secret`.
pub fn hmac_sha256(secret: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length (long keys are hashed first), so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable_hmac(),
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cold]
fn unreachable_hmac() -> ! {
    // `new_from_slice` only fails for fixed-length-key MACs; HMAC has none.
    panic!("HMAC refused a key: impossible for HMAC-SHA256")
}

/// Lowercase hex of [`hmac_sha256`]: Binance's and Bybit's signature encoding.
pub fn hmac_sha256_hex(secret: &[u8], message: &[u8]) -> String {
    hex::encode(hmac_sha256(secret, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
