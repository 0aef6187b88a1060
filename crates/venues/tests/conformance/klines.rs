//! Public candles from every adapter against its simulator, keys not needed: each venue's own parameters,
//! order (Bybit and BloFin newest first, MEXC columnar, KuCoin numbers, BloFin `confirm`) and
//! limits, always handed back closed and in strictly increasing open time; malformed replies
//! become a clear `Internal` error. The simulators serve candles from a price path the test
//! records in the past, and the caller's clock is a plain number, so every figure is exact.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tradeengine_venue_sim::{Fault, SimHandle, SimOptions, VenueId};
use tradeengine_venues::VenueErrorKind;
use tradeengine_venues::connect::public_market;
use tradeengine_venues::market::{Kline, KlineInterval};

use crate::sim::{start, sym};
use crate::venues::Row;

/// A minute-aligned instant two days ago (so the simulator's own clock is well past it).
fn t0() -> i64 {
    let now = chrono::Utc::now().timestamp_millis() - 2 * 86_400_000;
    now.div_euclid(3_600_000) * 3_600_000
}

/// Minute k of the path: opens at 100 + k, dips 1 below and peaks 2 above inside the minute,
/// closes at 100.5 + k. Volume 0.25 on the peak.
async fn with_path(venue: VenueId, minutes: i64) -> (SimHandle, i64) {
    let sim = start(venue, SimOptions::new(venue)).await;
    let t0 = t0();
    for k in 0..minutes {
        let base = Decimal::from(100 + k);
        let t = t0 + k * 60_000;
        sim.record_price_at("BTCUSDT", t, base, Decimal::ZERO);
        sim.record_price_at("BTCUSDT", t + 10_000, base - dec!(1), Decimal::ZERO);
        sim.record_price_at("BTCUSDT", t + 20_000, base + dec!(2), dec!(0.25));
        sim.record_price_at("BTCUSDT", t + 50_000, base + dec!(0.5), Decimal::ZERO);
    }
    (sim, t0)
}

fn opens(c: &[Kline]) -> Vec<i64> {
    c.iter().map(|k| k.open_ms).collect()
}

async fn every_venue_returns_closed_candles_oldest_first(row: &Row) {
    let venue = row.id;
    let (sim, t0) = with_path(venue, 30).await;
    let market = public_market(venue, &sim.base_url()).await.unwrap();
    let m = &market.candles;
    // 30 s into minute 20: minute 20 is still forming and must not come back.
    let now = t0 + 20 * 60_000 + 30_000;
    let c = m
        .candles(&sym("BTCUSDT"), KlineInterval::M1, 10, now)
        .await
        .unwrap();
    let want: Vec<i64> = (10..20).map(|k| t0 + k * 60_000).collect();
    assert_eq!(opens(&c), want, "{venue:?}");
    let k13 = c[3];
    assert_eq!(
        (k13.open, k13.high, k13.low, k13.close),
        (dec!(113), dec!(115), dec!(112), dec!(113.5)),
        "{venue:?}"
    );
    assert!(k13.volume > Decimal::ZERO, "{venue:?}: volume is carried");
    // Limit.
    let three = m
        .candles(&sym("BTCUSDT"), KlineInterval::M1, 3, now)
        .await
        .unwrap();
    assert_eq!(opens(&three), want[7..].to_vec(), "{venue:?}");
    // Exactly at minute 20's close it counts as closed.
    let at_close = m
        .candles(&sym("BTCUSDT"), KlineInterval::M1, 2, t0 + 21 * 60_000)
        .await
        .unwrap();
    assert_eq!(
        opens(&at_close),
        vec![t0 + 19 * 60_000, t0 + 20 * 60_000],
        "{venue:?}"
    );
}

cells!(every_venue_returns_closed_candles_oldest_first: bybit, binance, blofin, kucoin, mexc, hyperliquid);

async fn intervals_map_to_each_venues_names(row: &Row) {
    let venue = row.id;
    let (sim, t0) = with_path(venue, 30).await;
    let market = public_market(venue, &sim.base_url()).await.unwrap();
    let now = t0 + 25 * 60_000 + 1;
    let c = market
        .candles
        .candles(&sym("BTCUSDT"), KlineInterval::M5, 4, now)
        .await
        .unwrap();
    let want: Vec<i64> = (1..5).map(|k| t0 + k * 300_000).collect();
    assert_eq!(opens(&c), want, "{venue:?}");
    // Minutes 5..10: open 105, high 111 (minute 9 peaks at 109 + 2), low 104, close 109.5.
    assert_eq!(
        (c[0].open, c[0].high, c[0].low, c[0].close),
        (dec!(105), dec!(111), dec!(104), dec!(109.5)),
        "{venue:?}"
    );
    let hourly = market
        .candles
        .candles(&sym("BTCUSDT"), KlineInterval::H1, 2, t0 + 2 * 3_600_000)
        .await
        .unwrap();
    assert_eq!(opens(&hourly), vec![t0, t0 + 3_600_000], "{venue:?} hourly");
}

cells!(intervals_map_to_each_venues_names: bybit, binance, blofin, kucoin, mexc, hyperliquid);

