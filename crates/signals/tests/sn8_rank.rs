//! SN8 parsing and ranking on PTN-shaped payloads built in code.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;
use tradeengine_model::{SourceId, Symbol};
use tradeengine_signals::SymbolMap;
use tradeengine_signals::sn8::{
    Exclusion, PtnInputs, Scoring, Sn8Config, Universe, parse_eliminations, parse_positions,
    parse_statistics, rank,
};

fn mapping() -> SymbolMap {
    SymbolMap::new([("BTCUSD", "BTCUSDT"), ("ETHUSD", "ETHUSDT")]).unwrap()
}

fn sym(s: &str) -> Symbol {
    Symbol::new(s).unwrap()
}

fn cfg(scoring: Scoring) -> Sn8Config {
    let mut c = Sn8Config::new(SourceId::new("sn8").unwrap());
    c.scoring = scoring;
    c
}

/// 12 winning closed BTC positions spread over the last 60 days.
fn good_history(ret: f64) -> Vec<serde_json::Value> {
    (0..12)
        .map(|i| closed("BTCUSD", NOW_MS - (48 - i * 4) * DAY_MS, 6, ret))
        .collect()
}

#[test]
fn old_and_new_formats_read_alike() {
    let body = json!({
        "old": {
            "all_time_returns": 1.1, "thirty_day_returns_augmented": 1.05,
            "positions": [{
                "trade_pair": ["BTCUSD", "BTC/USD", 0.003, 0.001, 20, "crypto"],
                "open_ms": 1, "close_ms": null, "position_type": "LONG",
                "initial_entry_price": 100.0, "net_leverage": 0.2,
                "orders": [{"order_type": "LONG", "leverage": 0.2, "price": 100.0, "processed_ms": 1}]
            }, {
                "trade_pair": "ETHUSD", "open_ms": 2, "close_ms": 5, "position_type": "FLAT",
                "orders": [{"order_type": "LONG", "leverage": 0.1, "price": 10.0, "processed_ms": 2},
                           {"order_type": "FLAT", "leverage": 0.0, "price": 11.0, "processed_ms": 5}]
            }]
        },
        "new": {
            "thirty_day_returns": "1.2", "n_positions": 1,
            "positions": [{
                "trade_pair": {"trade_pair_id": "BTCUSD", "trade_pair": "BTC/USD"},
                "open_ms": 1, "close_ms": 0, "is_closed_position": false, "position_type": "SHORT",
                "net_leverage": -0.3, "net_value": -3000.0, "net_quantity": -0.05, "account_size": 10000,
                "orders": [{"order_type": "SHORT", "leverage": -0.3, "price": 100.0, "processed_ms": 1,
                            "value": -3000.0, "quantity": -0.05, "execution_type": "MARKET",
                            "limit_price": null, "stop_loss": null, "take_profit": null, "src": 0},
                           {"order_type": "LONG", "leverage": 0.3, "price": 90.0, "processed_ms": 2,
                            "execution_type": "LIMIT", "src": 5}]
            }]
        },
        "garbage": "not a miner"
    })
    .to_string();
    let doc = parse_positions(body.as_bytes()).unwrap();
    assert_eq!(doc.miners.len(), 2);
    assert_eq!(doc.skipped, 1);
    // (`json!` sorts keys; real payloads keep the validator's order, which the list preserves.)
    let old = &doc.miners.iter().find(|(k, _)| k == "old").unwrap().1;
    assert_eq!(old.thirty_day(), Some(1.05));
    assert_eq!(
        old.positions[0]
            .trade_pair
            .map(|t| t.as_str().to_string())
            .as_deref(),
        Some("BTCUSD")
    );
    assert!(!old.positions[0].is_closed());
    assert!(old.positions[1].is_closed());
    let new = &doc.miners.iter().find(|(k, _)| k == "new").unwrap().1;
    assert_eq!(new.thirty_day(), Some(1.2));
    assert_eq!(
        new.positions[0]
            .trade_pair
            .map(|t| t.as_str().to_string())
            .as_deref(),
        Some("BTCUSD")
    );
    // The unfilled limit order (src 5) does not reduce the short.
    let np = tradeengine_signals::sn8::net_position(&new.positions[0]).unwrap();
    assert_eq!(np.net, dec!(-0.3));
}

