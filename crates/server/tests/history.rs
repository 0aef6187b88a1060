#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! The dashboard's history endpoints read the store: `GET /api/v1/pnl/history` gives P&L by
//! source over time whose newest points are `GET /api/v1/pnl`'s lines, and `GET
//! /api/v1/history` gives target, actual and per-source positions, blended depth and risk
//! changes recorded before the page opened. Both need the read token and answer bad queries
//! with a JSON 400.

mod common;

use chrono::{DateTime, TimeDelta, Utc};
use common::json_request as call;
use serde_json::{Value, json};
use tradeengine_model::{AccountName, ClientOrderId, Fill, Price, Side, Symbol};
use tradeengine_store::{AuditKind, PnlEventRecord, Store, TargetRecord};

const READ: &str = "read-token-not-real";
const CONTROL: &str = "control-token-not-real";

fn d(s: &str) -> rust_decimal::Decimal {
    s.parse().unwrap()
}

fn account() -> AccountName {
    AccountName::new("hist").unwrap()
}

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

fn rebalance(
    at: DateTime<Utc>,
    desired: Value,
    target: &str,
    reference: &str,
    order: &str,
) -> PnlEventRecord {
    PnlEventRecord {
        seq: 0,
        account: account(),
        symbol: btc(),
        at,
        event: json!({"event": "rebalance", "desired": desired, "target": target,
            "reference": reference, "orders": [order]}),
    }
}

fn fill(
    order: &str,
    side: Side,
    qty: rust_decimal::Decimal,
    price: rust_decimal::Decimal,
    at: DateTime<Utc>,
) -> Fill {
    Fill {
        client_order_id: ClientOrderId::new(order).unwrap(),
        venue_order_id: None,
        symbol: btc(),
        side,
        qty,
        price: Price::new(price).unwrap(),
        fee: d("0.1"),
        filled_at: at,
    }
}

/// Two sources build a long over two hours, then one leaves; the account then trips a loss
/// limit. Times are whole minutes from a quarter-hour three hours back, so they fall in the default
/// 24 h window whatever the wall clock says.
async fn seed(store: &dyn Store) -> DateTime<Utc> {
    // On a quarter-hour, so 15-minute buckets split the inputs as the test says.
    let back = (Utc::now() - TimeDelta::hours(3)).timestamp();
    let t0 = DateTime::from_timestamp(back - back.rem_euclid(900), 0).unwrap();
    let at = |min: i64| t0 + TimeDelta::minutes(min);
    store
        .record_pnl_event(&rebalance(
            at(0),
            json!({"alpha": "1", "beta": "0.5"}),
            "1.5",
            "100",
            "te-h1",
        ))
        .await
        .unwrap();
    store
        .record_fill(
            &account(),
            &fill("te-h1", Side::Buy, d("1.5"), d("100"), at(1)),
        )
        .await
        .unwrap();
    store
        .record_pnl_event(&rebalance(
            at(90),
            json!({"alpha": "1"}),
            "1",
            "110",
            "te-h2",
        ))
        .await
        .unwrap();
    store
        .record_fill(
            &account(),
            &fill("te-h2", Side::Sell, d("0.5"), d("110"), at(91)),
        )
        .await
        .unwrap();
    for (min, depth, qty) in [(0, "0.3", "1.5"), (90, "0.2", "1")] {
        store
            .record_target(&TargetRecord {
                account: account(),
                symbol: btc(),
                depth: depth.parse().unwrap(),
                leverage: d("1"),
                quantity: qty.parse().unwrap(),
                decided_at: at(min),
            })
            .await
            .unwrap();
    }
    store
        .audit(
            AuditKind::RiskStateChanged,
            Some("hist"),
            None,
            json!({"from": "active", "to": "halted", "rule": "daily_loss", "detail": "lost 5%"}),
            at(100),
        )
        .await
        .unwrap();
    t0
}