/// A body the venue's kline path answers with instead of candles, and what the error says.
fn malformed(venue: VenueId) -> (String, Vec<(String, &'static str)>) {
    match venue {
        VenueId::Bybit => (
            "/v5/market/kline".into(),
            vec![
                (
                    r#"{"retCode":0,"retMsg":"OK","result":{"list":[["1700000040000","10","9","11","10","1","1"]]},"time":1}"#.into(),
                    "row 0: low 11 and high 9",
                ),
                (
                    r#"{"retCode":0,"retMsg":"OK","result":{"list":"none"},"time":1}"#.into(),
                    "result.list is not a list",
                ),
                (
                    r#"{"retCode":0,"retMsg":"OK","result":{"list":[["1700000040000","ten","11","9","10","1","1"]]},"time":1}"#.into(),
                    "row 0: open \"ten\" is not a decimal",
                ),
            ],
        ),
        VenueId::Binance => (
            "/fapi/v1/klines".into(),
            vec![
                (
                    r#"[[1700000040000,"10","11","9","10","1"]]"#.into(),
                    "row 0: expected a list of at least 7 fields",
                ),
                (
                    r#"[[1700000040000,"10","11","9","10","1",1700000099999],[1700000040000,"10","11","9","10","1",1700000099999]]"#.into(),
                    "two candles open at 1700000040000",
                ),
            ],
        ),
        VenueId::Blofin => (
            "/api/v1/market/candles".into(),
            vec![(
                r#"{"code":"0","msg":"success","data":[["1700000040000","10","11","9","10","1","1","1","maybe"]]}"#.into(),
                "row 0: confirm \"maybe\" is not 0 or 1",
            )],
        ),
        VenueId::Kucoin => (
            "/api/v1/kline/query".into(),
            vec![(
                r#"{"code":"200000","data":[[-5,10,11,9,10,1,1]]}"#.into(),
                "row 0: open time \"-5\" is not a positive integer",
            )],
        ),
        VenueId::Mexc => (
            "/api/v1/contract/kline/BTC_USDT".into(),
            vec![
                (
                    r#"{"success":true,"code":0,"data":{"time":[1700000040,1700000100],"open":[10],"close":[10,10],"high":[11,11],"low":[9,9],"vol":[1,1]}}"#.into(),
                    "columns differ in length",
                ),
                (
                    r#"{"success":true,"code":0,"data":{"time":[1700000040],"open":[10],"close":[10],"high":[11],"low":[9]}}"#.into(),
                    "data.vol is not a list",
                ),
            ],
        ),
        VenueId::Hyperliquid => (
            "/info".into(),
            vec![(
                r#"[{"t":1700000040000,"T":1700000099999,"s":"BTC","i":"1m","o":"10","c":"10","h":"9","l":"11","v":"1","n":1}]"#.into(),
                "row 0: low 11 and high 9",
            )],
        ),
    }
}

async fn malformed_replies_are_clear_internal_errors(row: &Row) {
    let venue = row.id;
    let sim = start(venue, SimOptions::new(venue)).await;
    let market = public_market(venue, &sim.base_url()).await.unwrap();
    // One good read first: what the candles need besides them (Hyperliquid's asset list, also on
    // `/info`) is then cached, so each fault below lands on a candles request.
    market
        .candles
        .candles(&sym("BTCUSDT"), KlineInterval::M1, 5, 1_700_000_200_000)
        .await
        .unwrap();
    let (path, cases) = malformed(venue);
    for (body, says) in cases {
        sim.faults().inject(&path, 1, Fault::Body(body));
        let e = market
            .candles
            .candles(&sym("BTCUSDT"), KlineInterval::M1, 5, 1_700_000_200_000)
            .await
            .unwrap_err();
        assert_eq!(e.kind, VenueErrorKind::Internal, "{venue:?}: {e}");
        assert!(
            e.message.contains("unusable kline reply") && e.message.contains(says),
            "{venue:?}: {e}"
        );
    }
    assert_eq!(sim.faults().pending(), 0, "{venue:?}: every fault was used");
    // An unknown symbol is the venue's own refusal, not a parse error.
    let e = market
        .candles
        .candles(&sym("NOPEUSDT"), KlineInterval::M1, 5, 1_700_000_200_000)
        .await
        .unwrap_err();
    assert_ne!(e.kind, VenueErrorKind::Internal, "{venue:?}: {e}");
}

cells!(malformed_replies_are_clear_internal_errors: bybit, binance, blofin, kucoin, mexc, hyperliquid);

async fn recent_candles_come_without_keys(row: &Row) {
    use tradeengine_venues::connect::fetch_klines;
    let sim = start(row.id, SimOptions::new(row.id)).await;
    let series = fetch_klines(
        row.id,
        &sim.base_url(),
        &sym("ETHUSDT"),
        KlineInterval::M5,
        12,
    )
    .await
    .unwrap();
    assert_eq!(series.len(), 12);
    assert_eq!(series.interval_ms(), 300_000);
    assert_eq!(series.close_at_ms(series.first_open_ms()), Some(dec!(3000)));
}

cells!(recent_candles_come_without_keys: bybit, binance, blofin, kucoin, mexc, hyperliquid);
