//! The official Python SDK's signing vectors
//! (<https://github.com/hyperliquid-dex/hyperliquid-python-sdk/blob/master/tests/signing_test.py>),
//! reproduced: the same actions, key, nonces and networks must give the same connection id and
//! the same `{r, s, v}`.

use rust_decimal_macros::dec;
use serde::Serialize;

use super::signing::*;
use crate::hyperliquid::actions::{
    OrderAction, OrderTypeWire, OrderWire, ScheduleCancelAction, Tif, TriggerWire,
};
use crate::hyperliquid::wire::decimal_to_wire;

/// The SDK tests' key (an obviously fake one).
const TEST_KEY: &str = "0x0123456789012345678901234567890123456789012345678901234567890123";

fn wallet() -> Wallet {
    Wallet::from_hex(TEST_KEY).unwrap_or_else(|e| panic!("test key: {e}"))
}

fn context(nonce: u64, vault: Option<&str>, mainnet: bool) -> ActionContext {
    ActionContext {
        nonce,
        vault: vault.map(|v| Address::parse(v).unwrap_or_else(|e| panic!("{e}"))),
        expires_after: None,
        mainnet,
    }
}

/// Signs `action` on both networks and checks each `(r, s, v)`, and that the signer recovers.
fn assert_signatures<A: Serialize>(
    action: &A,
    vault: Option<&str>,
    mainnet: (&str, &str, u8),
    testnet: (&str, &str, u8),
) {
    let w = wallet();
    for (is_mainnet, (r, s, v)) in [(true, mainnet), (false, testnet)] {
        let ctx = context(0, vault, is_mainnet);
        let sig = sign_l1_action(&w, action, &ctx).unwrap_or_else(|e| panic!("sign: {e}"));
        assert_eq!(sig.r.to_hex(), r, "r, mainnet = {is_mainnet}");
        assert_eq!(sig.s.to_hex(), s, "s, mainnet = {is_mainnet}");
        assert_eq!(sig.v, v, "v, mainnet = {is_mainnet}");
        let signer = recover_signer(action, &ctx, &sig).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(signer, w.address());
    }
}

/// `{"type": "dummy", "num": float_to_int_for_hashing(1000)}`.
#[derive(Serialize)]
struct Dummy {
    r#type: &'static str,
    num: u64,
}

const DUMMY: Dummy = Dummy {
    r#type: "dummy",
    num: 100_000_000_000,
};

fn order(
    asset: u32,
    price: &str,
    size: &str,
    t: OrderTypeWire,
    cloid: Option<&str>,
) -> OrderAction {
    OrderAction::new(vec![OrderWire {
        a: asset,
        b: true,
        p: price.into(),
        s: size.into(),
        r: false,
        t,
        c: cloid.map(str::to_string),
    }])
}

#[test]
fn phantom_agent_connection_id_matches_production() {
    // ETH (asset 4), buy 0.0147 at 1670.1 IOC, nonce 1677777606040, no vault.
    let price = decimal_to_wire(dec!(1670.1)).unwrap_or_default();
    let size = decimal_to_wire(dec!(0.0147)).unwrap_or_default();
    let action = order(4, &price, &size, OrderTypeWire::limit(Tif::Ioc), None);
    let hash = action_hash(&action, &context(1_677_777_606_040, None, true))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        hex::encode(hash),
        "0fcbeda5ae3c4950a548021552a4fea2226858c4453571bf3f24ba017eac2908"
    );
}

#[test]
fn l1_action_signing_matches() {
    assert_signatures(
        &DUMMY,
        None,
        (
            "0x53749d5b30552aeb2fca34b530185976545bb22d0b3ce6f62e31be961a59298",
            "0x755c40ba9bf05223521753995abb2f73ab3229be8ec921f350cb447e384d8ed8",
            27,
        ),
        (
            "0x542af61ef1f429707e3c76c5293c80d01f74ef853e34b76efffcb57e574f9510",
            "0x17b8b32f086e8cdede991f1e2c529f5dd5297cbe8128500e00cbaf766204a613",
            28,
        ),
    );
}

