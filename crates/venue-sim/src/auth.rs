//! Signature checks, implemented here independently of the adapters' signing code so that a
//! shared mistake cannot pass both sides.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Whether `signature_hex` is the HMAC-SHA256 of `message` under `secret` (hex, any case),
/// compared in constant time.
pub fn verify_hex(secret: &str, message: &[u8], signature_hex: &str) -> bool {
    let Ok(expected) = hex::decode(signature_hex.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(message);
    mac.verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binance_documented_example() {
        // developers.binance.com, USDⓈ-M "SIGNED Endpoint Examples"
        // (https://developers.binance.com/docs/derivatives/usds-margined-futures/general-info).
        let secret = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9";
        let payload = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943";
        assert!(verify_hex(
            secret,
            payload.as_bytes(),
            "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
        ));
        assert!(verify_hex(
            secret,
            payload.as_bytes(),
            "3C661234138461FCC7A7D8746C6558C9842D4E10870D2ECBEDF7777CAD694AF9"
        ));
        assert!(!verify_hex(
            secret,
            b"symbol=ETHUSDT",
            "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
        ));
        assert!(!verify_hex(secret, payload.as_bytes(), "not-hex"));
    }
}
