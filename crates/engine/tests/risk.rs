#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Risk against the paper venue: every pre-trade rule refuses the leg that breaks it, names the
//! rule in the order row and the audit trail, and never refuses a closing leg; loss limits move
//! an account to REDUCING and HALTED, which survive a restart until an operator reset; presets
//! fill limits that explicit keys override.
//!
//! Each test also runs its scenario **without the rule** and checks the order then goes through,
//! so the test fails if the rule is removed.

mod risk_rig;

use risk_rig::{Rig, Setup};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tradeengine_core::risk::PortfolioState;
use tradeengine_engine::killswitch::{self, KillAction};
use tradeengine_model::{AccountName, Side};
use tradeengine_store::AuditKind;

/// Asserts exactly `n` refusals so far, all by `rule`, and as many rejected order rows naming it.
async fn assert_refused(rig: &Rig, rule: &str, n: usize) {
    let refusals = rig.refusals().await;
    assert_eq!(refusals.len(), n, "{refusals:?}");
    assert!(refusals.iter().all(|(r, _)| r == rule), "{refusals:?}");
    let rows = rig.rejected_orders().await;
    assert_eq!(rows.len(), n, "{rows:?}");
    assert!(
        rows.iter()
            .all(|e| e.starts_with(&format!("risk {rule}: "))),
        "{rows:?}"
    );
}

#[tokio::test]
async fn max_leverage_per_symbol_refuses_the_opening_leg() {
    for limited in [true, false] {
        let mut setup = Setup::risk("");
        if limited {
            setup.symbol_extra = "max_leverage = 3".into();
        }
        let mut rig = Rig::start_with(&setup).await;
        rig.target("BTCUSDT", dec!(0.1), Some(dec!(5))).await;
        let report = rig.cycle().await;
        if limited {
            assert_eq!((report.sent, report.risk_refused), (0, 1), "{report:?}");
            assert_eq!(rig.position("BTCUSDT").await, Decimal::ZERO);
            assert_refused(&rig, "max_leverage", 1).await;
        } else {
            // 10 000 × 0.1 × 5 / 60 000 = 0.0833 → 0.083.
            assert_eq!(rig.position("BTCUSDT").await, dec!(0.083));
            assert!(rig.refusals().await.is_empty());
        }
    }
}

#[tokio::test]
async fn max_position_notional_refuses_and_a_symbol_may_tighten_it() {
    // 0.083 BTC × 60 000 = 4 980 after the order.
    for (risk, symbol_extra, opens) in [
        ("max_position_notional = 4000", "", false),
        ("max_position_notional = 6000", "", true),
        (
            "max_position_notional = 6000",
            "max_position_notional = 4000",
            false,
        ),
    ] {
        let setup = Setup {
            symbol_extra: symbol_extra.into(),
            ..Setup::risk(risk)
        };
        let mut rig = Rig::start_with(&setup).await;
        rig.target("BTCUSDT", dec!(0.5), None).await;
        rig.cycle().await;
        if opens {
            assert_eq!(rig.position("BTCUSDT").await, dec!(0.083), "{risk}");
        } else {
            assert_eq!(
                rig.position("BTCUSDT").await,
                Decimal::ZERO,
                "{risk} {symbol_extra}"
            );
            assert_refused(&rig, "max_position_notional", 1).await;
        }
    }
}