fn decimal(v: &Value) -> rust_decimal::Decimal {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_comes_from_the_store_and_ends_where_the_pnl_report_is() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let t0 = seed(store.as_ref()).await;
    let config = common::demo_config_in(dir.path());
    let engine = common::start(config, store.clone(), &common::DEMO_ENV).await;
    let auth = common::auth(Some(READ), Some(CONTROL), true);
    let app = common::app(&engine, store.clone(), auth, None);
    let (addr, stop, server) = common::serve(app).await;

    let result = tokio::task::spawn_blocking(move || {
        // Read scope, like the rest of the API.
        assert_eq!(call(addr, "GET", "/api/v1/pnl/history", None, "").0, 401);
        assert_eq!(
            call(
                addr,
                "GET",
                "/api/v1/history?account=hist&symbol=BTCUSDT",
                None,
                ""
            )
            .0,
            401
        );
        // Bad queries are JSON 400s.
        for path in [
            "/api/v1/pnl/history?bucket=59",
            "/api/v1/pnl/history?bucket=604801",
            "/api/v1/pnl/history?bucket=x",
            "/api/v1/pnl/history?account=no%20spaces",
            "/api/v1/pnl/history?other=1",
            "/api/v1/history?account=hist",
            "/api/v1/history?account=hist&symbol=BTC-USDT",
            "/api/v1/history?account=hist&symbol=BTCUSDT&hours=0",
            "/api/v1/history?account=hist&symbol=BTCUSDT&hours=745",
        ] {
            let (status, body) = call(addr, "GET", path, Some(READ), "");
            assert_eq!(status, 400, "{path}: {body}");
            assert!(body["error"].is_string(), "{path}: {body}");
        }

        // P&L by source in 15-minute buckets: the two buckets with inputs (t0 and t0+90 min).
        let (status, h) = call(
            addr,
            "GET",
            "/api/v1/pnl/history?account=hist&bucket=900",
            Some(READ),
            "",
        );
        assert_eq!(status, 200, "{h}");
        assert_eq!(h["bucket_secs"], 900);
        let names: Vec<&str> = h["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.last(), Some(&"account"), "{h}");
        assert!(names.contains(&"alpha") && names.contains(&"beta"), "{h}");
        let total = h["series"].as_array().unwrap().last().unwrap()["points"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(total.len(), 2, "{h}");
        // Each point is stamped with its bucket's last input: the fills at t0+1 and t0+91 min.
        let stamp = |p: &Value| p["at"].as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
        assert_eq!(stamp(&total[0]), t0 + TimeDelta::minutes(1));
        assert_eq!(stamp(&total[1]), t0 + TimeDelta::minutes(91));
        // Bought 1.5 at 100, sold 0.5 at 110 (fees 0.1 each), marked at 110: 15 − 0.2 = 14.8.
        assert_eq!(decimal(&total[1]["pnl"]), d("14.8"));

        // The newest point of every series is the report's line.
        let (_, report) = call(addr, "GET", "/api/v1/pnl?account=hist", Some(READ), "");
        for line in report["lines"]
            .as_array()
            .unwrap()
            .iter()
            .chain([&report["total"]])
        {
            let name = line["name"].as_str().unwrap();
            let series = h["series"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["name"] == name)
                .unwrap_or_else(|| panic!("no series {name}: {h}"));
            let last = series["points"].as_array().unwrap().last().unwrap();
            for key in ["pnl", "realised", "unrealised", "fees"] {
                assert_eq!(
                    decimal(&last[key]),
                    decimal(&line[key]),
                    "{name} {key}: {h} vs {report}"
                );
            }
        }
        // One-minute buckets: a point per bucket with an input (four).
        let (_, fine) = call(
            addr,
            "GET",
            "/api/v1/pnl/history?account=hist&bucket=60",
            Some(READ),
            "",
        );
        assert_eq!(
            fine["series"].as_array().unwrap().last().unwrap()["points"]
                .as_array()
                .unwrap()
                .len(),
            4,
            "{fine}"
        );

        // Symbol history from before the page opened.
        let (status, s) = call(
            addr,
            "GET",
            "/api/v1/history?account=hist&symbol=btcusdt",
            Some(READ),
            "",
        );
        assert_eq!(status, 200, "{s}");
        assert_eq!(s["symbol"], "BTCUSDT");
        let qtys = |v: &Value| {
            v.as_array()
                .unwrap()
                .iter()
                .map(decimal)
                .collect::<Vec<_>>()
        };
        let qty_of = |key: &str| {
            qtys(&Value::Array(
                s[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["qty"].clone())
                    .collect(),
            ))
        };
        assert_eq!(qty_of("target"), vec![d("1.5"), d("1")], "{s}");
        // Flat until the first fill, then what the fills made.
        assert_eq!(qty_of("actual"), vec![d("0"), d("1.5"), d("1")], "{s}");
        let source = |name: &str| {
            s["sources"][name]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| decimal(&p["qty"]))
                .collect::<Vec<_>>()
        };
        assert_eq!(source("alpha"), vec![d("1")], "{s}");
        // beta left at the second plan: its desire went to zero.
        assert_eq!(source("beta"), vec![d("0.5"), d("0")], "{s}");
        let depth: Vec<&str> = s["depth"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["depth"].as_str().unwrap())
            .collect();
        assert_eq!(depth, ["0.3", "0.2"], "{s}");
        assert_eq!(s["risk"].as_array().unwrap().len(), 1, "{s}");
        assert_eq!(s["risk"][0]["to"], "halted");
        assert_eq!(s["risk"][0]["why"], "daily_loss: lost 5%");

        // A one-hour window starts with the values as they stood at its left edge.
        let (_, recent) = call(
            addr,
            "GET",
            "/api/v1/history?account=hist&symbol=BTCUSDT&hours=1",
            Some(READ),
            "",
        );
        let target = recent["target"].as_array().unwrap();
        assert_eq!(target.len(), 1, "{recent}");
        assert_eq!(decimal(&target[0]["qty"]), d("1"));
        assert_eq!(target[0]["at"], recent["since"]);
        assert!(recent["depth"].as_array().unwrap().is_empty(), "{recent}");
    })
    .await;
    stop.cancel();
    let _ = server.await;
    engine.shutdown().await;
    result.unwrap();
}
