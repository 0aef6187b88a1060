//! L1 action signing, as Hyperliquid's official Python SDK does it
//! (`sign_l1_action` in <https://github.com/hyperliquid-dex/hyperliquid-python-sdk/blob/master/hyperliquid/utils/signing.py>; documented at
//! <https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/signing>):
//!
//! 1. the action hash: keccak-256 of the action as MessagePack (a map with the keys in the order
//!    the action is sent), the nonce as 8 bytes big-endian, a vault flag (`0x00`, or `0x01` and
//!    the 20-byte vault address), and, when set, `0x00` and `expiresAfter` as 8 bytes big-endian;
//! 2. a "phantom agent" `{source, connectionId}`: `source` is `"a"` on mainnet and `"b"` on
//!    testnet, `connectionId` the action hash;
//! 3. the agent signed as EIP-712 typed data `Agent(string source,bytes32 connectionId)` under
//!    the domain `Exchange` / `1` / chain id 1337 / verifying contract zero, with secp256k1, the
//!    signature sent as `{r, s, v}` (`v` = 27 + recovery id).
//!
//! Recovery ([`recover_signer`]) is the exchange's check, kept here so tests can prove that a
//! signature names the address we expect.

use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};

/// A failure to sign or to read a signature; messages never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    #[error("the private key is not 32 bytes of hex (with or without 0x)")]
    BadKey,
    #[error("address {0:?} is not 20 bytes of hex")]
    BadAddress(String),
    #[error("the action cannot be encoded as MessagePack: {0}")]
    Encode(String),
    #[error("the signature is malformed: {0}")]
    BadSignature(&'static str),
}

/// Keccak-256, Ethereum's hash.
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

/// A 20-byte Ethereum address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// Parses `0x` + 40 hex digits (either case; the `0x` is optional).
    pub fn parse(text: &str) -> Result<Self, SigningError> {
        let hex_digits = text.strip_prefix("0x").unwrap_or(text);
        let mut out = [0u8; 20];
        hex::decode_to_slice(hex_digits, &mut out)
            .map_err(|_| SigningError::BadAddress(text.chars().take(64).collect()))?;
        Ok(Self(out))
    }

    /// The address of a public key: the last 20 bytes of the keccak of its uncompressed point.
    pub fn of_key(key: &VerifyingKey) -> Self {
        let point = key.to_encoded_point(false);
        let hash = keccak256(&point.as_bytes()[1..]);
        let mut out = [0u8; 20];
        out.copy_from_slice(&hash[12..]);
        Self(out)
    }
}

impl std::fmt::Display for Address {
    /// Lowercase `0x` hex: how the exchange's `/info` requests and replies spell addresses.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

/// The secp256k1 key that signs actions: an API wallet (agent) or the master account's own key.
/// `Debug` shows only its address.
#[derive(Clone)]
pub struct Wallet {
    key: SigningKey,
    address: Address,
}

impl Wallet {
    /// From a private key in hex (`0x` optional).
    pub fn from_hex(private_key: &str) -> Result<Self, SigningError> {
        let digits = private_key.trim();
        let digits = digits.strip_prefix("0x").unwrap_or(digits);
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(digits, &mut bytes).map_err(|_| SigningError::BadKey)?;
        let key = SigningKey::from_slice(&bytes).map_err(|_| SigningError::BadKey)?;
        bytes.fill(0);
        let address = Address::of_key(key.verifying_key());
        Ok(Self { key, address })
    }

    pub fn address(&self) -> Address {
        self.address
    }

    /// Signs an EIP-712 digest (RFC 6979 nonces, low `s`, as every Ethereum signer does).
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<L1Signature, SigningError> {
        let (sig, recid) = self
            .key
            .sign_prehash_recoverable(digest)
            .map_err(|_| SigningError::BadSignature("signing failed"))?;
        let bytes = sig.to_bytes();
        let mut r = [0u8; 32];
        let mut s = [0u8; 32];
        r.copy_from_slice(&bytes[..32]);
        s.copy_from_slice(&bytes[32..]);
        Ok(L1Signature {
            r: Word(r),
            s: Word(s),
            v: 27 + recid.to_byte(),
        })
    }

    /// [`sign_l1_action`] with this wallet.
    pub fn sign_l1_action<A: Serialize>(
        &self,
        action: &A,
        context: &ActionContext,
    ) -> Result<L1Signature, SigningError> {
        sign_l1_action(self, action, context)
    }
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallet")
            .field("address", &self.address.to_string())
            .finish_non_exhaustive()
    }
}

/// A 256-bit word of a signature, written as the SDK writes it: `0x` and minimal hex (no
/// leading zeros), read from any hex of up to 64 digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word(pub [u8; 32]);

impl Word {
    pub fn to_hex(self) -> String {
        let full = hex::encode(self.0);
        let trimmed = full.trim_start_matches('0');
        format!("0x{}", if trimmed.is_empty() { "0" } else { trimmed })
    }

