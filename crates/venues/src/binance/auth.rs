//! Binance USDⓈ-M request signing
//! (https://developers.binance.com/docs/derivatives/usds-margined-futures/general-info, "SIGNED
//! Endpoint security").
//!
//! `signature = hex(HMAC-SHA256(secret, totalParams))`, where `totalParams` is the query string
//! immediately followed by the form body (no separator), both exactly as sent, with
//! `signature` appended last. The key travels in the `X-MBX-APIKEY` header.

use crate::signing::hmac_sha256_hex;

pub fn sign(secret: &[u8], total_params: &str) -> String {
    hmac_sha256_hex(secret, total_params.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Official vectors: Binance's "SIGNED Endpoint Examples"
    // (https://developers.binance.com/docs/derivatives/usds-margined-futures/general-info).

    #[test]
    fn b1_spot_example() {
        let secret = b"NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
        let payload = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
        assert_eq!(
            sign(secret, payload),
            "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
        );
    }

    #[test]
    fn b2_non_ascii_is_signed_percent_encoded() {
        let secret = b"NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
        // Built with our own query builder, so the encoding under test is the one we send.
        let q = crate::http::Query::new()
            .with("symbol", "１２３４５６")
            .with("side", "BUY")
            .with("type", "LIMIT")
            .with("timeInForce", "GTC")
            .with("quantity", "1")
            .with("price", "0.1")
            .with("recvWindow", "5000")
            .with("timestamp", "1499827319559");
        assert!(q.as_str().starts_with("symbol=%EF%BC%91%EF%BC%92"));
        assert_eq!(
            sign(secret, q.as_str()),
            "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"
        );
    }

    #[test]
    fn b3_usds_m_example() {
        let secret = b"2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9";
        let payload = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943";
        assert_eq!(
            sign(secret, payload),
            "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
        );
    }

    #[test]
    fn b4_query_and_body_are_joined_without_a_separator() {
        let secret = b"2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9";
        let query = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC";
        let body = "quantity=1&price=9000&recvWindow=5000&timestamp=1591702613943";
        assert_eq!(
            sign(secret, &format!("{query}{body}")),
            "30baaf0fab549bbeda7f5ef201898b34122da25fd23c646cac2c529aebe670a4"
        );
        // The docs' published value reproduces only with the stray space they print.
        let docs = "quantity=1&price=9000&recvWindow=5000&timestamp= 1591702613943";
        assert_eq!(
            sign(secret, &format!("{query}{docs}")),
            "f9d0ae5e813ef6ccf15c2b5a434047a0181cb5a342b903b367ca6d27a66e36f2"
        );
    }
}