#[test]
fn nan_and_infinity_tokens_are_tolerated() {
    let body = br#"{"hk": {"all_time_returns": NaN, "thirty_day_returns": Infinity,
        "positions": [{"trade_pair": ["BTCUSD","BTC/USD",0.003,0.01,0.5], "current_return": -Infinity,
        "orders": [{"order_type": "LONG", "leverage": NaN, "price": 1.0}]}]}}"#;
    let doc = parse_positions(body).unwrap();
    let m = &doc.miners[0].1;
    assert_eq!(m.all_time_returns, None);
    assert_eq!(m.thirty_day_returns, None);
    assert_eq!(m.positions[0].current_return, None);
    assert_eq!(m.positions[0].orders[0].leverage, None);
    let stats = parse_statistics(
        br#"{"data": [{"hotkey": "a", "plagiarism": NaN,
        "drawdowns": {"instantaneous_max_drawdown": NaN}}], "constants": {"x": Infinity}}"#,
    )
    .unwrap();
    assert_eq!(stats.data[0].plagiarism, None);
}

#[test]
fn seed_scoring_filters_scores_and_survives_two_open_positions() {
    let mut best = good_history(1.03);
    // Two open positions at once: sirouk/trade-engine crashed the whole cycle on this.
    best.push(open(
        "BTCUSD",
        NOW_MS - DAY_MS,
        &[("LONG", 0.3, 100.0), ("LONG", 0.1, 110.0)],
        1.01,
    ));
    best.push(open(
        "ETHUSD",
        NOW_MS - DAY_MS / 2,
        &[("SHORT", -0.2, 3000.0)],
        1.0,
    ));
    let mut second: Vec<_> = (0..8)
        .map(|i| closed("BTCUSD", NOW_MS - (50 - i * 5) * DAY_MS, 3, 1.01))
        .collect();
    second.extend((0..3).map(|i| closed("BTCUSD", NOW_MS - (8 - i) * DAY_MS, 3, 0.995)));
    second.push(open(
        "BTCUSD",
        NOW_MS - DAY_MS,
        &[("SHORT", -0.4, 105.0)],
        1.0,
    ));
    let payload = json!({
        "best": miner(1.2, best),
        "loser": miner(0.95, good_history(1.03)),        // multiplicative < 1: lost money
        "few": miner(1.1, good_history(1.03)[9..].to_vec()),
        "idle": miner(1.1, (0..12).map(|i| closed("BTCUSD", NOW_MS - (90 - i) * DAY_MS, 3, 1.02)).collect()),
        "forex": miner(1.1, (0..12).map(|i| closed("EURUSD", NOW_MS - (20 - i) * DAY_MS, 3, 1.02)).collect()),
        "second": miner(1.05, second),
    })
    .to_string();
    let doc = parse_positions(payload.as_bytes()).unwrap();
    let universe = Universe::from_mapping(&mapping());
    let r = rank(&doc, None, &cfg(Scoring::Seed), &universe, NOW_MS).unwrap();
    let order: Vec<&str> = r.miners.iter().map(|m| m.hotkey.as_str()).collect();
    assert_eq!(order, vec!["best", "second"], "{:?}", r.excluded);
    assert_eq!(r.excluded[&Exclusion::ReturnsNotPositive], 1);
    assert_eq!(r.excluded[&Exclusion::TooFewTrades], 1);
    assert_eq!(r.excluded[&Exclusion::Inactive], 1);
    assert_eq!(r.excluded[&Exclusion::NoUniversePositions], 1);
    // Weights 2/3 and 1/3.
    let w: Vec<Decimal> = r.miners.iter().map(|m| m.weight).collect();
    assert_eq!(w[0] + w[1], dec!(1));
    assert!(w[0] > w[1]);
    // BTC: best long 0.4 @ (0.3·100 + 0.1·110)/0.4 = 102.5, second short 0.4 @ 105.
    let btc = r
        .assets
        .iter()
        .find(|a| a.symbol == sym("BTCUSDT"))
        .unwrap();
    let expected = dec!(0.4) * w[0] - dec!(0.4) * w[1];
    assert_eq!(btc.depth, tradeengine_signals::round_depth(expected));
    assert_eq!(btc.contributors, 2);
    let px = btc.price.unwrap().get();
    let want_px = (dec!(102.5) * dec!(0.4) * w[0] + dec!(105) * dec!(0.4) * w[1])
        / (dec!(0.4) * w[0] + dec!(0.4) * w[1]);
    assert!(
        (px - want_px).abs() < dec!(0.000000001),
        "{px} vs {want_px}"
    );
    let eth = r
        .assets
        .iter()
        .find(|a| a.symbol == sym("ETHUSDT"))
        .unwrap();
    assert_eq!(
        eth.depth,
        tradeengine_signals::round_depth(dec!(-0.2) * w[0])
    );
    assert_eq!(eth.price.unwrap().get(), dec!(3000));
    // Metrics for the best miner: 14 universe positions, 13 winners (open ETH at 1.0 is not).
    let m = r.miners[0].metrics.unwrap();
    assert_eq!(m.n, 14);
    assert!((m.win_rate - 13.0 / 14.0).abs() < 1e-12);
}

