//! Paper venue fills and accounting, with worked numbers.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rust_decimal_macros::dec;
use tradeengine_model::{OrderState, Side};
use tradeengine_venues::paper::PaperConfig;
use tradeengine_venues::{Venue, VenueErrorKind};

#[tokio::test]
async fn market_orders_fill_at_price_plus_adverse_slippage_with_taker_fee() {
    // Default config: 2 bps slippage, 0.055 % taker fee, 10,000 USDT.
    let r = rig(PaperConfig::default());
    r.feed.set("BTCUSDT", dec!(60000.05));
    let s = r
        .venue
        .place_order(&market("b1", "BTCUSDT", Side::Buy, dec!(0.010)))
        .await
        .unwrap();
    // 60,000.05 × 1.0002 = 60,012.05001 → up to the 0.1 tick: 60,012.1.
    assert_eq!(s.state, OrderState::Filled);
    assert_eq!(s.avg_fill_price.map(|p| p.get()), Some(dec!(60012.1)));
    assert_eq!(s.filled_qty, dec!(0.010));
    // Fee = 0.010 × 60,012.1 × 0.00055 = 0.33006655.
    assert_eq!(s.fee, dec!(0.33006655));
    let pnl = r.venue.pnl().unwrap();
    assert_eq!(pnl.wallet_balance, dec!(9999.66993345));
    // Unrealised at the mark: (60,000.05 − 60,012.1) × 0.010 = −0.1205.
    assert_eq!(pnl.unrealised_pnl, dec!(-0.1205));
    assert_eq!(r.venue.account_value().await.unwrap(), dec!(9999.54943345));

    // Selling it back: 60,000.05 × 0.9998 = 59,988.04999 → down to 59,988.0.
    let s = r
        .venue
        .place_order(&market("s1", "BTCUSDT", Side::Sell, dec!(0.010)))
        .await
        .unwrap();
    assert_eq!(s.avg_fill_price.map(|p| p.get()), Some(dec!(59988.0)));
    // Round trip lost 0.010 × (59,988 − 60,012.1) = −0.241 plus both fees.
    let pnl = r.venue.pnl().unwrap();
    assert_eq!(pnl.realised_pnl, dec!(-0.241));
    assert_eq!(pnl.fees_paid, dec!(0.33006655) + dec!(0.32993400));
    assert_eq!(pnl.unrealised_pnl, dec!(0));
    assert!(r.venue.positions().await.unwrap().is_empty());
}

#[tokio::test]
async fn average_entry_realised_pnl_on_reduce_and_flip_with_fees() {
    let r = rig(plain_config()); // no slippage, 0.05 % taker fee
    let btc = sym("BTCUSDT");
    let place = async |id: &str, side, qty, price| {
        r.feed.set("BTCUSDT", price);
        r.venue
            .place_order(&market(id, "BTCUSDT", side, qty))
            .await
            .unwrap()
    };
    // Buy 0.020 at 50,000 (fee 0.5), buy 0.020 at 52,000 (fee 0.52): entry 51,000.
    place("a", Side::Buy, dec!(0.020), dec!(50000)).await;
    place("b", Side::Buy, dec!(0.020), dec!(52000)).await;
    let p = r.venue.positions().await.unwrap();
    assert_eq!(p[0].size.get(), dec!(0.040));
    assert_eq!(p[0].entry_price.map(|e| e.get()), Some(dec!(51000)));
    // Sell 0.010 at 53,000: realised 0.010 × 2,000 = 20 (fee 0.265); entry stays 51,000.
    place("c", Side::Sell, dec!(0.010), dec!(53000)).await;
    assert_eq!(r.venue.pnl().unwrap().realised_by_symbol[&btc], dec!(20));
    let p = r.venue.positions().await.unwrap();
    assert_eq!(
        (p[0].size.get(), p[0].entry_price.map(|e| e.get())),
        (dec!(0.030), Some(dec!(51000)))
    );
    // Sell 0.050 at 50,000: closes 0.030 at −1,000 each (−30), opens 0.020 short at 50,000
    // (fee 0.05 × 50,000 × 0.0005 = 1.25).
    place("d", Side::Sell, dec!(0.050), dec!(50000)).await;
    let p = r.venue.positions().await.unwrap();
    assert_eq!(
        (p[0].size.get(), p[0].entry_price.map(|e| e.get())),
        (dec!(-0.020), Some(dec!(50000)))
    );
    // Mark 49,000: unrealised (49,000 − 50,000) × −0.020 = +20.
    r.feed.set("BTCUSDT", dec!(49000));
    let pnl = r.venue.pnl().unwrap();
    assert_eq!(pnl.realised_pnl, dec!(-10)); // 20 − 30
    assert_eq!(pnl.fees_paid, dec!(2.535)); // 0.5 + 0.52 + 0.265 + 1.25
    assert_eq!(pnl.wallet_balance, dec!(9987.465)); // 10,000 − 10 − 2.535
    assert_eq!(pnl.unrealised_pnl, dec!(20));
    assert_eq!(pnl.equity, dec!(10007.465));
    assert_eq!(r.venue.account_value().await.unwrap(), dec!(10007.465));
    let fills = r.venue.fills().unwrap();
    assert_eq!(fills.len(), 4);
    assert_eq!(
        fills.iter().map(|f| f.fee).sum::<rust_decimal::Decimal>(),
        dec!(2.535)
    );
}

