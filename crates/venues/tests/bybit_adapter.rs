//! The Bybit adapter against the Bybit simulator: reads, orders, settings, refusals and the
//! private stream. Faults are in `bybit_faults.rs`.
#![allow(clippy::unwrap_used)]

mod sim;

use std::time::Duration;

use rust_decimal_macros::dec;
use sim::*;
use tradeengine_model::{MarginMode, OrderState, Side};
use tradeengine_venue_sim::{SimOptions, VenueId};
use tradeengine_venues::connect::connect_bybit;
use tradeengine_venues::{AdapterConfig, Credentials, Venue, VenueErrorKind};

async fn setup() -> (
    tradeengine_venue_sim::SimHandle,
    tradeengine_venues::bybit::BybitVenue,
) {
    let sim = start(VenueId::Bybit, SimOptions::new(VenueId::Bybit)).await;
    let venue = connect_bybit(config(&sim)).await.unwrap();
    assert!(
        venue.wait_stream_ready(Duration::from_secs(3)).await,
        "private stream not ready"
    );
    (sim, venue)
}

#[tokio::test]
async fn reads_account_instruments_and_prices() {
    let (sim, venue) = setup().await;
    assert_eq!(venue.account_value().await.unwrap(), dec!(100000));
    assert!(venue.positions().await.unwrap().is_empty());
    let inst = venue
        .instruments(&[sym("BTCUSDT"), sym("SOLUSDT")])
        .await
        .unwrap();
    assert_eq!(inst[0].qty_step, dec!(0.001));
    assert_eq!(inst[0].tick_size, dec!(0.1));
    assert_eq!(inst[0].min_notional, dec!(5));
    assert_eq!(inst[1].qty_step, dec!(0.1));
    let err = venue.instruments(&[sym("NOPEUSDT")]).await.unwrap_err();
    assert_eq!(err.kind, VenueErrorKind::Rejected);
    let prices = venue
        .prices(&[sym("BTCUSDT"), sym("ETHUSDT"), sym("SOLUSDT")])
        .await
        .unwrap();
    assert_eq!(prices[&sym("ETHUSDT")].get(), dec!(3000));
    // All three prices came from one request.
    assert_eq!(sim.counters().get("GET", "/v5/market/tickers"), 1);
    // Instruments are cached: asking again costs nothing.
    let before = sim.counters().get("GET", "/v5/market/instruments-info");
    venue.instruments(&[sym("BTCUSDT")]).await.unwrap();
    assert_eq!(
        sim.counters().get("GET", "/v5/market/instruments-info"),
        before
    );
}

#[tokio::test]
async fn market_orders_fill_and_move_the_position() {
    let (sim, venue) = setup().await;
    let buy = venue
        .place_order(&market("t-buy-1", "BTCUSDT", Side::Buy, dec!(0.01), false))
        .await
        .unwrap();
    assert_eq!(buy.state, OrderState::Filled);
    assert_eq!(buy.filled_qty, dec!(0.01));
    assert_eq!(buy.avg_fill_price.map(|p| p.get()), Some(dec!(60000)));
    // Fee 0.01 × 60 000 × 0.00055 = 0.33 USDT.
    assert_eq!(buy.fee, dec!(0.33));
    // The fill came on the stream: one create, no status query.
    assert_eq!(sim.counters().get("GET", "/v5/order/realtime"), 0);
    assert!(venue.tracker().get("t-buy-1").is_some());
    let positions = venue.positions().await.unwrap();
    assert_eq!(positions.len(), 1);
    assert_eq!(positions[0].size.get(), dec!(0.01));
    assert_eq!(positions[0].entry_price.map(|p| p.get()), Some(dec!(60000)));
    assert_eq!(venue.account_value().await.unwrap(), dec!(99999.67));

    // Price up 1 000: equity includes the unrealised 10 USDT.
    sim.set_price("BTCUSDT", dec!(61000));
    assert_eq!(venue.account_value().await.unwrap(), dec!(100009.67));

    // Flip to short: a reduce-only close, then an open.
    let close = venue
        .place_order(&market(
            "t-close-1",
            "BTCUSDT",
            Side::Sell,
            dec!(0.01),
            true,
        ))
        .await
        .unwrap();
    assert_eq!(close.state, OrderState::Filled);
    let open = venue
        .place_order(&market(
            "t-open-1",
            "BTCUSDT",
            Side::Sell,
            dec!(0.02),
            false,
        ))
        .await
        .unwrap();
    assert_eq!(open.state, OrderState::Filled);
    assert_eq!(sim.position("BTCUSDT"), dec!(-0.02));
    let q = venue
        .order_by_client_id(&sym("BTCUSDT"), &id("t-open-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(q.state, OrderState::Filled);
    assert!(
        venue
            .order_by_client_id(&sym("BTCUSDT"), &id("never-sent"))
            .await
            .unwrap()
            .is_none()
    );
    assert_no_double_orders(&sim);
}

#[tokio::test]
async fn a_repeated_client_id_returns_the_first_order() {
    let (sim, venue) = setup().await;
    let order = market("t-dup-1", "ETHUSDT", Side::Buy, dec!(0.5), false);
    let first = venue.place_order(&order).await.unwrap();
    let again = venue.place_order(&order).await.unwrap();
    assert_eq!(first.venue_order_id, again.venue_order_id);
    assert_eq!(
        sim.position("ETHUSDT"),
        dec!(0.5),
        "the retry must not double the position"
    );
    assert_eq!(sim.client_id_submissions()["t-dup-1"], 2);
    assert_eq!(sim.orders().len(), 1);
}

#[tokio::test]
async fn refusals_carry_the_venue_code() {
    let (sim, venue) = setup().await;
    // Reduce-only with nothing to reduce.
    let e = venue
        .place_order(&market("t-ro-1", "BTCUSDT", Side::Sell, dec!(0.01), true))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Rejected, Some("110017"))
    );
    // Below the 5 USDT minimum notional: 0.1 SOL × 40 = 4 USDT.
    sim.set_price("SOLUSDT", dec!(40));
    let e = venue
        .place_order(&market("t-mn-1", "SOLUSDT", Side::Buy, dec!(0.1), false))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("110094"));
    assert!(e.message.contains("minimum notional"), "{}", e.message);
    // Insufficient margin at leverage 1.
    let e = venue
        .place_order(&market("t-im-1", "BTCUSDT", Side::Buy, dec!(2), false))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("110007"));
    // Off-step quantity is refused before it leaves the process.
    let before = sim.counters().get("POST", "/v5/order/create");
    let e = venue
        .place_order(&market(
            "t-step-1",
            "BTCUSDT",
            Side::Buy,
            dec!(0.0015),
            false,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("bad_qty"));
    assert_eq!(sim.counters().get("POST", "/v5/order/create"), before);
}