#[test]
fn the_return_filter_can_be_switched_off() {
    let payload = json!({"loser": miner(0.95, good_history(1.03))}).to_string();
    let doc = parse_positions(payload.as_bytes()).unwrap();
    let mut c = cfg(Scoring::Seed);
    c.seed.min_thirty_day_return = None;
    c.seed.min_all_time_return = None;
    let r = rank(&doc, None, &c, &Universe::from_mapping(&mapping()), NOW_MS).unwrap();
    assert_eq!(r.miners.len(), 1);
}

fn ptn_fixture() -> (String, String, String) {
    let positions = json!({
        "a": miner(1.1, vec![open("BTCUSD", NOW_MS, &[("LONG", 0.3, 100.0)], 1.0)]),
        "b": miner(1.1, vec![open("BTCUSD", NOW_MS, &[("SHORT", -0.2, 120.0)], 1.0)]),
        "c": miner(1.1, vec![
            open("ETHUSD", NOW_MS, &[("LONG", 0.5, 10.0), ("LONG", 0.3, 12.0)], 1.0),
            closed("BTCUSD", NOW_MS - DAY_MS, 2, 1.1)
        ]),
        "d": miner(1.1, vec![open("BTCUSD", NOW_MS, &[("LONG", 0.5, 1.0)], 1.0)]),
        "e": miner(1.1, vec![open("BTCUSD", NOW_MS, &[("LONG", 0.5, 1.0)], 1.0)]),
    });
    let stats = json!({"version": "7.1.1", "created_timestamp_ms": NOW_MS, "data": [
        {"hotkey": "a", "challengeperiod": {"status": "success", "start_time_ms": 0},
         "weight": {"value": 0.05, "rank": 1, "percentile": 1.0}, "plagiarism": null},
        {"hotkey": "b", "challengeperiod": {"status": "success"}, "weight": {"value": 0.03, "rank": 2}},
        {"hotkey": "c", "challengeperiod": {"status": "success"}, "weight": {"value": 0.01, "rank": 3}},
        {"hotkey": "d", "challengeperiod": {"status": "testing", "remaining_time_ms": 5},
         "weight": {"value": 0.2, "rank": 0}},
        {"hotkey": "e", "challengeperiod": {"status": "success"}, "weight": {"value": 0.9, "rank": 0}},
        {"hotkey": "z", "challengeperiod": {"status": "success"}, "weight": {"value": 0.001, "rank": 9}}
    ]});
    let elims = json!({"eliminations": [{"hotkey": "e", "reason": "PLAGIARISM", "dd": -1,
        "elimination_initiated_time_ms": NOW_MS}]});
    (positions.to_string(), stats.to_string(), elims.to_string())
}