#[tokio::test]
async fn reduce_only_that_would_grow_or_flip_is_refused_and_changes_nothing() {
    let r = rig(plain_config());
    r.feed.set("BTCUSDT", dec!(60000));
    let flat = r
        .venue
        .place_order(&reduce_only(market(
            "r0",
            "BTCUSDT",
            Side::Sell,
            dec!(0.01),
        )))
        .await
        .unwrap_err();
    assert_eq!(flat.kind, VenueErrorKind::Rejected);
    assert_eq!(flat.code.as_deref(), Some("reduce_only_refused"));
    assert!(flat.message.contains("no position"), "{flat}");

    r.venue
        .place_order(&market("o1", "BTCUSDT", Side::Buy, dec!(0.010)))
        .await
        .unwrap();
    let before = r.venue.snapshot();
    let grow = reduce_only(market("r1", "BTCUSDT", Side::Buy, dec!(0.001)));
    assert_eq!(
        code(r.venue.place_order(&grow).await),
        "reduce_only_refused"
    );
    let flip = reduce_only(market("r2", "BTCUSDT", Side::Sell, dec!(0.011)));
    assert_eq!(
        code(r.venue.place_order(&flip).await),
        "reduce_only_refused"
    );
    assert_eq!(r.venue.snapshot(), before, "a refusal writes nothing");
    // Refused ids are not kept: the venue never saw those orders.
    let q = r
        .venue
        .order_by_client_id(&sym("BTCUSDT"), &cid("r2"))
        .await;
    assert_eq!(q.unwrap(), None);

    // A real reduction passes, even below the minimum notional: 0.001 × 4,000 = 4 < 5 USDT.
    r.feed.set("BTCUSDT", dec!(4000));
    let s = r
        .venue
        .place_order(&reduce_only(market(
            "r3",
            "BTCUSDT",
            Side::Sell,
            dec!(0.001),
        )))
        .await
        .unwrap();
    assert_eq!(s.state, OrderState::Filled);
    assert_eq!(
        r.venue.positions().await.unwrap()[0].size.get(),
        dec!(0.009)
    );
}

#[tokio::test]
async fn size_and_notional_rules() {
    let r = rig(plain_config());
    r.feed.set("BTCUSDT", dec!(4000));
    // 0.001 × 4,000 = 4 USDT, under the 5 USDT minimum.
    let e = r
        .venue
        .place_order(&market("n1", "BTCUSDT", Side::Buy, dec!(0.001)))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("below_min_notional"));
    assert!(e.message.contains("4 USDT"), "{e}");
    assert!(
        r.venue
            .place_order(&market("n2", "BTCUSDT", Side::Buy, dec!(0.002)))
            .await
            .is_ok()
    );
    // Off-step and unknown symbol.
    assert_eq!(
        code(
            r.venue
                .place_order(&market("q1", "BTCUSDT", Side::Buy, dec!(0.0025)))
                .await
        ),
        "bad_qty"
    );
    assert_eq!(
        code(
            r.venue
                .place_order(&market("q2", "DOGEUSDT", Side::Buy, dec!(100)))
                .await
        ),
        "unknown_symbol"
    );
    // No price in the feed: retryable, not a rejection.
    let e = r
        .venue
        .place_order(&market("q3", "ETHUSDT", Side::Buy, dec!(0.01)))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Retryable, Some("no_price"))
    );
}

#[tokio::test]
async fn margin_and_leverage() {
    let r = rig(PaperConfig {
        starting_balance: dec!(1000),
        ..plain_config()
    });
    let btc = sym("BTCUSDT");
    r.feed.set("BTCUSDT", dec!(60000));
    // Leverage 1 (default): 0.020 × 60,000 = 1,200 USDT of margin > 1,000 equity.
    let e = r
        .venue
        .place_order(&market("m1", "BTCUSDT", Side::Buy, dec!(0.020)))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("insufficient_margin"));
    assert!(e.message.contains("1200"), "{e}");
    // Above the configured cap of 20.
    let e = r.venue.set_leverage(&btc, dec!(25)).await.unwrap_err();
    assert_eq!(e.code.as_deref(), Some("bad_leverage"));
    // At 5×: 240 USDT margin. Fits.
    r.venue.set_leverage(&btc, dec!(5)).await.unwrap();
    r.venue
        .place_order(&market("m2", "BTCUSDT", Side::Buy, dec!(0.020)))
        .await
        .unwrap();
    let p = &r.venue.positions().await.unwrap()[0];
    assert_eq!(p.leverage, dec!(5));
    // Back to 1× would need 1,200 again: refused, leverage unchanged.
    assert_eq!(
        code(r.venue.set_leverage(&btc, dec!(1)).await),
        "insufficient_margin"
    );
    assert_eq!(r.venue.positions().await.unwrap()[0].leverage, dec!(5));
    // Reducing is always allowed, whatever the margin.
    r.feed.set("BTCUSDT", dec!(20000));
    r.venue
        .place_order(&market("m3", "BTCUSDT", Side::Sell, dec!(0.010)))
        .await
        .unwrap();
    // Margin mode is stored and reported.
    r.venue
        .set_margin_mode(&btc, tradeengine_model::MarginMode::Isolated)
        .await
        .unwrap();
    let p = &r.venue.positions().await.unwrap()[0];
    assert_eq!(p.margin_mode, tradeengine_model::MarginMode::Isolated);
}