#[tokio::test]
async fn max_gross_exposure_counts_positions_the_engine_does_not_manage() {
    for manual in [true, false] {
        let setup = Setup {
            symbols: vec!["BTCUSDT"],
            ..Setup::risk("max_gross_exposure = 2")
        };
        let mut rig = Rig::start_with(&setup).await;
        if manual {
            // 5 ETH × 3 000 = 15 000 = 1.5 × equity, opened by hand at 5×.
            let eth = tradeengine_model::Symbol::new("ETHUSDT").unwrap();
            use tradeengine_venues::Venue;
            rig.venue.set_leverage(&eth, dec!(5)).await.unwrap();
            rig.manual_order("ETHUSDT", Side::Buy, dec!(5)).await;
        }
        // 0.8 × 10 000 / 60 000 → 0.133 BTC = 7 980: within 2 × equity alone, not beside ETH.
        // Beside ETH the target is scaled into what ETH leaves of the budget (sized to the
        // whole budget, it was refused at the gate every cycle and never reached):
        // (20 000 − 15 000) / 60 000 = 0.0833 → 0.083.
        rig.target("BTCUSDT", dec!(0.8), None).await;
        rig.cycle().await;
        if manual {
            assert_eq!(rig.position("BTCUSDT").await, dec!(0.083));
            assert!(
                rig.refusals().await.is_empty(),
                "nothing refused at the gate"
            );
            assert_eq!(
                rig.position("ETHUSDT").await,
                dec!(5),
                "unmanaged, untouched"
            );
        } else {
            assert_eq!(rig.position("BTCUSDT").await, dec!(0.133));
        }
    }
}

#[tokio::test]
async fn max_order_notional_refuses_opens_but_never_a_close() {
    for limit in ["3000", "6000"] {
        let mut rig = Rig::start(&format!("max_order_notional = {limit}")).await;
        rig.target("BTCUSDT", dec!(0.5), None).await;
        rig.cycle().await;
        if limit == "3000" {
            assert_eq!(rig.position("BTCUSDT").await, Decimal::ZERO);
            assert_refused(&rig, "max_order_notional", 1).await;
            continue;
        }
        assert_eq!(rig.position("BTCUSDT").await, dec!(0.083));
        // Tighten the limit under the open position: the 4 980 close still goes.
        rig.reconfigure(&Setup::risk("max_order_notional = 1000"));
        rig.target("BTCUSDT", Decimal::ZERO, None).await;
        rig.cycle().await;
        assert_eq!(rig.position("BTCUSDT").await, Decimal::ZERO);
        assert!(rig.refusals().await.is_empty());
    }
}

#[tokio::test]
async fn price_band_refuses_an_order_sized_on_a_bad_tick() {
    for band in [Some("0.05"), None] {
        let risk = band
            .map(|b| format!("price_band = {b}"))
            .unwrap_or_default();
        let mut rig = Rig::start(&risk).await;
        // A normal cycle passes the band (the mark is read and agrees).
        rig.target("ETHUSDT", dec!(0.3), None).await;
        rig.cycle().await;
        assert_eq!(rig.position("ETHUSDT").await, dec!(1));
        // The cycle's read says BTC is at 72 000 (+20 %); the mark says 60 000.
        rig.venue
            .bad_tick
            .store(true, std::sync::atomic::Ordering::SeqCst);
        rig.target("BTCUSDT", dec!(0.5), None).await;
        rig.cycle().await;
        if band.is_some() {
            assert_eq!(rig.position("BTCUSDT").await, Decimal::ZERO);
            assert_refused(&rig, "price_band", 1).await;
        } else {
            // 5 000 / 72 000 → 0.069.
            assert_eq!(rig.position("BTCUSDT").await, dec!(0.069));
        }
    }
}

#[tokio::test]
async fn max_orders_per_minute_holds_the_excess_until_the_window_slides() {
    for limited in [true, false] {
        let risk = if limited {
            "max_orders_per_minute = 2"
        } else {
            ""
        };
        let mut rig = Rig::start(risk).await;
        for s in ["BTCUSDT", "ETHUSDT", "SOLUSDT"] {
            rig.target(s, dec!(0.2), None).await;
        }
        let report = rig.cycle().await;
        if !limited {
            assert_eq!(report.sent, 3);
            continue;
        }
        assert_eq!((report.sent, report.risk_refused), (2, 1), "{report:?}");
        assert_refused(&rig, "max_orders_per_minute", 1).await;
        // 59 s later the window is still full.
        rig.clock.advance(chrono::Duration::seconds(59));
        assert_eq!(rig.cycle().await.sent, 0);
        // At 60 s both orders have left it.
        rig.clock.advance(chrono::Duration::seconds(1));
        let report = rig.cycle().await;
        assert_eq!((report.sent, report.risk_refused), (1, 0), "{report:?}");
        for s in ["BTCUSDT", "ETHUSDT", "SOLUSDT"] {
            assert!(rig.position(s).await > Decimal::ZERO, "{s}");
        }
    }
}