    pub fn parse(text: &str) -> Result<Self, SigningError> {
        let digits = text.strip_prefix("0x").unwrap_or(text);
        if digits.is_empty() || digits.len() > 64 {
            return Err(SigningError::BadSignature("r or s is not 1–64 hex digits"));
        }
        let padded = format!("{digits:0>64}");
        let mut out = [0u8; 32];
        hex::decode_to_slice(&padded, &mut out)
            .map_err(|_| SigningError::BadSignature("r or s is not hex"))?;
        Ok(Self(out))
    }
}

impl Serialize for Word {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Word {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The `signature` field of an `/exchange` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct L1Signature {
    pub r: Word,
    pub s: Word,
    pub v: u8,
}

/// What is signed besides the action: the nonce, the vault (sub-account) traded for, the
/// optional expiry, and the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionContext {
    /// Milliseconds; see [`super::nonce`].
    pub nonce: u64,
    pub vault: Option<Address>,
    /// Milliseconds after which the exchange refuses the action.
    pub expires_after: Option<u64>,
    pub mainnet: bool,
}

/// The action hash (the phantom agent's `connectionId`).
pub fn action_hash<A: Serialize>(
    action: &A,
    context: &ActionContext,
) -> Result<[u8; 32], SigningError> {
    let mut data =
        rmp_serde::to_vec_named(action).map_err(|e| SigningError::Encode(e.to_string()))?;
    data.extend_from_slice(&context.nonce.to_be_bytes());
    match context.vault {
        None => data.push(0),
        Some(vault) => {
            data.push(1);
            data.extend_from_slice(&vault.0);
        }
    }
    if let Some(expires) = context.expires_after {
        data.push(0);
        data.extend_from_slice(&expires.to_be_bytes());
    }
    Ok(keccak256(&data))
}

/// keccak of `EIP712Domain(string name,string version,uint256 chainId,address
/// verifyingContract)` with `Exchange`, `1`, 1337 and the zero address.
fn exchange_domain_separator() -> [u8; 32] {
    let type_hash = keccak256(
        b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
    );
    let mut chain_id = [0u8; 32];
    chain_id[30..].copy_from_slice(&1337u16.to_be_bytes());
    let verifying_contract = [0u8; 32];
    let mut buf = Vec::with_capacity(5 * 32);
    buf.extend_from_slice(&type_hash);
    buf.extend_from_slice(&keccak256(b"Exchange"));
    buf.extend_from_slice(&keccak256(b"1"));
    buf.extend_from_slice(&chain_id);
    buf.extend_from_slice(&verifying_contract);
    keccak256(&buf)
}

/// The EIP-712 digest of the phantom agent `{source, connectionId}`.
pub fn phantom_agent_digest(connection_id: &[u8; 32], mainnet: bool) -> [u8; 32] {
    let type_hash = keccak256(b"Agent(string source,bytes32 connectionId)");
    let source: &[u8] = if mainnet { b"a" } else { b"b" };
    let mut agent = Vec::with_capacity(3 * 32);
    agent.extend_from_slice(&type_hash);
    agent.extend_from_slice(&keccak256(source));
    agent.extend_from_slice(connection_id);
    let struct_hash = keccak256(&agent);
    let mut buf = Vec::with_capacity(2 + 2 * 32);
    buf.extend_from_slice(&[0x19, 0x01]);
    buf.extend_from_slice(&exchange_domain_separator());
    buf.extend_from_slice(&struct_hash);
    keccak256(&buf)
}

/// Signs an L1 action (order, cancel, scheduleCancel, updateLeverage, …).
pub fn sign_l1_action<A: Serialize>(
    wallet: &Wallet,
    action: &A,
    context: &ActionContext,
) -> Result<L1Signature, SigningError> {
    let hash = action_hash(action, context)?;
    wallet.sign_digest(&phantom_agent_digest(&hash, context.mainnet))
}

/// The address that signed `action` in `context` with `signature`: what the exchange compares
/// with the account's approved agents.
pub fn recover_signer<A: Serialize>(
    action: &A,
    context: &ActionContext,
    signature: &L1Signature,
) -> Result<Address, SigningError> {
    let digest = phantom_agent_digest(&action_hash(action, context)?, context.mainnet);
    let sig = Signature::from_scalars(signature.r.0, signature.s.0)
        .map_err(|_| SigningError::BadSignature("r or s out of range"))?;
    let recid = signature
        .v
        .checked_sub(27)
        .and_then(RecoveryId::from_byte)
        .ok_or(SigningError::BadSignature("v is not 27 or 28"))?;
    let key = VerifyingKey::recover_from_prehash(&digest, &sig, recid)
        .map_err(|_| SigningError::BadSignature("no key recovers from it"))?;
    Ok(Address::of_key(&key))
}
