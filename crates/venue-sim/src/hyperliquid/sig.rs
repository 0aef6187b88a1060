//! The exchange's side of L1 action signing: recompute the action hash from the action as the
//! exchange reads it, build the EIP-712 digest of the phantom agent, and recover the signer
//! (<https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/signing>). Written here
//! from the documentation, apart from the adapter's signing code, so a mistake shared by both
//! cannot pass.

use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};

fn keccak(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Keccak256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Lowercase `0x` hex of an address.
pub fn address_text(address: &[u8; 20]) -> String {
    format!("0x{}", hex::encode(address))
}

/// `0x` + 40 hex digits, any case.
pub fn parse_address(text: &str) -> Option<[u8; 20]> {
    let mut out = [0u8; 20];
    hex::decode_to_slice(text.strip_prefix("0x")?, &mut out).ok()?;
    Some(out)
}

fn address_of(key: &VerifyingKey) -> [u8; 20] {
    let point = key.to_encoded_point(false);
    let hash = keccak(&[&point.as_bytes()[1..]]);
    let mut out = [0u8; 20];
    out.copy_from_slice(&hash[12..]);
    out
}

/// The address of a private key in hex (what an API wallet's key signs as).
pub fn address_of_private_key(private_key_hex: &str) -> Option<[u8; 20]> {
    let digits = private_key_hex.trim();
    let bytes = hex::decode(digits.strip_prefix("0x").unwrap_or(digits)).ok()?;
    let key = SigningKey::from_slice(&bytes).ok()?;
    Some(address_of(key.verifying_key()))
}

/// `{r, s, v}` as the request carries it: hex words and 27/28.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireSignature {
    pub r: String,
    pub s: String,
    pub v: u8,
}

fn word(text: &str) -> Option<[u8; 32]> {
    let digits = text.strip_prefix("0x")?;
    if digits.is_empty() || digits.len() > 64 {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(format!("{digits:0>64}"), &mut out).ok()?;
    Some(out)
}

/// Everything hashed besides the action's MessagePack.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    pub action_msgpack: &'a [u8],
    pub nonce: u64,
    pub vault: Option<[u8; 20]>,
    pub expires_after: Option<u64>,
    pub mainnet: bool,
}

/// keccak(msgpack ‖ nonce BE ‖ vault flag [‖ vault] [‖ 0x00 ‖ expiresAfter BE]).
pub fn connection_id(signed: &Signed<'_>) -> [u8; 32] {
    let mut data = signed.action_msgpack.to_vec();
    data.extend_from_slice(&signed.nonce.to_be_bytes());
    match signed.vault {
        Some(v) => {
            data.push(1);
            data.extend_from_slice(&v);
        }
        None => data.push(0),
    }
    if let Some(e) = signed.expires_after {
        data.push(0);
        data.extend_from_slice(&e.to_be_bytes());
    }
    keccak(&[&data])
}

/// The EIP-712 digest of `Agent{source, connectionId}` under the `Exchange` domain.
pub fn agent_digest(connection_id: &[u8; 32], mainnet: bool) -> [u8; 32] {
    let mut chain = [0u8; 32];
    chain[24..].copy_from_slice(&1337u64.to_be_bytes());
    let domain = keccak(&[
        &keccak(&[
            b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
        ]),
        &keccak(&[b"Exchange"]),
        &keccak(&[b"1"]),
        &chain,
        &[0u8; 32],
    ]);
    let source: &[u8] = if mainnet { b"a" } else { b"b" };
    let agent = keccak(&[
        &keccak(&[b"Agent(string source,bytes32 connectionId)"]),
        &keccak(&[source]),
        connection_id,
    ]);
    keccak(&[&[0x19, 0x01], &domain, &agent])
}

/// The address that signed, or why none can be recovered.
pub fn recover(signed: &Signed<'_>, sig: &WireSignature) -> Result<[u8; 20], &'static str> {
    let digest = agent_digest(&connection_id(signed), signed.mainnet);
    let (r, s) = (word(&sig.r).ok_or("bad r")?, word(&sig.s).ok_or("bad s")?);
    let signature = Signature::from_scalars(r, s).map_err(|_| "r or s out of range")?;
    let recid = sig
        .v
        .checked_sub(27)
        .and_then(RecoveryId::from_byte)
        .ok_or("bad v")?;
    let key =
        VerifyingKey::recover_from_prehash(&digest, &signature, recid).map_err(|_| "no signer")?;
    Ok(address_of(&key))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// msgpack of `{"type": "dummy", "num": 100000000000}` written out by hand: fixmap(2),
    /// fixstr "type", fixstr "dummy", fixstr "num", uint64.
    fn dummy_msgpack() -> Vec<u8> {
        let mut v = vec![0x82, 0xa4];
        v.extend_from_slice(b"type");
        v.push(0xa5);
        v.extend_from_slice(b"dummy");
        v.push(0xa3);
        v.extend_from_slice(b"num");
        v.push(0xcf);
        v.extend_from_slice(&100_000_000_000u64.to_be_bytes());
        v
    }

    #[test]
    fn recovers_the_sdk_test_wallet_from_its_published_signature() {
        // The official SDK's test_l1_action_signing_matches
        // (https://github.com/hyperliquid-dex/hyperliquid-python-sdk/blob/master/tests/signing_test.py).
        let msgpack = dummy_msgpack();
        let signed = Signed {
            action_msgpack: &msgpack,
            nonce: 0,
            vault: None,
            expires_after: None,
            mainnet: true,
        };
        let sig = WireSignature {
            r: "0x53749d5b30552aeb2fca34b530185976545bb22d0b3ce6f62e31be961a59298".into(),
            s: "0x755c40ba9bf05223521753995abb2f73ab3229be8ec921f350cb447e384d8ed8".into(),
            v: 27,
        };
        let wallet = address_of_private_key(
            "0x0123456789012345678901234567890123456789012345678901234567890123",
        );
        assert!(wallet.is_some());
        assert_eq!(recover(&signed, &sig).ok(), wallet);
        let testnet = Signed {
            mainnet: false,
            ..signed
        };
        assert_ne!(recover(&testnet, &sig).ok(), wallet);
        assert!(recover(&signed, &WireSignature { v: 26, ..sig }).is_err());
    }
}