#[tokio::test]
async fn max_open_positions_refuses_a_new_position_but_not_adding_to_one() {
    for limited in [true, false] {
        let risk = if limited {
            "max_open_positions = 2"
        } else {
            ""
        };
        let mut rig = Rig::start(risk).await;
        for s in ["BTCUSDT", "ETHUSDT", "SOLUSDT"] {
            rig.target(s, dec!(0.2), None).await;
        }
        let report = rig.cycle().await;
        let mut open = 0;
        for s in ["BTCUSDT", "ETHUSDT", "SOLUSDT"] {
            if rig.position(s).await != Decimal::ZERO {
                open += 1;
            }
        }
        if !limited {
            assert_eq!(open, 3);
            continue;
        }
        assert_eq!((open, report.risk_refused), (2, 1), "{report:?}");
        assert_refused(&rig, "max_open_positions", 1).await;
        // Adding to an open position is not opening one.
        let held = if rig.position("BTCUSDT").await.is_zero() {
            "ETHUSDT"
        } else {
            "BTCUSDT"
        };
        let before = rig.position(held).await;
        rig.target(held, dec!(0.3), None).await;
        rig.cycle().await;
        assert!(rig.position(held).await > before);
    }
}

/// Opens 0.167 BTC (depth 0.5 at 2×), then moves the price.
async fn long_btc(risk: &str) -> Rig {
    let mut rig = Rig::start(risk).await;
    rig.target("BTCUSDT", dec!(0.5), Some(dec!(2))).await;
    rig.cycle().await;
    assert_eq!(rig.position("BTCUSDT").await, dec!(0.167));
    rig
}

#[tokio::test]
async fn daily_loss_reduces_then_halts_and_holds_through_a_restart_until_reset() {
    let mut rig = long_btc("daily_loss_limit = 0.04\nreduce_at = 0.5").await;
    // −1 500 × 0.167 = −250.5: 2.5 % of 10 000, past half the 4 % limit.
    rig.feed.set("BTCUSDT", dec!(58500));
    rig.target("BTCUSDT", dec!(0.8), Some(dec!(2))).await;
    let report = rig.cycle().await;
    assert_eq!(report.risk_state, PortfolioState::Reducing);
    assert_eq!(
        rig.position("BTCUSDT").await,
        dec!(0.167),
        "an increase is held"
    );
    assert_eq!(rig.risk_state().await, Some(PortfolioState::Reducing));
    // A reduction goes.
    rig.target("BTCUSDT", dec!(0.25), Some(dec!(2))).await;
    rig.cycle().await;
    let reduced = rig.position("BTCUSDT").await;
    assert!(
        reduced > Decimal::ZERO && reduced < dec!(0.167),
        "{reduced}"
    );
    // A further fall passes the limit: HALTED, and the position is closed.
    rig.feed.set("BTCUSDT", dec!(54000));
    let report = rig.cycle().await;
    assert_eq!(report.risk_state, PortfolioState::Halted);
    assert_eq!(rig.position("BTCUSDT").await, Decimal::ZERO);
    // Nothing opens, not even on a new day, nor after a restart.
    rig.feed.set("BTCUSDT", dec!(60000));
    rig.target("BTCUSDT", dec!(0.5), Some(dec!(2))).await;
    rig.clock.advance(chrono::Duration::days(1));
    rig.cycle().await;
    assert_eq!(rig.position("BTCUSDT").await, Decimal::ZERO);
    rig.restart().await;
    assert_eq!(rig.cycle().await.risk_state, PortfolioState::Halted);
    assert_eq!(rig.position("BTCUSDT").await, Decimal::ZERO);
    let changes = rig.events(AuditKind::RiskStateChanged).await;
    let rules: Vec<_> = changes
        .iter()
        .map(|e| (e.payload["to"].clone(), e.payload["rule"].clone()))
        .collect();
    assert_eq!(
        rules,
        vec![
            (
                serde_json::json!("reducing"),
                serde_json::json!("daily_loss_limit")
            ),
            (
                serde_json::json!("halted"),
                serde_json::json!("daily_loss_limit")
            ),
        ]
    );
    // The operator reset: ACTIVE at the next cycle, and the target is carried out.
    let before = tradeengine_engine::risk::reset(
        &*rig.store,
        &Rig::account(),
        "test",
        tradeengine_model::Clock::now(&*rig.clock),
    )
    .await
    .unwrap();
    assert_eq!(before.state, PortfolioState::Halted);
    let report = rig.cycle().await;
    assert_eq!(report.risk_state, PortfolioState::Active);
    assert!(rig.position("BTCUSDT").await > Decimal::ZERO);
    assert_eq!(rig.events(AuditKind::RiskStateChanged).await.len(), 3);
    assert!(rig.store.verify_audit().await.unwrap().is_ok());
}

