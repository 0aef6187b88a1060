//! A key that can withdraw is refused at connect, on both venues that report key permissions,
//! before anything else is asked; a trade-only key passes after one permission query.
#![allow(clippy::unwrap_used)]

mod sim;

use sim::*;
use tradeengine_venue_sim::{SimOptions, VenueId};
use tradeengine_venues::VenueErrorKind;
use tradeengine_venues::connect::connect;
use tradeengine_venues::permissions::WITHDRAWAL_ENABLED;

fn permission_path(venue: VenueId) -> &'static str {
    match venue {
        VenueId::Bybit => "/v5/user/query-api",
        VenueId::Binance => "/sapi/v1/account/apiRestrictions",
        other => unreachable!("{other:?} reports no key permissions"),
    }
}

fn position_path(venue: VenueId) -> &'static str {
    match venue {
        VenueId::Bybit => "/v5/position/list",
        VenueId::Binance => "/fapi/v1/positionSide/dual",
        other => unreachable!("{other:?} reports no key permissions"),
    }
}

#[tokio::test]
async fn a_withdrawal_enabled_key_is_refused_at_connect() {
    for venue in [VenueId::Bybit, VenueId::Binance] {
        let mut options = SimOptions::new(venue);
        options.withdrawals_enabled = true;
        let sim = start(venue, options).await;
        let e = connect(venue, config(&sim)).await.err();
        let e = e.unwrap_or_else(|| panic!("{venue:?}: a withdrawal-enabled key must be refused"));
        assert_eq!(e.kind, VenueErrorKind::Auth, "{venue:?}: {e}");
        assert_eq!(e.code.as_deref(), Some(WITHDRAWAL_ENABLED), "{venue:?}");
        assert!(e.to_string().contains("withdrawal permission"), "{e}");
        let key = &sim.options().api_key;
        assert!(!e.to_string().contains(key.as_str()), "{e}");
        // Refused before the account was read or the stream started.
        assert_eq!(sim.counters().get("GET", permission_path(venue)), 1);
        assert_eq!(
            sim.counters().get("GET", position_path(venue)),
            0,
            "{venue:?}"
        );
    }
}

#[tokio::test]
async fn a_trade_only_key_is_checked_once_and_accepted() {
    for venue in [VenueId::Bybit, VenueId::Binance] {
        let sim = start(venue, SimOptions::new(venue)).await;
        let v = connect(venue, config(&sim)).await;
        assert!(v.is_ok(), "{venue:?}: {:?}", v.err());
        assert_eq!(sim.counters().get("GET", permission_path(venue)), 1);
    }
}

#[tokio::test]
async fn without_keys_nothing_is_checked() {
    for venue in [VenueId::Bybit, VenueId::Binance] {
        let mut options = SimOptions::new(venue);
        options.withdrawals_enabled = true;
        let sim = start(venue, options).await;
        let mut c = config(&sim);
        c.credentials = None;
        assert!(connect(venue, c).await.is_ok(), "{venue:?}");
        assert_eq!(sim.counters().get("GET", permission_path(venue)), 0);
    }
}
