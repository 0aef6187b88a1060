//! The Hyperliquid adapter against the Hyperliquid simulator, which recovers the signer of
//! every action from its EIP-712 signature and checks nonces as the exchange does: reads,
//! rounding, market orders, leverage, and key configurations that cannot trade refused at connect.
#![allow(clippy::unwrap_used)]

mod sim;

use std::time::Duration;

use rust_decimal_macros::dec;
use sim::*;
use tradeengine_model::{MarginMode, OrderState, Side};
use tradeengine_venue_sim::{SimHandle, SimOptions, VenueId};
use tradeengine_venues::hyperliquid::actions::{ExchangeRequest, ScheduleCancelAction};
use tradeengine_venues::hyperliquid::signing::{ActionContext, Wallet};
use tradeengine_venues::hyperliquid::{
    HyperliquidOptions, HyperliquidVenue, connect_hyperliquid_with,
};
use tradeengine_venues::{Credentials, Venue, VenueErrorKind};

const HL: VenueId = VenueId::Hyperliquid;

fn quiet_options() -> HyperliquidOptions {
    // No dead-man pushes in the background: the tests count /exchange requests.
    HyperliquidOptions {
        dead_man_every: None,
        ..HyperliquidOptions::default()
    }
}

async fn setup() -> (SimHandle, HyperliquidVenue) {
    let sim = start(HL, SimOptions::new(HL)).await;
    let venue = connect_hyperliquid_with(config(&sim), quiet_options())
        .await
        .unwrap();
    (sim, venue)
}

#[tokio::test]
async fn reads_account_universe_and_prices() {
    let (_sim, venue) = setup().await;
    assert_eq!(venue.account_value().await.unwrap(), dec!(100000));
    assert!(venue.positions().await.unwrap().is_empty());
    let inst = venue
        .instruments(&[sym("BTCUSDT"), sym("ETHUSDT"), sym("SOLUSDT")])
        .await
        .unwrap();
    assert_eq!(inst[0].venue_symbol, "BTC");
    // szDecimals 5: size step 0.00001, price decimals at most 6 − 5 = 1.
    assert_eq!(
        (inst[0].qty_step, inst[0].tick_size),
        (dec!(0.00001), dec!(0.1))
    );
    assert_eq!(
        (inst[2].qty_step, inst[2].tick_size),
        (dec!(0.01), dec!(0.0001))
    );
    assert_eq!(inst[0].min_notional, dec!(10));
    let e = venue.instruments(&[sym("NOPEUSDT")]).await.unwrap_err();
    assert_eq!(e.kind, VenueErrorKind::Rejected);
    let prices = venue
        .prices(&[sym("BTCUSDT"), sym("ETHUSDT")])
        .await
        .unwrap();
    assert_eq!(prices[&sym("BTCUSDT")].get(), dec!(60000));
    assert_eq!(prices[&sym("ETHUSDT")].get(), dec!(3000));
    // The rate limits the metrics show: the IP weight and the address's action budget.
    let health = venue.health();
    let scopes: Vec<&str> = health.rate_limit_headroom.iter().map(|(s, _)| *s).collect();
    assert!(scopes.contains(&"ip_weight"), "{scopes:?}");
    assert!(scopes.contains(&"address_budget"), "{scopes:?}");
    assert!(
        health
            .rate_limit_headroom
            .iter()
            .all(|(_, f)| (0.0..=1.0).contains(f))
    );
    assert_eq!(venue.address_budget().await.unwrap(), (0, 10000));
}