#[tokio::test]
async fn each_loss_limit_halts_and_flattens() {
    for key in [
        Some("daily_loss_limit"),
        Some("weekly_loss_limit"),
        Some("monthly_loss_limit"),
        Some("max_drawdown"),
        None,
    ] {
        let risk = key.map(|k| format!("{k} = 0.04")).unwrap_or_default();
        let mut rig = long_btc(&risk).await;
        // −6 000 × 0.167 = −1 002: 10 % of equity.
        rig.feed.set("BTCUSDT", dec!(54000));
        let report = rig.cycle().await;
        match key {
            Some(k) => {
                assert_eq!(report.risk_state, PortfolioState::Halted, "{k}");
                assert_eq!(rig.position("BTCUSDT").await, Decimal::ZERO, "{k}");
                let e = rig.events(AuditKind::RiskStateChanged).await;
                assert_eq!(e[0].payload["rule"], k);
            }
            None => {
                assert_eq!(report.risk_state, PortfolioState::Active);
                assert_eq!(rig.position("BTCUSDT").await, dec!(0.167));
            }
        }
    }
}

#[tokio::test]
async fn a_preset_fills_limits_and_explicit_keys_override_it() {
    // Conservative: one open position at a time.
    for (risk, account_extra, want_open) in [
        ("preset = \"conservative\"", "", 1),
        ("preset = \"conservative\"\nmax_open_positions = 2", "", 2),
        (
            "preset = \"conservative\"",
            "[accounts.risk]\nmax_open_positions = 2",
            2,
        ),
        ("", "", 2),
    ] {
        let setup = Setup {
            account_extra: account_extra.into(),
            ..Setup::risk(risk)
        };
        let mut rig = Rig::start_with(&setup).await;
        // 0.1 × 10 000 = 1 000 each: inside the preset's depth (0.1) and gross (0.2) limits.
        rig.target("BTCUSDT", dec!(0.1), None).await;
        rig.target("ETHUSDT", dec!(0.1), None).await;
        rig.cycle().await;
        let mut open = 0;
        for s in ["BTCUSDT", "ETHUSDT"] {
            if rig.position(s).await != Decimal::ZERO {
                open += 1;
            }
        }
        assert_eq!(open, want_open, "{risk} / {account_extra}");
        if want_open == 1 {
            assert_refused(&rig, "max_open_positions", 1).await;
        }
    }
}

#[tokio::test]
async fn a_kill_switch_scoped_to_another_account_leaves_this_one_trading() {
    let mut rig = Rig::start("").await;
    let other = AccountName::new("other").unwrap();
    let clock = tradeengine_model::SystemClock;
    killswitch::engage(
        &*rig.store,
        &killswitch::new_switch(KillAction::Flatten, Some(vec![other]), "test", &clock),
    )
    .await
    .unwrap();
    rig.state.refresh_kill(&*rig.store, &rig.data_dir()).await;
    rig.target("BTCUSDT", dec!(0.5), None).await;
    rig.cycle().await;
    assert_eq!(rig.position("BTCUSDT").await, dec!(0.083));
    // Scoped to this account, flatten closes it.
    killswitch::engage(
        &*rig.store,
        &killswitch::new_switch(
            KillAction::Flatten,
            Some(vec![Rig::account()]),
            "test",
            &clock,
        ),
    )
    .await
    .unwrap();
    rig.state.refresh_kill(&*rig.store, &rig.data_dir()).await;
    rig.cycle().await;
    assert_eq!(rig.position("BTCUSDT").await, Decimal::ZERO);
}

