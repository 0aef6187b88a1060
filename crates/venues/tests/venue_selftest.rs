//! The venue self-test (`tradeengine venue check`) against every simulator: a clean account
//! passes with its order placed, read back and cancelled and no position changed; a key that
//! can withdraw, a skewed clock, a symbol the venue does not list, an order that fills and a
//! hedge-mode account each fail with what to fix; a 5xx on the cancel is settled by client id.
#![allow(clippy::unwrap_used)]

mod sim;

use std::time::Duration;

use rust_decimal::Decimal;
use sim::*;
use tradeengine_model::Side;
use tradeengine_venue_sim::{Fault, SimHandle, SimOptions, SimStatus, SimVenue};
use tradeengine_venues::selftest::{self, ConfiguredSymbol, Outcome, Report, SelfTest};

const ALL: [SimVenue; 5] = [
    SimVenue::Bybit,
    SimVenue::Binance,
    SimVenue::Blofin,
    SimVenue::Kucoin,
    SimVenue::Mexc,
];

const ID: &str = "vc-selftest-1";

fn test_for(sim: &SimHandle, symbols: &[&str]) -> SelfTest {
    SelfTest {
        venue: sim.venue(),
        config: config(sim),
        symbols: symbols
            .iter()
            .map(|s| ConfiguredSymbol {
                symbol: sym(s),
                leverage: Some(Decimal::from(3)),
            })
            .collect(),
        stream_wait: Duration::from_secs(10),
        client_order_id: id(ID),
    }
}

fn outcome(report: &Report, name: &str) -> Outcome {
    report
        .get(name)
        .unwrap_or_else(|| panic!("no {name} check in {report:#?}"))
        .outcome
}

/// The path each simulator cancels an order on (KuCoin's carries the client id).
fn cancel_path(venue: SimVenue) -> String {
    match venue {
        SimVenue::Bybit => "/v5/order/cancel".into(),
        SimVenue::Binance => "DELETE /fapi/v1/order".into(),
        SimVenue::Blofin => "/api/v1/trade/cancel-order".into(),
        SimVenue::Kucoin => format!("/api/v1/orders/client-order/{ID}"),
        SimVenue::Mexc => "/api/v1/private/order/cancel_with_external".into(),
        // Not in `ALL` (its orders carry a cloid, every private call is POST /exchange): see
        // `a_clean_hyperliquid_account_passes`.
        SimVenue::Hyperliquid => "/exchange".into(),
    }
}

fn the_order(sim: &SimHandle) -> tradeengine_venue_sim::SimOrder {
    let all = sim.orders();
    // BloFin's client ids allow no `-`: its adapter sends `_` instead.
    let orders: Vec<_> = all
        .iter()
        .filter(|o| o.client_id.replace('_', "-") == ID)
        .cloned()
        .collect();
    assert_eq!(
        orders.len(),
        1,
        "{:?}: exactly one test order: {all:?}",
        sim.venue()
    );
    orders[0].clone()
}

/// Hyperliquid signs with an agent key and carries the client id as a 128-bit cloid; its
/// self-test passes every check, private stream included (`userFills`, `orderUpdates`).
#[tokio::test]
async fn a_clean_hyperliquid_account_passes() {
    let venue = SimVenue::Hyperliquid;
    let sim = start(venue, SimOptions::new(venue)).await;
    let report = selftest::run(&test_for(&sim, &["BTCUSDT", "ETHUSDT"])).await;
    assert!(report.passed(), "{report:#?}");
    for name in [
        "server_time",
        "key_permissions",
        "account_mode",
        "balance",
        "positions",
        "instrument BTCUSDT",
        "instrument ETHUSDT",
        "private_stream",
        "order_round_trip",
    ] {
        assert_eq!(outcome(&report, name), Outcome::Pass, "{name}: {report:#?}");
    }
    let orders = sim.orders();
    assert_eq!(orders.len(), 1, "one test order: {orders:?}");
    assert_eq!(
        orders[0].client_id,
        tradeengine_venues::hyperliquid::wire::cloid_for(ID)
    );
    assert_eq!(orders[0].status, SimStatus::Cancelled);
    assert!(orders[0].filled.is_zero());
    assert!(sim.positions().values().all(|p| p.is_zero()));
}

