#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Replay inputs other than canonical signals: a file of TradingView alerts and a file of SN8
//! snapshots become the signals the live sources would have submitted, at the recorded times.

use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::replay::{sn8_snapshots, tradingview_alerts};
use tradeengine_model::Intent;

const CONFIG: &str = r#"
[engine]
data_dir = "DATA"
hot_reload = false
[[accounts]]
name = "paper"
venue = "paper"
[sources.tv]
type = "tradingview"
[sources.tv.settings]
secret_env = "TV_SECRET_NOT_NEEDED_FOR_REPLAY"
[sources.sn8]
type = "sn8"
[sources.sn8.settings]
positions_url = "http://127.0.0.1:9/miner-positions"
scoring = "seed"
[sources.sn8.settings.seed]
min_trades = 2
min_profitable_rate = 0.0
max_trade_age_days = 36500
[sources.sn8.settings.guard]
min_miners = 1
[mapping.sn8]
BTCUSD = "BTCUSDT"
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = { tv = 0.5, sn8 = 0.5 }
[[symbols]]
symbol = "ETHUSDT"
leverage = 2
weights = { tv = 1.0 }
"#;

fn config() -> tradeengine_engine::config::Config {
    let dir = std::env::temp_dir();
    load_str(
        &CONFIG.replace("DATA", &dir.display().to_string()),
        None,
        &[],
        &Overrides::default(),
    )
    .unwrap()
}

fn depth(s: &tradeengine_model::Signal) -> Decimal {
    match &s.intent {
        Intent::Target(t) => t.depth,
        Intent::Order(_) => panic!("a target was expected"),
    }
}