/// `(plans created, risk_refused events)` so far.
async fn records(rig: &Rig) -> (usize, usize) {
    (
        rig.events(AuditKind::PlanCreated).await.len(),
        rig.refusals().await.len(),
    )
}

/// One record per refusal episode: while neither the target, the refusing rule nor the risk
/// state changes, each interval's cycle counts the refusal (`risk_held`) but stores no plan, no
/// rejected order and no audit event. A new target, another rule, or the refusal clearing and
/// coming back is recorded again.
#[tokio::test]
async fn a_refusal_on_an_unchanged_target_is_recorded_once_per_episode() {
    // 0.5 × 10 000 / 60 000 → 0.083 BTC = 4 980 per order, over 3 000.
    let mut rig = Rig::start("max_order_notional = 3000").await;
    rig.target("BTCUSDT", dec!(0.5), None).await;
    let first = rig.cycle().await;
    assert_eq!((first.risk_refused, first.risk_held), (1, 0), "{first:?}");
    assert_refused(&rig, "max_order_notional", 1).await;
    let recorded = records(&rig).await;
    assert_eq!(recorded, (1, 1));

    // Reconciliation intervals with nothing changed.
    for _ in 0..3 {
        rig.clock.advance(chrono::Duration::seconds(10));
        let report = rig.cycle().await;
        assert_eq!(
            (report.sent, report.risk_refused, report.risk_held),
            (0, 0, 1),
            "{report:?}"
        );
        assert!(
            report
                .symbol_errors
                .iter()
                .any(|e| e.to_string().contains("risk max_order_notional")),
            "{report:?}"
        );
    }
    assert_refused(&rig, "max_order_notional", 1).await;
    assert_eq!(records(&rig).await, recorded, "no new plan or refusal");
    assert_eq!(rig.position("BTCUSDT").await, Decimal::ZERO);

    // A new target: a new decision, recorded.
    rig.target("BTCUSDT", dec!(0.6), None).await;
    assert_eq!(rig.cycle().await.risk_refused, 1);
    assert_refused(&rig, "max_order_notional", 2).await;
    assert_eq!(rig.cycle().await.risk_held, 1);
    assert_refused(&rig, "max_order_notional", 2).await;

    // Another rule refuses the same target: recorded.
    rig.reconfigure(&Setup::risk("max_position_notional = 3000"));
    assert_eq!(rig.cycle().await.risk_refused, 1);
    assert_eq!(rig.refusals().await.len(), 3);
    assert_eq!(rig.refusals().await[2].0, "max_position_notional");
    assert_eq!(rig.cycle().await.risk_held, 1);
    assert_eq!(rig.refusals().await.len(), 3);

    // The refusal clears (the target is met: nothing to plan) and comes back with the very
    // target of the episode: a new episode, recorded.
    rig.target("BTCUSDT", Decimal::ZERO, None).await;
    let cleared = rig.cycle().await;
    assert_eq!((cleared.plans, cleared.risk_held), (0, 0), "{cleared:?}");
    rig.target("BTCUSDT", dec!(0.6), None).await;
    assert_eq!(rig.cycle().await.risk_refused, 1);
    assert_eq!(rig.refusals().await.len(), 4);

    // Cleared by a looser limit: the order goes at once, no refusal.
    rig.reconfigure(&Setup::risk("max_position_notional = 8000"));
    let report = rig.cycle().await;
    assert_eq!((report.sent, report.risk_held), (1, 0), "{report:?}");
    assert_eq!(rig.position("BTCUSDT").await, dec!(0.1));
    assert_eq!(rig.refusals().await.len(), 4);
    assert!(rig.store.verify_audit().await.unwrap().is_ok());
}