#[tokio::test]
async fn market_orders_fill_as_ioc_limits_and_positions_read_back() {
    let (sim, venue) = setup().await;
    let buy = venue
        .place_order(&market(
            "te-open-0",
            "BTCUSDT",
            Side::Buy,
            dec!(0.01),
            false,
        ))
        .await
        .unwrap();
    assert_eq!(buy.state, OrderState::Filled);
    assert_eq!(buy.filled_qty, dec!(0.01));
    assert_eq!(buy.avg_fill_price.map(|p| p.get()), Some(dec!(60000)));
    assert_eq!(sim.position("BTCUSDT"), dec!(0.01));
    // The IOC limit went out 5 % above the mark, as the SDK's market_open does.
    let sent = sim.orders().last().cloned().unwrap();
    assert_eq!(sent.price, Some(dec!(63000)));
    let positions = venue.positions().await.unwrap();
    assert_eq!(positions.len(), 1);
    assert_eq!(positions[0].size.get(), dec!(0.01));
    assert_eq!(positions[0].margin_mode, MarginMode::Cross);
    // Reduce-only close: sells 5 % under the mark.
    let close = venue
        .place_order(&market(
            "te-close-0",
            "BTCUSDT",
            Side::Sell,
            dec!(0.01),
            true,
        ))
        .await
        .unwrap();
    assert_eq!(close.state, OrderState::Filled);
    assert_eq!(sim.position("BTCUSDT"), dec!(0));
    assert_eq!(sim.orders().last().unwrap().price, Some(dec!(57000)));
    // Reduce-only with nothing to reduce is refused by the exchange's rule.
    let e = venue
        .place_order(&market(
            "te-close-1",
            "BTCUSDT",
            Side::Sell,
            dec!(0.01),
            true,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.kind, VenueErrorKind::Rejected, "{e}");
}

#[tokio::test]
async fn leverage_and_margin_mode_reach_the_exchange() {
    let (sim, venue) = setup().await;
    venue.set_leverage(&sym("ETHUSDT"), dec!(3)).await.unwrap();
    assert_eq!(sim.leverage("ETHUSDT"), dec!(3));
    venue
        .set_margin_mode(&sym("ETHUSDT"), MarginMode::Isolated)
        .await
        .unwrap();
    // The mode change keeps the leverage.
    assert_eq!(sim.leverage("ETHUSDT"), dec!(3));
    let e = venue
        .set_leverage(&sym("ETHUSDT"), dec!(0.5))
        .await
        .unwrap_err();
    assert_eq!(e.kind, VenueErrorKind::Rejected);
}

#[tokio::test]
async fn keys_that_cannot_trade_are_refused_at_connect() {
    let sim = start(HL, SimOptions::new(HL)).await;
    let o = sim.options().clone();
    let with = |key: &str, secret: &str| {
        let mut c = config(&sim);
        c.credentials = Some(Credentials::new(key, secret));
        c
    };
    // An agent never approved for this account.
    let stranger = "0x0000000000000000000000000000000000000000000000000000000000000b0b";
    let e = connect_hyperliquid_with(with(&o.api_key, stranger), quiet_options())
        .await
        .unwrap_err();
    assert_eq!(e.kind, VenueErrorKind::Auth);
    assert!(e.message.contains("cannot trade"), "{e}");
    assert!(
        !e.message.contains(stranger.trim_start_matches("0x")),
        "no key in errors: {e}"
    );
    // The approved agent, but for another account.
    let other = "0x00000000000000000000000000000000000000bb";
    let e = connect_hyperliquid_with(with(other, &o.api_secret), quiet_options())
        .await
        .unwrap_err();
    assert_eq!(e.kind, VenueErrorKind::Auth, "{e}");
    // The account's own (master) key can withdraw: refused like a withdrawal-enabled key.
    let master_key = "0x0000000000000000000000000000000000000000000000000000000000000c0c";
    let master = tradeengine_venues::hyperliquid::signing::Wallet::from_hex(master_key)
        .unwrap()
        .address()
        .to_string();
    let e = connect_hyperliquid_with(with(&master, master_key), quiet_options())
        .await
        .unwrap_err();
    assert_eq!(e.kind, VenueErrorKind::Auth, "{e}");
    assert_eq!(
        e.code.as_deref(),
        Some(tradeengine_venues::permissions::WITHDRAWAL_ENABLED),
        "{e}"
    );
    assert!(e.message.contains("API wallet"), "{e}");
    // Keys in the wrong shape.
    let e = connect_hyperliquid_with(with("not-an-address", &o.api_secret), quiet_options())
        .await
        .unwrap_err();
    assert!(e.message.contains("master account's address"), "{e}");
    let e = connect_hyperliquid_with(with(&o.api_key, "sim-test-secret"), quiet_options())
        .await
        .unwrap_err();
    assert!(e.message.contains("private key"), "{e}");
    assert!(!e.message.contains("sim-test-secret"), "{e}");
}

/// Posts `scheduleCancel` (no time: removes any) signed by `key` with `nonce`, as the SDK
/// would, and returns the reply.
async fn post_signed(sim: &SimHandle, key: &str, nonce: u64) -> serde_json::Value {
    post_action(sim, key, nonce, None).await
}

/// Posts `scheduleCancel` at `time`, signed by the simulator's approved agent.
async fn post_schedule(sim: &SimHandle, nonce: u64, time: Option<u64>) -> serde_json::Value {
    let key = sim.options().api_secret.clone();
    post_action(sim, &key, nonce, time).await
}

async fn post_action(
    sim: &SimHandle,
    key: &str,
    nonce: u64,
    time: Option<u64>,
) -> serde_json::Value {
    let action = ScheduleCancelAction::new(time);
    let context = ActionContext {
        nonce,
        vault: None,
        expires_after: None,
        mainnet: false,
    };
    let signature = Wallet::from_hex(key)
        .unwrap()
        .sign_l1_action(&action, &context)
        .unwrap();
    let body = serde_json::to_string(&ExchangeRequest::new(&action, &context, signature)).unwrap();
    reqwest::Client::new()
        .post(format!("{}/exchange", sim.base_url()))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_exchange_refuses_a_replayed_nonce_and_an_unknown_signer() {
    let sim = start(HL, SimOptions::new(HL)).await;
    let agent = sim.options().api_secret.clone();
    let now = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap();
    let ok = post_signed(&sim, &agent, now).await;
    assert_eq!(ok["status"], "ok", "{ok}");
    assert_eq!(ok["response"]["type"], "default", "{ok}");
    let replay = post_signed(&sim, &agent, now).await;
    assert_eq!(replay["status"], "err", "{replay}");
    assert!(
        replay["response"].as_str().unwrap().contains("nonce"),
        "{replay}"
    );
    // A nonce far from the exchange's clock.
    let stale = post_signed(&sim, &agent, now - 3 * 86_400_000).await;
    assert_eq!(stale["status"], "err", "{stale}");
    // A well-formed signature from a key that is no agent of the account.
    let stranger = "0x0000000000000000000000000000000000000000000000000000000000000b0b";
    let refused = post_signed(&sim, stranger, now + 1).await;
    assert_eq!(refused["status"], "err", "{refused}");
    assert!(
        refused["response"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{refused}"
    );
}

#[tokio::test]
async fn the_dead_man_switch_is_armed_by_the_first_order_and_stops_with_the_venue() {
    let sim = start(HL, SimOptions::new(HL)).await;
    let options = HyperliquidOptions {
        dead_man_every: Some(Duration::from_millis(200)),
        dead_man_after: Duration::from_secs(30),
        ..HyperliquidOptions::default()
    };
    let venue = connect_hyperliquid_with(config(&sim), options)
        .await
        .unwrap();
    // Not armed until an order is placed: connecting and reading schedule nothing (a dry-run
    // account, whose orders never reach the adapter, must not cancel anyone's orders).
    venue.positions().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sim.counters().get("POST", "/exchange"), 0);
    let order = limit("te-arm-0", "ETHUSDT", Side::Buy, dec!(0.01), dec!(2500));
    venue.place_order(&order).await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    // The order, then a push every 200 ms.
    let pushes = sim.counters().get("POST", "/exchange") - 1;
    assert!(pushes >= 3, "{pushes} scheduleCancel pushes");
    drop(venue);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = sim.counters().get("POST", "/exchange");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        sim.counters().get("POST", "/exchange"),
        after,
        "stops with the venue"
    );
}

#[tokio::test]
async fn a_scheduled_cancel_that_comes_due_cancels_resting_orders() {
    let (sim, venue) = setup().await;
    let order = limit("te-dead-0", "ETHUSDT", Side::Buy, dec!(0.01), dec!(2500));
    venue.place_order(&order).await.unwrap();
    // Too early (under 5 s ahead) is refused, as the exchange does.
    let now = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap();
    let early = post_schedule(&sim, now + 1, Some(now + 1_000)).await;
    assert_eq!(early["status"], "err", "{early}");
    let set = post_schedule(&sim, now + 2, Some(now + 6_000)).await;
    assert_eq!(set["status"], "ok", "{set}");
    assert_eq!(venue.open_orders(None).await.unwrap().len(), 1);
    // The exchange's clock passes the scheduled time: the order is gone.
    sim.faults().set_clock_skew_ms(7_000);
    assert!(venue.open_orders(None).await.unwrap().is_empty());
    let after = venue
        .order_by_client_id(&order.symbol, &order.client_order_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.state, OrderState::Cancelled);
}