#[tokio::test]
async fn a_close_below_min_notional_goes_through_reduce_only() {
    let (sim, venue) = setup().await;
    venue
        .place_order(&market("t-c-1", "SOLUSDT", Side::Buy, dec!(0.1), false))
        .await
        .unwrap();
    sim.set_price("SOLUSDT", dec!(40));
    // 0.1 × 40 = 4 USDT < 5, but closing is always allowed.
    let close = venue
        .place_order(&market("t-c-2", "SOLUSDT", Side::Sell, dec!(0.1), true))
        .await
        .unwrap();
    assert_eq!(close.state, OrderState::Filled);
    assert_eq!(sim.position("SOLUSDT"), dec!(0));
}

#[tokio::test]
async fn leverage_and_margin_mode_not_modified_is_success() {
    let (sim, venue) = setup().await;
    venue.set_leverage(&sym("BTCUSDT"), dec!(5)).await.unwrap();
    venue.set_leverage(&sym("BTCUSDT"), dec!(5)).await.unwrap();
    assert_eq!(sim.leverage("BTCUSDT"), dec!(5));
    let e = venue
        .set_leverage(&sym("BTCUSDT"), dec!(500))
        .await
        .unwrap_err();
    assert_eq!(e.kind, VenueErrorKind::Rejected);
    venue
        .set_margin_mode(&sym("BTCUSDT"), MarginMode::Isolated)
        .await
        .unwrap();
    venue
        .set_margin_mode(&sym("ETHUSDT"), MarginMode::Isolated)
        .await
        .unwrap();
    // The margin mode is account-wide on Bybit: the second symbol's setting is not sent again.
    let margin_requests = sim
        .requests()
        .matching(|r| r.path == "/v5/account/set-margin-mode")
        .len();
    assert_eq!(margin_requests, 1);
    venue
        .place_order(&market("t-lev-1", "BTCUSDT", Side::Buy, dec!(0.01), false))
        .await
        .unwrap();
    let p = venue.positions().await.unwrap();
    assert_eq!(p[0].leverage, dec!(5));
    assert_eq!(p[0].margin_mode, MarginMode::Isolated);
}

#[tokio::test]
async fn limit_orders_rest_fill_and_cancel() {
    let (sim, venue) = setup().await;
    let resting = venue
        .place_order(&limit(
            "t-lim-1",
            "BTCUSDT",
            Side::Buy,
            dec!(0.01),
            dec!(59000),
        ))
        .await
        .unwrap();
    assert_eq!(resting.state, OrderState::Acknowledged);
    let open = venue.open_orders(Some(&sym("BTCUSDT"))).await.unwrap();
    assert_eq!(open.len(), 1);
    let cancelled = venue
        .cancel_order(&sym("BTCUSDT"), &id("t-lim-1"))
        .await
        .unwrap();
    assert_eq!(cancelled.state, OrderState::Cancelled);
    // Cancelling again reports what it became rather than failing.
    let again = venue
        .cancel_order(&sym("BTCUSDT"), &id("t-lim-1"))
        .await
        .unwrap();
    assert_eq!(again.state, OrderState::Cancelled);
    assert!(venue.open_orders(None).await.unwrap().is_empty());

    venue
        .place_order(&limit(
            "t-lim-2",
            "BTCUSDT",
            Side::Buy,
            dec!(0.01),
            dec!(59000),
        ))
        .await
        .unwrap();
    sim.set_price("BTCUSDT", dec!(58900));
    let filled = venue
        .tracker()
        .wait_for("t-lim-2", Duration::from_secs(2), |s| {
            s.state == OrderState::Filled
        })
        .await
        .unwrap();
    assert_eq!(filled.avg_fill_price.map(|p| p.get()), Some(dec!(59000)));
    assert_eq!(sim.position("BTCUSDT"), dec!(0.01));
    let e = venue
        .cancel_order(&sym("BTCUSDT"), &id("never-placed"))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("110001"));
}