#[tokio::test]
async fn a_clean_account_passes_on_every_simulator() {
    for venue in ALL {
        let sim = start(venue, SimOptions::new(venue)).await;
        let report = selftest::run(&test_for(&sim, &["BTCUSDT", "ETHUSDT"])).await;
        assert!(report.passed(), "{venue:?}: {report:#?}");
        for name in [
            "server_time",
            "account_mode",
            "balance",
            "positions",
            "instrument BTCUSDT",
            "instrument ETHUSDT",
            "private_stream",
            "order_round_trip",
        ] {
            assert_eq!(
                outcome(&report, name),
                Outcome::Pass,
                "{venue:?} {name}: {report:#?}"
            );
        }
        // Only Bybit and Binance say whether a key can withdraw; elsewhere the operator is told.
        let permissions = outcome(&report, "key_permissions");
        match venue {
            SimVenue::Bybit | SimVenue::Binance => assert_eq!(permissions, Outcome::Pass),
            _ => assert_eq!(permissions, Outcome::Warn, "{venue:?}"),
        }
        let order = the_order(&sim);
        assert_eq!(order.status, SimStatus::Cancelled, "{venue:?}");
        assert_eq!(order.side, Side::Buy);
        assert!(order.filled.is_zero());
        let price = order.price.unwrap();
        assert!(
            price < Decimal::from(60_000) * Decimal::new(98, 2),
            "{venue:?}: far below: {price}"
        );
        assert!(sim.positions().values().all(|p| p.is_zero()), "{venue:?}");
        let answer = &report.get("order_round_trip").unwrap().answer;
        assert!(
            answer.contains(ID) && answer.contains("position unchanged"),
            "{answer}"
        );
        // The venue's own numbers are in the report.
        assert!(
            report
                .get("instrument BTCUSDT")
                .unwrap()
                .answer
                .contains("tick 0.1"),
            "{venue:?}"
        );
        assert!(
            report.get("balance").unwrap().answer.contains("100000"),
            "{venue:?}: {report:#?}"
        );
        // No secret anywhere in the report.
        let text = format!("{report:?}");
        let o = sim.options();
        for secret in [&o.api_key, &o.api_secret, &o.passphrase] {
            assert!(!text.contains(secret.as_str()), "{venue:?} leaks a secret");
        }
    }
}

#[tokio::test]
async fn a_key_that_can_withdraw_fails_before_any_order() {
    for venue in [SimVenue::Bybit, SimVenue::Binance] {
        let mut options = SimOptions::new(venue);
        options.withdrawals_enabled = true;
        let sim = start(venue, options).await;
        let report = selftest::run(&test_for(&sim, &["BTCUSDT"])).await;
        assert!(!report.passed());
        let c = report.get("key_permissions").unwrap();
        assert_eq!(c.outcome, Outcome::Fail, "{venue:?}: {report:#?}");
        assert!(c.answer.contains("withdrawal permission"), "{c:?}");
        assert!(
            c.fix.as_deref().unwrap().contains("withdrawals off"),
            "{c:?}"
        );
        assert_eq!(outcome(&report, "order_round_trip"), Outcome::Skip);
        assert!(
            sim.orders().is_empty(),
            "{venue:?}: nothing placed with such a key"
        );
    }
}

#[tokio::test]
async fn a_skewed_clock_fails_the_time_check_on_every_simulator() {
    for venue in ALL {
        let sim = start(venue, SimOptions::new(venue)).await;
        sim.faults().set_clock_skew_ms(90_000);
        let report = selftest::run(&test_for(&sim, &["BTCUSDT"])).await;
        let c = report.get("server_time").unwrap();
        assert_eq!(c.outcome, Outcome::Fail, "{venue:?}: {report:#?}");
        assert!(c.answer.contains("ahead of ours"), "{venue:?}: {c:?}");
        assert!(c.fix.as_deref().unwrap().contains("clock"), "{c:?}");
        assert!(!report.passed());
    }
}

#[tokio::test]
async fn a_symbol_the_venue_does_not_list_fails_on_every_simulator() {
    for venue in ALL {
        let sim = start(venue, SimOptions::new(venue)).await;
        let report = selftest::run(&test_for(&sim, &["NOPEUSDT", "BTCUSDT"])).await;
        let c = report.get("instrument NOPEUSDT").unwrap();
        assert_eq!(c.outcome, Outcome::Fail, "{venue:?}: {report:#?}");
        assert!(c.fix.as_deref().unwrap().contains("NOPEUSDT"), "{c:?}");
        assert_eq!(outcome(&report, "instrument BTCUSDT"), Outcome::Pass);
        // The order still goes to the listed symbol.
        assert_eq!(
            outcome(&report, "order_round_trip"),
            Outcome::Pass,
            "{venue:?}"
        );
        assert!(!report.passed());
    }
}

