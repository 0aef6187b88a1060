//! Engine scenarios that only one venue has.

use rust_decimal_macros::dec;
use tradeengine_venue_sim::{SimOptions, VenueId};

use crate::sims::Rig;

/// MEXC answers order entry with 1002 while API order entry is under maintenance: the plan
/// stops with a clear error instead of retrying (the batch endpoint is refused too, and the
/// orders then go one by one, once each).
#[tokio::test]
async fn mexc_restricted_order_entry_stops_the_plan_without_retrying() {
    let mexc = VenueId::Mexc;
    let mut options = SimOptions::new(mexc);
    options.order_entry_restricted = true;
    let mut rig = Rig::start(mexc, options, &["BTCUSDT", "ETHUSDT"], 1).await;
    rig.target("BTCUSDT", dec!(0.2)).await;
    rig.target("ETHUSDT", dec!(0.1)).await;
    let report = rig.cycle().await;
    assert_eq!((report.filled, report.rejected), (0, 2), "{report:?}");
    assert_eq!(report.symbol_errors.len(), 2, "{report:?}");
    assert!(
        report
            .symbol_errors
            .iter()
            .all(|e| e.to_string().contains("refuses API order entry")),
        "{report:?}"
    );
    // One attempt per order: a restriction is not retried. The batch request is refused first
    // (batching then stays off: the endpoint may simply not be opened for the account), and
    // each order gets its one single attempt.
    let batch = rig
        .sim
        .counters()
        .get("POST", "/api/v1/private/order/submit_batch");
    assert_eq!(batch, 1);
    assert_eq!(rig.order_requests(), 3);
    assert!(rig.sim.orders().is_empty());
    // The next cycle goes one by one: no batch request again.
    rig.cycle().await;
    assert_eq!(
        rig.sim
            .counters()
            .get("POST", "/api/v1/private/order/submit_batch"),
        1
    );
}

/// KuCoin contracts whose lot is not one of KuCoin's own multipliers (the simulator's synthetic
/// `S001USDT`…, step 0.1): the simulator lists them as whole lots of `multiplier` = step, as real
/// KuCoin contracts are, so the planned lot counts are exact and a quiet cycle sends nothing.
/// (The five-venue benchmark once saw 10 orders on every quiet cycle here, from a fractional
/// `lotSize`.) The one `contracts/active` read per quiet cycle is the price read (KuCoin's mark
/// prices of every contract come from that endpoint in one request), not a rules refetch.
#[tokio::test]
async fn kucoin_synthetic_contracts_trade_in_whole_lots_and_a_quiet_cycle_sends_nothing() {
    let kucoin = VenueId::Kucoin;
    let symbols = ["S001USDT", "S002USDT", "S003USDT", "S004USDT"];
    let mut rig = Rig::start(
        kucoin,
        SimOptions::new(kucoin).with_synthetic(4),
        &symbols,
        1,
    )
    .await;
    for (i, s) in symbols.iter().enumerate() {
        let sign = if i % 2 == 0 { dec!(1) } else { dec!(-1) };
        rig.target(s, sign * dec!(0.05)).await;
    }
    let report = rig.cycle().await;
    assert_eq!((report.sent, report.filled), (4, 4), "{report:?}");
    rig.assert_converged().await;
    // 0.05 × 100 000 / 11 = 454.54… → 454.5 on the 0.1 step, toward zero.
    assert_eq!(rig.sim.position("S001USDT"), dec!(454.5));
    let orders_before = rig.order_requests();
    let contracts_before = rig.sim.counters().get("GET", "/api/v1/contracts/active");
    for _ in 0..2 {
        let quiet = rig.cycle().await;
        assert_eq!(quiet.sent, 0, "{quiet:?}");
    }
    assert_eq!(rig.order_requests(), orders_before);
    assert_eq!(
        rig.sim.counters().get("GET", "/api/v1/contracts/active"),
        contracts_before + 2,
        "one price read per quiet cycle, and no contract-rules refetch"
    );
    rig.assert_converged().await;
}

/// Hyperliquid carries our client order ids as 128-bit `cloid`s (`0x` + 32 hex digits), one per
/// order.
#[tokio::test]
async fn hyperliquid_orders_carry_a_cloid_each() {
    let hl = VenueId::Hyperliquid;
    let mut rig = Rig::start(hl, SimOptions::new(hl), &["BTCUSDT", "ETHUSDT"], 1).await;
    rig.target("BTCUSDT", dec!(0.2)).await;
    rig.target("ETHUSDT", dec!(-0.1)).await;
    rig.cycle().await;
    rig.assert_converged().await;
    let orders = rig.sim.orders();
    assert_eq!(orders.len(), 2);
    assert!(
        orders
            .iter()
            .all(|o| o.client_id.len() == 34 && o.client_id.starts_with("0x")),
        "{orders:?}"
    );
}