#[test]
fn l1_action_signing_order_matches() {
    let action = order(1, "100", "100", OrderTypeWire::limit(Tif::Gtc), None);
    assert_signatures(
        &action,
        None,
        (
            "0xd65369825a9df5d80099e513cce430311d7d26ddf477f5b3a33d2806b100d78e",
            "0x2b54116ff64054968aa237c20ca9ff68000f977c93289157748a3162b6ea940e",
            28,
        ),
        (
            "0x82b2ba28e76b3d761093aaded1b1cdad4960b3af30212b343fb2e6cdfa4e3d54",
            "0x6b53878fc99d26047f4d7e8c90eb98955a109f44209163f52d8dc4278cbbd9f5",
            27,
        ),
    );
}

#[test]
fn l1_action_signing_order_with_cloid_matches() {
    let action = order(
        1,
        "100",
        "100",
        OrderTypeWire::limit(Tif::Gtc),
        Some("0x00000000000000000000000000000001"),
    );
    assert_signatures(
        &action,
        None,
        (
            "0x41ae18e8239a56cacbc5dad94d45d0b747e5da11ad564077fcac71277a946e3",
            "0x3c61f667e747404fe7eea8f90ab0e76cc12ce60270438b2058324681a00116da",
            27,
        ),
        (
            "0xeba0664bed2676fc4e5a743bf89e5c7501aa6d870bdb9446e122c9466c5cd16d",
            "0x7f3e74825c9114bc59086f1eebea2928c190fdfbfde144827cb02b85bbe90988",
            28,
        ),
    );
}

#[test]
fn l1_action_signing_matches_with_vault() {
    assert_signatures(
        &DUMMY,
        Some("0x1719884eb866cb12b2287399b15f7db5e7d775ea"),
        (
            "0x3c548db75e479f8012acf3000ca3a6b05606bc2ec0c29c50c515066a326239",
            "0x4d402be7396ce74fbba3795769cda45aec00dc3125a984f2a9f23177b190da2c",
            28,
        ),
        (
            "0xe281d2fb5c6e25ca01601f878e4d69c965bb598b88fac58e475dd1f5e56c362b",
            "0x7ddad27e9a238d045c035bc606349d075d5c5cd00a6cd1da23ab5c39d4ef0f60",
            27,
        ),
    );
}

#[test]
fn l1_action_signing_tpsl_order_matches() {
    let trigger = TriggerWire {
        is_market: true,
        trigger_px: decimal_to_wire(dec!(103)).unwrap_or_default(),
        tpsl: "sl".into(),
    };
    let action = order(1, "100", "100", OrderTypeWire::trigger(trigger), None);
    assert_signatures(
        &action,
        None,
        (
            "0x98343f2b5ae8e26bb2587daad3863bc70d8792b09af1841b6fdd530a2065a3f9",
            "0x6b5bb6bb0633b710aa22b721dd9dee6d083646a5f8e581a20b545be6c1feb405",
            27,
        ),
        (
            "0x971c554d917c44e0e1b6cc45d8f9404f32172a9d3b3566262347d0302896a2e4",
            "0x206257b104788f80450f8e786c329daa589aa0b32ba96948201ae556d5637eac",
            28,
        ),
    );
}

#[test]
fn create_sub_account_action_matches() {
    #[derive(Serialize)]
    struct CreateSubAccount {
        r#type: &'static str,
        name: &'static str,
    }
    let action = CreateSubAccount {
        r#type: "createSubAccount",
        name: "example",
    };
    assert_signatures(
        &action,
        None,
        (
            "0x51096fe3239421d16b671e192f574ae24ae14329099b6db28e479b86cdd6caa7",
            "0xb71f7d293af92d3772572afb8b102d167a7cef7473388286bc01f52a5c5b423",
            27,
        ),
        (
            "0xa699e3ed5c2b89628c746d3298b5dc1cca604694c2c855da8bb8250ec8014a5b",
            "0x53f1b8153a301c72ecc655b1c315d64e1dcea3ee58921fd7507e35818fcc1584",
            28,
        ),
    );
}

#[test]
fn sub_account_transfer_action_matches() {
    #[derive(Serialize)]
    struct SubAccountTransfer {
        r#type: &'static str,
        #[serde(rename = "subAccountUser")]
        sub_account_user: &'static str,
        #[serde(rename = "isDeposit")]
        is_deposit: bool,
        usd: u64,
    }
    let action = SubAccountTransfer {
        r#type: "subAccountTransfer",
        sub_account_user: "0x1d9470d4b963f552e6f671a81619d395877bf409",
        is_deposit: true,
        usd: 10,
    };
    assert_signatures(
        &action,
        None,
        (
            "0x43592d7c6c7d816ece2e206f174be61249d651944932b13343f4d13f306ae602",
            "0x71a926cb5c9a7c01c3359ec4c4c34c16ff8107d610994d4de0e6430e5cc0f4c9",
            28,
        ),
        (
            "0xe26574013395ad55ee2f4e0575310f003c5bb3351b5425482e2969fa51543927",
            "0xefb08999196366871f919fd0e138b3a7f30ee33e678df7cfaf203e25f0a4278",
            28,
        ),
    );
}