#[tokio::test]
async fn wrong_keys_and_hedge_mode_are_refused_at_connect() {
    let sim = start(VenueId::Bybit, SimOptions::new(VenueId::Bybit)).await;
    let mut bad = config(&sim);
    bad.credentials = Some(Credentials::new(&sim.options().api_key, "not-the-secret"));
    let e = connect_bybit(bad).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Auth, Some("10004"))
    );
    assert!(!e.to_string().contains("not-the-secret"));
    let mut unknown = config(&sim);
    unknown.credentials = Some(Credentials::new("someone-else", "x"));
    assert_eq!(
        connect_bybit(unknown).await.unwrap_err().code.as_deref(),
        Some("10003")
    );

    sim.set_hedge_mode(true);
    let e = connect_bybit(config(&sim)).await.unwrap_err();
    assert_eq!(e.code.as_deref(), Some("hedge_mode"));
    assert!(e.message.contains("one-way"), "{}", e.message);
}

#[tokio::test]
async fn public_data_needs_no_keys_and_trading_does() {
    let sim = start(VenueId::Bybit, SimOptions::new(VenueId::Bybit)).await;
    let venue = connect_bybit(AdapterConfig::new(sim.base_url(), None))
        .await
        .unwrap();
    assert_eq!(
        venue.prices(&[sym("BTCUSDT")]).await.unwrap()[&sym("BTCUSDT")].get(),
        dec!(60000)
    );
    assert_eq!(
        venue.instruments(&[sym("ETHUSDT")]).await.unwrap()[0].min_qty,
        dec!(0.01)
    );
    let e = venue.account_value().await.unwrap_err();
    assert_eq!(e.kind, VenueErrorKind::Auth);

    let feed = tradeengine_venues::connect::public_price_feed_every(
        VenueId::Bybit,
        &sim.base_url(),
        &[sym("BTCUSDT"), sym("SOLUSDT")],
        Duration::from_millis(100),
    )
    .await
    .unwrap();
    let now = chrono::Utc::now();
    assert_eq!(
        feed.price(&sym("BTCUSDT"), now).map(|p| p.get()),
        Some(dec!(60000))
    );
    sim.set_price("BTCUSDT", dec!(60500));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        feed.price(&sym("BTCUSDT"), now).map(|p| p.get()),
        Some(dec!(60500))
    );
    assert_eq!(feed.price(&sym("ETHUSDT"), now), None, "not asked for");
}

#[tokio::test]
async fn the_venues_reported_order_limit_is_adopted() {
    let mut options = SimOptions::new(VenueId::Bybit);
    options.order_rate_limit = 200;
    let sim = start(VenueId::Bybit, options).await;
    let venue = connect_bybit(config(&sim)).await.unwrap();
    assert_eq!(venue.http().limits.amount("order"), Some(10));
    venue
        .place_order(&market("t-rl-1", "BTCUSDT", Side::Buy, dec!(0.001), false))
        .await
        .unwrap();
    assert_eq!(venue.http().limits.amount("order"), Some(200));
}

#[tokio::test]
async fn the_stream_reconnects_and_keeps_delivering() {
    let (sim, venue) = setup().await;
    assert_eq!(venue.stream_connects(), 1);
    sim.faults().drop_streams();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(venue.wait_stream_ready(Duration::from_secs(3)).await);
    assert!(
        venue.stream_connects() >= 2,
        "connects = {}",
        venue.stream_connects()
    );
    let filled = venue
        .place_order(&market("t-ws-1", "BTCUSDT", Side::Buy, dec!(0.001), false))
        .await
        .unwrap();
    assert_eq!(filled.state, OrderState::Filled);
    assert!(
        venue.tracker().get("t-ws-1").is_some(),
        "the push arrived on the new connection"
    );
}

#[tokio::test]
async fn candles_come_without_keys() {
    use tradeengine_venues::connect::fetch_klines;
    use tradeengine_venues::market::KlineInterval;
    for venue in [VenueId::Bybit, VenueId::Binance] {
        let sim = start(venue, SimOptions::new(venue)).await;
        let series = fetch_klines(
            venue,
            &sim.base_url(),
            &sym("ETHUSDT"),
            KlineInterval::M5,
            12,
        )
        .await
        .unwrap();
        assert_eq!(series.len(), 12, "{venue:?}");
        assert_eq!(series.interval_ms(), 300_000, "{venue:?}");
        assert_eq!(
            series.close_at_ms(series.first_open_ms()),
            Some(dec!(3000)),
            "{venue:?}"
        );
    }
}