#[test]
fn ptn_scoring_uses_the_validator_view_and_clamps_leverage() {
    let (p, s, e) = ptn_fixture();
    let doc = parse_positions(p.as_bytes()).unwrap();
    let stats = parse_statistics(s.as_bytes()).unwrap();
    let elims = parse_eliminations(e.as_bytes()).unwrap();
    let inputs = PtnInputs {
        statistics: &stats,
        eliminations: &elims,
    };
    let universe = Universe::from_mapping(&mapping());
    let r = rank(&doc, Some(inputs), &cfg(Scoring::Ptn), &universe, NOW_MS).unwrap();
    let order: Vec<&str> = r.miners.iter().map(|m| m.hotkey.as_str()).collect();
    assert_eq!(order, vec!["a", "b", "c"]);
    assert_eq!(r.excluded[&Exclusion::Eliminated], 1);
    assert_eq!(r.excluded[&Exclusion::NotInMainCompetition], 1);
    assert_eq!(r.excluded[&Exclusion::NoPositions], 1);
    let w = [dec!(0.5), dec!(1) / dec!(3), dec!(1) / dec!(6)];
    let btc = r.depth_of(&sym("BTCUSDT")).unwrap();
    // 0.15 − 0.0666… = 0.083333333333 (rounded at 12 places).
    assert_eq!(btc, dec!(0.083333333333));
    assert_eq!(
        btc,
        tradeengine_signals::round_depth(dec!(0.3) * w[0] + dec!(-0.2) * w[1])
    );
    // c's ETH long is 0.8 net, capped at the 0.5 leverage limit before it votes.
    let eth = r
        .assets
        .iter()
        .find(|a| a.symbol == sym("ETHUSDT"))
        .unwrap();
    assert_eq!(eth.depth, dec!(0.083333333333));
    assert_eq!(
        eth.depth,
        tradeengine_signals::round_depth(dec!(0.5) * w[2])
    );
    assert_eq!(eth.unclamped, eth.depth);
    assert_eq!(eth.price.unwrap().get(), dec!(10.75));

    // Missing statistics is an error under ptn scoring, not a silent seed fallback.
    assert!(rank(&doc, None, &cfg(Scoring::Ptn), &universe, NOW_MS).is_err());
}

#[test]
fn top_n_and_the_depth_clamp() {
    let (p, s, e) = ptn_fixture();
    let doc = parse_positions(p.as_bytes()).unwrap();
    let stats = parse_statistics(s.as_bytes()).unwrap();
    let elims = parse_eliminations(e.as_bytes()).unwrap();
    let mut c = cfg(Scoring::Ptn);
    c.top_n = Some(1);
    c.depth_scale = dec!(10);
    let inputs = PtnInputs {
        statistics: &stats,
        eliminations: &elims,
    };
    let r = rank(
        &doc,
        Some(inputs),
        &c,
        &Universe::from_mapping(&mapping()),
        NOW_MS,
    )
    .unwrap();
    assert_eq!(r.selected().count(), 1);
    assert_eq!(r.miners.len(), 3);
    assert!(r.miners[1].weight.is_zero());
    let btc = r
        .assets
        .iter()
        .find(|a| a.symbol == sym("BTCUSDT"))
        .unwrap();
    assert_eq!(btc.unclamped, dec!(3));
    assert_eq!(btc.depth, dec!(1));
    let eth = r
        .assets
        .iter()
        .find(|a| a.symbol == sym("ETHUSDT"))
        .unwrap();
    assert_eq!(eth.depth, dec!(0));
    assert_eq!(eth.price, None);
    let text = tradeengine_signals::sn8::format_ranking(&r, 10);
    assert!(
        text.contains("BTCUSDT") && text.contains("eliminated=1"),
        "{text}"
    );
}

#[test]
fn a_payload_of_tens_of_megabytes_parses() {
    let body = synthetic_payload(500, 200, 7).to_string();
    assert!(body.len() > 40_000_000, "{} bytes", body.len());
    let doc = parse_positions(body.as_bytes()).unwrap();
    assert_eq!(doc.miners.len(), 500);
    assert!(doc.miners.iter().all(|(_, m)| m.positions.len() == 200));
    let r = rank(
        &doc,
        None,
        &cfg(Scoring::Seed),
        &Universe::from_mapping(&mapping()),
        NOW_MS,
    )
    .unwrap();
    assert_eq!(r.considered, 500);
    assert!(!r.miners.is_empty(), "{:?}", r.excluded);
    assert!(r.assets.iter().all(|a| a.depth.abs() <= Decimal::ONE));
}