#[test]
fn tradingview_alerts_become_the_webhooks_signals_at_their_times() {
    let text = r#"{"at": "2026-03-02T09:01:00Z", "body": {"symbol": "BTCUSDT", "direction": "long", "action": "buy", "size": "50/100"}}

{"at": 1772442300000, "body": {"symbol": "ETHUSDT", "direction": "short", "action": "sell", "size": "-25/100", "leverage": 3}}
"#;
    let signals = tradingview_alerts(text, "tv", &config()).unwrap();
    assert_eq!(signals.len(), 2);
    assert_eq!(signals[0].symbol.as_str(), "BTCUSDT");
    assert_eq!(depth(&signals[0]), Decimal::new(5, 1));
    assert_eq!(
        signals[0].received_at,
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 1, 0).unwrap()
    );
    assert_eq!(signals[1].symbol.as_str(), "ETHUSDT");
    assert_eq!(depth(&signals[1]), Decimal::new(-25, 2));
    assert_eq!(signals[1].received_at.timestamp_millis(), 1_772_442_300_000);
    assert!(signals.iter().all(|s| s.source.as_str() == "tv"));

    // A line without its time, an unknown symbol and a source of another type are refused,
    // naming the line.
    let e = tradingview_alerts(r#"{"body": {"symbol": "BTCUSDT"}}"#, "tv", &config()).unwrap_err();
    assert!(e.to_string().contains("line 1"), "{e}");
    let e = tradingview_alerts(
        r#"{"at": 1, "body": {"symbol": "DOGEUSDT", "direction": "long", "size": "1/100"}}"#,
        "tv",
        &config(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("line 1"), "{e}");
    assert!(tradingview_alerts(text, "sn8", &config()).is_err());
}

/// A miner with one closed winning BTC trade and one open long of `lev`.
fn miner(hotkey: &str, lev: f64, now_ms: i64) -> serde_json::Value {
    let pair = serde_json::json!(["BTCUSD", "BTC/USD", 0.003, 0.01, 0.5]);
    serde_json::json!({
        "all_time_returns": 1.05, "thirty_day_returns": 1.02, "n_positions": 2, "percentage_profitable": 1.0,
        "positions": [
            {"miner_hotkey": hotkey, "position_uuid": format!("{hotkey}-a"), "trade_pair": pair,
             "open_ms": now_ms - 86_400_000, "close_ms": now_ms - 3_600_000, "is_closed_position": true,
             "position_type": "FLAT", "net_leverage": 0.0, "average_entry_price": 60000.0,
             "current_return": 1.02, "return_at_close": 1.02,
             "orders": [
                {"order_type": "LONG", "leverage": 0.2, "price": 60000.0, "processed_ms": now_ms - 86_400_000, "order_uuid": format!("{hotkey}-o1"), "src": 0},
                {"order_type": "FLAT", "leverage": -0.2, "price": 61000.0, "processed_ms": now_ms - 3_600_000, "order_uuid": format!("{hotkey}-o2"), "src": 0}
             ]},
            {"miner_hotkey": hotkey, "position_uuid": format!("{hotkey}-b"), "trade_pair": pair,
             "open_ms": now_ms - 600_000, "close_ms": 0, "is_closed_position": false,
             "position_type": "LONG", "net_leverage": lev, "average_entry_price": 62000.0,
             "current_return": 1.01, "return_at_close": 1.01,
             "orders": [
                {"order_type": "LONG", "leverage": lev, "price": 62000.0, "processed_ms": now_ms - 600_000, "order_uuid": format!("{hotkey}-o3"), "src": 0}
             ]}
        ]
    })
}

#[test]
fn sn8_snapshots_are_ranked_as_the_poller_ranks_a_poll() {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let ms = t0.timestamp_millis();
    let snapshot = |at_ms: i64, a: f64, b: f64| {
        serde_json::json!({
            "at": at_ms,
            "positions": {"5MinerA": miner("5MinerA", a, at_ms), "5MinerB": miner("5MinerB", b, at_ms)},
        })
        .to_string()
    };
    // The miners go long, then add: each snapshot moves the source's BTCUSDT sleeve.
    let text = [snapshot(ms, 0.4, 0.3), snapshot(ms + 60_000, 0.8, 0.6)].join("\n");
    let signals = sn8_snapshots(&text, "sn8", &config()).unwrap();
    assert!(!signals.is_empty(), "no signal from two snapshots");
    assert!(signals.iter().all(|s| s.source.as_str() == "sn8"));
    assert!(signals.iter().all(|s| s.symbol.as_str() == "BTCUSDT"));
    let first = signals.iter().find(|s| s.received_at == t0).unwrap();
    assert!(depth(first) > Decimal::ZERO, "{first:?}");
    let later: Vec<_> = signals
        .iter()
        .filter(|s| s.received_at.timestamp_millis() == ms + 60_000)
        .collect();
    assert!(!later.is_empty() && depth(later[0]) > depth(first));
    assert!(sn8_snapshots(r#"{"at": 1}"#, "sn8", &config()).is_err());
}

/// Prices from a venue's public klines endpoint (the Bybit simulator): more candles than one
/// request returns, fetched page by page, each candle once, in order, at its recorded close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn venue_klines_are_fetched_page_by_page_into_a_replay_feed() {
    use tradeengine_engine::replay::{candle_times, venue_klines};
    use tradeengine_model::Symbol;
    use tradeengine_venue_sim::{SimOptions, VenueId, serve};
    use tradeengine_venues::PriceFeed;
    use tradeengine_venues::market::KlineInterval;

    let sim = serve(
        VenueId::Bybit,
        "127.0.0.1:0".parse().unwrap(),
        SimOptions::new(VenueId::Bybit),
    )
    .await
    .unwrap();
    let now = Utc::now().timestamp_millis();
    let start = (now - 3 * 86_400_000).div_euclid(60_000) * 60_000;
    let minutes = 2_500;
    let close = |i: i64| Decimal::new(6_000_000 + (i * 37) % 1_000 - 500, 2);
    for i in 0..minutes {
        let t = start + i * 60_000;
        sim.record_price_at("BTCUSDT", t, close(i - 1), Decimal::ONE);
        sim.record_price_at("BTCUSDT", t + 59_000, close(i), Decimal::ONE);
    }
    let market = tradeengine_venues::connect::public_market(VenueId::Bybit, &sim.base_url())
        .await
        .unwrap();
    assert!(
        i64::from(market.candles.max_candles()) < minutes,
        "one page would do"
    );
    let btc = Symbol::new("BTCUSDT").unwrap();
    let end = start + minutes * 60_000;
    let feed = venue_klines(
        &*market.candles,
        std::slice::from_ref(&btc),
        KlineInterval::parse("1m").unwrap(),
        start,
        end,
    )
    .await
    .unwrap();
    let times = candle_times(&feed, std::slice::from_ref(&btc));
    assert_eq!(times.len(), usize::try_from(minutes).unwrap());
    for (i, t) in times.iter().enumerate() {
        let i = i64::try_from(i).unwrap();
        assert_eq!(t.timestamp_millis(), start + i * 60_000 + 59_999);
        assert_eq!(feed.price(&btc, *t).unwrap().get(), close(i), "minute {i}");
    }
    // An empty range is refused.
    let m = &*market.candles;
    let one = std::slice::from_ref(&btc);
    let interval = KlineInterval::parse("1m").unwrap();
    assert!(venue_klines(m, one, interval, end, start).await.is_err());
}