#[tokio::test]
async fn an_order_that_fills_is_reported_loudly_and_left_open() {
    for venue in ALL {
        let sim = start(venue, SimOptions::new(venue)).await;
        sim.fill_next_limit_order();
        let report = selftest::run(&test_for(&sim, &["BTCUSDT"])).await;
        assert!(!report.passed(), "{venue:?}");
        let c = report.get("order_round_trip").unwrap();
        assert_eq!(c.outcome, Outcome::Fail, "{venue:?}: {report:#?}");
        assert!(
            c.answer.contains("THE TEST ORDER FILLED"),
            "{venue:?}: {c:?}"
        );
        assert!(c.answer.contains("NOT closed"), "{c:?}");
        let held = sim.position("BTCUSDT");
        assert!(held > Decimal::ZERO, "{venue:?}: the fill stays");
        assert!(
            c.answer.contains(&format!("is now {}", held.normalize())),
            "{venue:?}: {c:?} vs {held}"
        );
        // Nothing was sent to close it: the operator decides.
        assert_eq!(sim.orders().len(), 1, "{venue:?}");
    }
}

#[tokio::test]
async fn a_5xx_on_the_cancel_is_settled_by_client_id() {
    for venue in ALL {
        let sim = start(venue, SimOptions::new(venue)).await;
        sim.faults()
            .inject(&cancel_path(venue), 1, Fault::StatusAfterAccept(503));
        let report = selftest::run(&test_for(&sim, &["BTCUSDT"])).await;
        assert_eq!(sim.faults().pending(), 0, "{venue:?}: the fault was hit");
        let c = report.get("order_round_trip").unwrap();
        assert_eq!(c.outcome, Outcome::Pass, "{venue:?}: {report:#?}");
        assert!(
            c.answer.contains("the cancel answer failed")
                && c.answer.contains("settled by client id"),
            "{venue:?}: {}",
            c.answer
        );
        assert_eq!(the_order(&sim).status, SimStatus::Cancelled, "{venue:?}");
        assert!(report.passed(), "{venue:?}");
    }
}

#[tokio::test]
async fn a_position_on_another_symbol_is_a_warning() {
    for venue in ALL {
        let sim = start(venue, SimOptions::new(venue)).await;
        let adapter = tradeengine_venues::connect(venue, config(&sim))
            .await
            .unwrap();
        let qty = match venue {
            SimVenue::Binance | SimVenue::Mexc => Decimal::from(10),
            _ => Decimal::ONE,
        };
        let placed = adapter
            .place_order(&market("someone-else", "SOLUSDT", Side::Sell, qty, false))
            .await
            .unwrap();
        assert!(placed.filled_qty > Decimal::ZERO, "{venue:?}: {placed:?}");
        drop(adapter);
        let report = selftest::run(&test_for(&sim, &["BTCUSDT"])).await;
        let c = report.get("positions").unwrap();
        assert_eq!(c.outcome, Outcome::Warn, "{venue:?}: {report:#?}");
        assert!(c.answer.contains("SOLUSDT"), "{c:?}");
        assert!(report.passed(), "a warning does not fail: {report:#?}");
    }
}

#[tokio::test]
async fn hedge_mode_fails_the_account_mode_check() {
    for venue in [
        SimVenue::Bybit,
        SimVenue::Binance,
        SimVenue::Blofin,
        SimVenue::Mexc,
    ] {
        let mut options = SimOptions::new(venue);
        options.hedge_mode = true;
        let sim = start(venue, options).await;
        let report = selftest::run(&test_for(&sim, &["BTCUSDT"])).await;
        let c = report.get("account_mode").unwrap();
        assert_eq!(c.outcome, Outcome::Fail, "{venue:?}: {report:#?}");
        assert!(c.fix.as_deref().unwrap().contains("one-way"), "{c:?}");
        assert!(sim.orders().is_empty(), "{venue:?}");
    }
}