#[tokio::test]
async fn instruments_and_prices() {
    let r = rig(PaperConfig::default());
    r.feed.set("ETHUSDT", dec!(3000.01));
    let inst = r.venue.instruments(&[sym("ETHUSDT")]).await.unwrap();
    assert_eq!(
        (inst[0].qty_step, inst[0].tick_size),
        (dec!(0.01), dec!(0.01))
    );
    assert_eq!(
        code(r.venue.instruments(&[sym("XRPUSDT")]).await),
        "unknown_symbol"
    );
    let prices = r.venue.prices(&[sym("ETHUSDT")]).await.unwrap();
    assert_eq!(prices[&sym("ETHUSDT")].get(), dec!(3000.01));
    assert_eq!(code(r.venue.prices(&[sym("BTCUSDT")]).await), "no_price");
    assert_eq!(r.venue.kind(), "paper");
}

/// Runs 300 one-second steps on the seeded walk, flipping between long and short every 25 s.
async fn seeded_session(
    seed: u64,
) -> (
    Vec<tradeengine_model::Fill>,
    tradeengine_venues::paper::PaperPnl,
) {
    use std::sync::Arc;
    use tradeengine_model::ManualClock;
    use tradeengine_venues::feed::{RandomWalkConfig, RandomWalkFeed};
    use tradeengine_venues::paper::{MemoryStore, PaperVenue};

    let clock = Arc::new(ManualClock::new(t0()));
    let feed = Arc::new(RandomWalkFeed::new(RandomWalkConfig::demo(seed, t0())).unwrap());
    let venue = PaperVenue::open(
        PaperConfig::default(),
        feed,
        clock.clone(),
        Box::new(MemoryStore::new()),
    )
    .unwrap();
    venue.set_leverage(&sym("BTCUSDT"), dec!(2)).await.unwrap();
    for step in 0..300u32 {
        if step % 25 == 0 {
            let side = if (step / 25) % 2 == 0 {
                Side::Buy
            } else {
                Side::Sell
            };
            let qty = if step == 0 { dec!(0.1) } else { dec!(0.2) };
            venue
                .place_order(&market(&format!("w{step}"), "BTCUSDT", side, qty))
                .await
                .unwrap();
        }
        clock.advance(chrono::TimeDelta::seconds(1));
    }
    (venue.fills().unwrap(), venue.pnl().unwrap())
}

#[tokio::test]
async fn a_seeded_session_replays_identically() {
    let (fills_a, pnl_a) = seeded_session(9).await;
    let (fills_b, pnl_b) = seeded_session(9).await;
    let (fills_c, _) = seeded_session(10).await;
    assert_eq!(fills_a.len(), 12);
    assert_eq!(fills_a, fills_b);
    assert_eq!(pnl_a, pnl_b);
    assert_ne!(fills_a, fills_c, "another seed, another market");
    // Fees are 0.055 % of every fill's value, and equity = wallet + unrealised.
    let fees: rust_decimal::Decimal = fills_a
        .iter()
        .map(|f| f.qty * f.price.get() * dec!(0.00055))
        .sum();
    assert_eq!(pnl_a.fees_paid, fees);
    assert_eq!(pnl_a.equity, pnl_a.wallet_balance + pnl_a.unrealised_pnl);
    assert_eq!(
        pnl_a.wallet_balance,
        dec!(10000) + pnl_a.realised_pnl - pnl_a.fees_paid
    );
}

#[tokio::test]
async fn free_margin_is_equity_less_the_initial_margin_in_use() {
    let r = rig(PaperConfig::default());
    r.feed.set("BTCUSDT", dec!(60000));
    let before = r.venue.account_balance().await.unwrap();
    assert_eq!(before.available_margin, Some(before.value));
    r.venue
        .set_leverage(&tradeengine_model::Symbol::new("BTCUSDT").unwrap(), dec!(2))
        .await
        .unwrap();
    r.venue
        .place_order(&market("m1", "BTCUSDT", Side::Buy, dec!(0.100)))
        .await
        .unwrap();
    let after = r.venue.account_balance().await.unwrap();
    // 0.1 BTC at the 60,000 mark and leverage 2: 3,000 of initial margin.
    assert_eq!(after.available_margin, Some(after.value - dec!(3000)));
}
