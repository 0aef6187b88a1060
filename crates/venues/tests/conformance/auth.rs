//! Authentication refused at connect, with the venue's code and never the secret in the
//! message: a wrong secret, an unknown key, a wrong or missing passphrase where keys carry one,
//! and an account in hedge mode (the engine trades one-way positions).
//!
//! Hyperliquid signs with an Ethereum key rather than an API secret: its refusals (an agent
//! never approved, another account's agent, the master key, keys in the wrong shape) are
//! `keys_that_cannot_trade_are_refused_at_connect` in `hyperliquid_adapter.rs`. The KuCoin
//! simulator has no hedge mode to refuse (KuCoin Futures' API trades one-way positions).

use tradeengine_venue_sim::SimOptions;
use tradeengine_venues::{Credentials, VenueErrorKind};

use crate::adapter::Adapter;
use crate::sim::{config, start};
use crate::venues::Row;

async fn wrong_keys_and_hedge_mode_are_refused_at_connect(row: &Row) {
    let auth = row.auth.as_ref().unwrap();
    let sim = start(row.id, SimOptions::new(row.id)).await;
    let o = sim.options().clone();
    let with = |key: &str, secret: &str, passphrase: Option<&str>| {
        let mut c = config(&sim);
        let mut k = Credentials::new(key, secret);
        if let Some(p) = passphrase {
            k = k.with_passphrase(p);
        }
        c.credentials = Some(k);
        c
    };
    let passphrase = auth.passphrase.map(|_| o.passphrase.as_str());

    let bad = with(&o.api_key, "not-the-secret", passphrase);
    let e = Adapter::connect(row.id, bad).await.err().unwrap();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Auth, Some(auth.bad_secret))
    );
    assert!(!e.to_string().contains("not-the-secret"), "{e}");

    let unknown = with("someone-else", "x", passphrase.map(|_| "p"));
    let e = Adapter::connect(row.id, unknown).await.err().unwrap();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Auth, Some(auth.unknown_key))
    );

    if let Some((wrong, missing)) = auth.passphrase {
        let e = Adapter::connect(row.id, with(&o.api_key, &o.api_secret, Some("nope")))
            .await
            .err()
            .unwrap();
        assert_eq!(e.code.as_deref(), Some(wrong), "wrong passphrase: {e}");
        if let Some(missing) = missing {
            let e = Adapter::connect(row.id, with(&o.api_key, &o.api_secret, None))
                .await
                .err()
                .unwrap();
            assert_eq!(e.code.as_deref(), Some(missing), "no passphrase: {e}");
        }
    }

    if auth.refuses_hedge_mode {
        sim.set_hedge_mode(true);
        let e = Adapter::connect(row.id, config(&sim)).await.err().unwrap();
        assert_eq!(e.code.as_deref(), Some("hedge_mode"));
        assert!(e.message.contains("one-way"), "{}", e.message);
    }
}

cells!(wrong_keys_and_hedge_mode_are_refused_at_connect: bybit, binance, blofin, kucoin, mexc);