#[test]
fn schedule_cancel_action_matches() {
    assert_signatures(
        &ScheduleCancelAction::new(None),
        None,
        (
            "0x6cdfb286702f5917e76cd9b3b8bf678fcc49aec194c02a73e6d4f16891195df9",
            "0x6557ac307fa05d25b8d61f21fb8a938e703b3d9bf575f6717ba21ec61261b2a0",
            27,
        ),
        (
            "0xc75bb195c3f6a4e06b7d395acc20bbb224f6d23ccff7c6a26d327304e6efaeed",
            "0x342f8ede109a29f2c0723bd5efb9e9100e3bbb493f8fb5164ee3d385908233df",
            28,
        ),
    );
    assert_signatures(
        &ScheduleCancelAction::new(Some(123_456_789)),
        None,
        (
            "0x609cb20c737945d070716dcc696ba030e9976fcf5edad87afa7d877493109d55",
            "0x16c685d63b5c7a04512d73f183b3d7a00da5406ff1f8aad33f8ae2163bab758b",
            28,
        ),
        (
            "0x4e4f2dbd4107c69783e251b7e1057d9f2b9d11cee213441ccfa2be63516dc5bc",
            "0x706c656b23428c8ba356d68db207e11139ede1670481a9e01ae2dfcdb0e1a678",
            27,
        ),
    );
}

#[test]
fn expires_after_changes_the_hash_and_the_vault_flag_precedes_it() {
    let base = context(5, None, true);
    let with_expiry = ActionContext {
        expires_after: Some(9),
        ..base
    };
    let a = action_hash(&DUMMY, &base).unwrap_or_default();
    let b = action_hash(&DUMMY, &with_expiry).unwrap_or_default();
    assert_ne!(a, b);
    // The bytes hashed: msgpack, nonce, vault flag 0, then 0x00 and the expiry.
    let mut data = rmp_serde::to_vec_named(&DUMMY).unwrap_or_default();
    data.extend_from_slice(&5u64.to_be_bytes());
    data.push(0);
    data.push(0);
    data.extend_from_slice(&9u64.to_be_bytes());
    assert_eq!(b, keccak256(&data));
}

#[test]
fn a_signature_of_another_action_or_network_recovers_another_address() {
    let w = wallet();
    let ctx = context(1, None, true);
    let sig = sign_l1_action(&w, &DUMMY, &ctx).unwrap_or_else(|e| panic!("{e}"));
    let testnet = ActionContext {
        mainnet: false,
        ..ctx
    };
    let other = recover_signer(&DUMMY, &testnet, &sig).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(other, w.address());
    let bad_v = L1Signature { v: 29, ..sig };
    assert!(recover_signer(&DUMMY, &ctx, &bad_v).is_err());
}

#[test]
fn keys_and_addresses_parse_strictly_and_never_print_the_key() {
    assert_eq!(Wallet::from_hex("0x12").err(), Some(SigningError::BadKey));
    assert_eq!(
        Wallet::from_hex(&"0".repeat(64)).err(),
        Some(SigningError::BadKey)
    );
    let w = wallet();
    let shown = format!("{w:?}");
    assert!(
        !shown.contains("0123456789012345678901234567890123456789"),
        "{shown}"
    );
    assert!(shown.contains(&w.address().to_string()));
    let addr = Address::parse("0x1719884EB866CB12B2287399B15F7DB5E7D775EA")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        addr.to_string(),
        "0x1719884eb866cb12b2287399b15f7db5e7d775ea"
    );
    assert!(Address::parse("0x1719").is_err());
}

#[test]
fn signatures_round_trip_through_json() {
    let sig = sign_l1_action(&wallet(), &DUMMY, &context(0, None, true))
        .unwrap_or_else(|e| panic!("{e}"));
    let json = serde_json::to_string(&sig).unwrap_or_default();
    assert!(json.starts_with("{\"r\":\"0x53749d5b"), "{json}");
    let back: L1Signature = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, sig);
}
