//! TradingView parsing end to end: payload conventions, authentication, validation, replay.
#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use secrecy::SecretString;
use serde_json::json;
use tradeengine_model::{Intent, SourceId, Timestamp};
use tradeengine_signals::SymbolMap;
use tradeengine_signals::tradingview::{
    AuthFailure, Dedup, DedupVerdict, Direction, IpAllowList, PriorState, Sequenced, TvAlert,
    TvConfig, TvError, TvErrorClass, TvRequest, parse, parse_request, resolve_order,
};

const SECRET: &str = "correct-horse-battery";

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2025, 6, 4, 17, 32, 0).unwrap()
}

fn cfg() -> TvConfig {
    TvConfig::new(
        SourceId::new("tradingview").unwrap(),
        Some(SecretString::from(SECRET)),
    )
}

fn mapping() -> SymbolMap {
    SymbolMap::new([
        ("BTCUSDT", "BTCUSDT"),
        ("ETHUSDT", "ETHUSDT"),
        ("SOLUSDT", "SOLUSDT"),
    ])
    .unwrap()
}

fn run(v: serde_json::Value) -> Result<TvAlert, TvError> {
    parse(
        v.to_string().as_bytes(),
        Some("application/json"),
        &cfg(),
        &mapping(),
        now(),
    )
}

fn target(a: &TvAlert) -> (Decimal, Option<Decimal>) {
    match &a.signal.intent {
        Intent::Target(t) => (t.depth, t.leverage),
        Intent::Order(_) => panic!("expected a target intent"),
    }
}

#[test]
fn seed_payload_with_strings() {
    let a = run(json!({
        "secret": SECRET, "symbol": "ETHUSDT", "direction": "short", "action": "sell",
        "size": "-100/100", "leverage": "3", "priority": "", "takeprofit": "0.0",
        "trailstop": "0.0", "price": "0.0", "signal_seq": "", "event_id": ""
    }))
    .unwrap();
    assert_eq!(target(&a), (dec!(-1), Some(dec!(3))));
    assert_eq!(a.direction, Direction::Short);
    assert_eq!(a.signal.symbol.as_str(), "ETHUSDT");
    assert_eq!(a.action.as_deref(), Some("sell"));
    assert_eq!(a.signal_seq, None);
    assert_eq!(a.event_id, None);
    assert_eq!(a.signal.received_at, now());
    assert!(a.signal.idempotency_key.starts_with("tv:tradingview:body:"));
}

#[test]
fn numbers_may_be_numbers_and_text_plain_is_json() {
    let body = json!({
        "secret": SECRET, "symbol": "BINANCE:BTCUSDT.P", "direction": "long",
        "action": "buy", "size": "14.08/100", "leverage": 5, "price": 64000.5,
        "signal_seq": 12, "event_id": "evt-1"
    })
    .to_string();
    let a = parse(
        body.as_bytes(),
        Some("text/plain; charset=utf-8"),
        &cfg(),
        &mapping(),
        now(),
    )
    .unwrap();
    assert_eq!(target(&a), (dec!(0.1408), Some(dec!(5))));
    assert_eq!(a.signal.symbol.as_str(), "BTCUSDT");
    assert_eq!(a.signal_seq.as_deref(), Some("12"));
    assert_eq!(
        a.signal.idempotency_key,
        format!("tv:tradingview:event:evt-1:{}", &a.body_hash[..32])
    );
    match &a.signal.intent {
        Intent::Target(t) => assert_eq!(t.reference_price.map(|p| p.get()), Some(dec!(64000.5))),
        Intent::Order(_) => unreachable!(),
    }
}

#[test]
fn flat_and_exit_close() {
    let flat = run(
        json!({"secret": SECRET, "symbol": "ETHUSDT", "direction": "flat",
        "action": "buy", "size": "Exit @ 3263.55", "leverage": ""}),
    )
    .unwrap();
    assert_eq!(target(&flat), (dec!(0), None));
    // An exit closes, whatever the direction.
    let exit = run(
        json!({"secret": SECRET, "symbol": "ETHUSDT", "direction": "long",
        "action": "sell", "size": "Exit @ 3263.55", "leverage": "3"}),
    )
    .unwrap();
    assert_eq!(target(&exit), (dec!(0), None));
    assert_eq!(exit.direction, Direction::Flat);
}

#[test]
fn direction_decides_the_side_and_a_long_sized_negative_is_refused() {
    // A short with TradingView's signed size is a short of the magnitude.
    let a = run(
        json!({"secret": SECRET, "symbol": "ETHUSDT", "direction": "short",
        "action": "sell", "size": "-20/100"}),
    )
    .unwrap();
    assert_eq!(target(&a).0, dec!(-0.2));
    // A long sized negative says two things: refused, not read as either.
    for size in ["-20/100", "-50%", "-0.5"] {
        let e = run(
            json!({"secret": SECRET, "symbol": "ETHUSDT", "direction": "long",
            "action": "buy", "size": size}),
        )
        .unwrap_err();
        assert_eq!(e.http_status(), 422, "{size}: {e}");
        assert!(e.to_string().contains("negative size"), "{size}: {e}");
    }
    // Leverage below 1× is no venue's leverage.
    for lev in ["0.0001", "0.5"] {
        let e = run(
            json!({"secret": SECRET, "symbol": "ETHUSDT", "direction": "long",
            "size": "10/100", "leverage": lev}),
        )
        .unwrap_err();
        assert_eq!(e.http_status(), 422, "{lev}: {e}");
    }
}

#[test]
fn caps_are_refused_with_422() {
    let e = run(
        json!({"secret": SECRET, "symbol": "ETHUSDT", "direction": "long",
        "size": "300/100"}),
    )
    .unwrap_err();
    assert!(matches!(e, TvError::DepthAboveCap { .. }), "{e}");
    assert_eq!(e.http_status(), 422);
    let e = run(
        json!({"secret": SECRET, "symbol": "ETHUSDT", "direction": "long",
        "size": "10/100", "leverage": "100"}),
    )
    .unwrap_err();
    assert!(matches!(e, TvError::LeverageAboveCap { .. }), "{e}");
    let e = run(
        json!({"secret": SECRET, "symbol": "ETHUSDT", "direction": "long",
        "size": "10/100", "leverage": "-2"}),
    )
    .unwrap_err();
    assert_eq!(e.class(), TvErrorClass::Invalid);
}

#[test]
fn unknown_symbol_is_422_with_the_reason() {
    let e =
        run(json!({"secret": SECRET, "symbol": "DOGEUSDT", "direction": "long", "size": "1/10"}))
            .unwrap_err();
    assert_eq!(e.http_status(), 422);
    assert!(e.to_string().contains("DOGEUSDT"), "{e}");
}

#[test]
fn authentication_failures_are_401_and_say_nothing_of_the_secret() {
    let base = json!({"symbol": "ETHUSDT", "direction": "long", "size": "1/10"});
    let e = run(base.clone()).unwrap_err();
    assert_eq!(e, TvError::Unauthorized(AuthFailure::MissingSecret));
    assert_eq!(e.http_status(), 401);

    let mut wrong = base.clone();
    wrong["passphrase"] = json!("guess");
    let e = run(wrong).unwrap_err();
    assert_eq!(e, TvError::Unauthorized(AuthFailure::WrongSecret));
    assert!(!e.to_string().contains("guess") && !e.to_string().contains(SECRET));

    // Authentication comes before validation: a bad payload without the secret is a 401.
    let e = run(json!({"symbol": "NOPE", "direction": "sideways"})).unwrap_err();
    assert!(e.is_auth_failure());

    // No secret configured refuses everything.
    let open = TvConfig::new(SourceId::new("tv").unwrap(), None);
    let e = parse(base.to_string().as_bytes(), None, &open, &mapping(), now()).unwrap_err();
    assert_eq!(e, TvError::Unauthorized(AuthFailure::NoSecretConfigured));
}

#[test]
fn url_token_and_allow_list() {
    let mut c = cfg();
    c.allow_ips = IpAllowList::tradingview();
    let body = json!({"symbol": "ETHUSDT", "direction": "long", "size": "1/10"}).to_string();
    let tv_ip = "52.89.214.238".parse().unwrap();
    let ok = TvRequest {
        body: body.as_bytes(),
        content_type: Some("application/json"),
        url_token: Some(SECRET),
        peer: Some(tv_ip),
    };
    assert!(parse_request(&ok, &c, &mapping(), now()).is_ok());
    assert!(!format!("{ok:?}").contains(SECRET));
    let stranger = TvRequest {
        peer: Some("203.0.113.9".parse().unwrap()),
        ..ok
    };
    let e = parse_request(&stranger, &c, &mapping(), now()).unwrap_err();
    assert!(matches!(
        e,
        TvError::Unauthorized(AuthFailure::PeerNotAllowed(_))
    ));
    let unknown = TvRequest { peer: None, ..ok };
    assert!(
        parse_request(&unknown, &c, &mapping(), now())
            .unwrap_err()
            .is_auth_failure()
    );
}

#[test]
fn stored_payload_never_holds_the_secret() {
    let a = run(
        json!({"passphrase": SECRET, "secret": SECRET, "symbol": "ETHUSDT",
        "direction": "long", "size": "1/10"}),
    )
    .unwrap();
    let raw = a.signal.raw.to_string();
    assert!(!raw.contains(SECRET), "{raw}");
    assert!(!format!("{a:?}").contains(SECRET));
    assert_eq!(a.signal.raw["symbol"], json!("ETHUSDT"));
}

#[test]
fn malformed_bodies_are_400() {
    let c = cfg();
    let m = mapping();
    for (body, ct) in [
        (&b"not json"[..], Some("text/plain")),
        (b"[1,2]", Some("application/json")),
        (b"\"str\"", None),
        (b"{\"a\":", None),
        (b"\xff\xfe", None),
    ] {
        let e = parse(body, ct, &c, &m, now()).unwrap_err();
        assert_eq!(e.http_status(), 400, "{e}");
    }
    let e = parse(
        b"{}",
        Some("application/x-www-form-urlencoded"),
        &c,
        &m,
        now(),
    )
    .unwrap_err();
    assert!(matches!(e, TvError::UnsupportedContentType(_)));
    let big = vec![b' '; c.max_body_bytes + 1];
    assert!(matches!(
        parse(&big, None, &c, &m, now()).unwrap_err(),
        TvError::BodyTooLarge { .. }
    ));
}

#[test]
fn unreplaced_placeholders_are_refused() {
    let e = run(
        json!({"secret": SECRET, "symbol": "ETHUSDT", "direction": "long",
        "size": "1/10", "strategy": {"position_size": "{{strategy.position_size}}"}}),
    )
    .unwrap_err();
    assert_eq!(
        e,
        TvError::UnfilledPlaceholder {
            field: "strategy.position_size".into()
        }
    );
}

#[test]
fn ptn_miner_template() {
    // `order_type` carries {{strategy.market_position}} upper-cased; leverage as a string.
    let mut c = cfg();
    c.default_depth = Some(dec!(0.5));
    let body = json!({"api_key": SECRET, "order_type": "LONG", "trade_pair": "ETHUSDT",
        "leverage": "2"})
    .to_string();
    let a = parse(body.as_bytes(), None, &c, &mapping(), now()).unwrap();
    assert_eq!(target(&a), (dec!(0.5), Some(dec!(2))));
    // PTN's dict form of trade_pair.
    let body = json!({"api_key": SECRET, "order_type": "flat",
        "trade_pair": {"trade_pair_id": "SOLUSDT", "trade_pair": "SOL/USDT"}})
    .to_string();
    let a = parse(body.as_bytes(), None, &c, &mapping(), now()).unwrap();
    assert_eq!(a.signal.symbol.as_str(), "SOLUSDT");
    assert_eq!(target(&a).0, dec!(0));
}

#[test]
fn part_time_larry_nested_template_sizes_by_position() {
    let mut c = cfg();
    c.position_scale = Some(dec!(4));
    let body = json!({
        "passphrase": SECRET, "time": "2025-06-04T17:31:30Z", "exchange": "BINANCE",
        "ticker": "BTCUSDT",
        "bar": {"time": "2025-06-04T17:00:00Z", "open": 1, "high": 2, "low": 0.5, "close": 1.5,
                "volume": 10},
        "strategy": {"position_size": -1, "order_action": "sell", "order_contracts": 3,
                     "order_price": 64000, "order_id": "Short", "market_position": "short",
                     "market_position_size": 1, "prev_market_position": "long",
                     "prev_market_position_size": 2}
    })
    .to_string();
    let a = parse(
        body.as_bytes(),
        Some("application/json"),
        &c,
        &mapping(),
        now(),
    )
    .unwrap();
    assert_eq!(target(&a).0, dec!(-0.25));
    assert_eq!(a.signal.emitted_at, Some(now() - Duration::seconds(30)));
    // With a time in the payload, the body hash alone is the idempotency key.
    assert!(!a.signal.idempotency_key.contains('@'));
}

#[test]
fn three_commas_and_okx_actions_imply_sides() {
    let mut c = cfg();
    c.default_depth = Some(dec!(0.1));
    let body = json!({"secret": SECRET, "tv_instrument": "SOLUSDT", "action": "enter_short",
        "max_lag": "300", "timestamp": now().to_rfc3339()})
    .to_string();
    let a = parse(body.as_bytes(), None, &c, &mapping(), now()).unwrap();
    assert_eq!(target(&a).0, dec!(-0.1));
    let body = json!({"signalToken": SECRET, "instrument": "SOL-USDT-SWAP",
        "action": "EXIT_LONG"})
    .to_string();
    let a = parse(body.as_bytes(), None, &c, &mapping(), now()).unwrap();
    assert_eq!(target(&a).0, dec!(0));
    // buy/sell alone is not a target.
    let body = json!({"secret": SECRET, "symbol": "SOLUSDT", "action": "buy"}).to_string();
    let e = parse(body.as_bytes(), None, &c, &mapping(), now()).unwrap_err();
    assert!(matches!(e, TvError::MissingField("direction", _)), "{e}");
}

#[test]
fn stale_and_future_alerts_are_refused() {
    let old = (now() - Duration::seconds(121)).to_rfc3339();
    let e = run(
        json!({"secret": SECRET, "symbol": "ETHUSDT", "direction": "long",
        "size": "1/10", "timenow": old}),
    )
    .unwrap_err();
    assert!(matches!(e, TvError::TooOld { .. }), "{e}");
    // The alert's own max_lag tightens the source TTL.
    let e = run(
        json!({"secret": SECRET, "symbol": "ETHUSDT", "direction": "long",
        "size": "1/10", "timestamp": (now() - Duration::seconds(61)).timestamp_millis(),
        "maxLag": 60}),
    )
    .unwrap_err();
    assert!(matches!(e, TvError::TooOld { limit_secs: 60, .. }), "{e}");
    let e = run(
        json!({"secret": SECRET, "symbol": "ETHUSDT", "direction": "long",
        "size": "1/10", "timenow": (now() + Duration::minutes(5)).to_rfc3339()}),
    )
    .unwrap_err();
    assert!(matches!(e, TvError::FromTheFuture { .. }), "{e}");
    let e = run(
        json!({"secret": SECRET, "symbol": "ETHUSDT", "direction": "long",
        "size": "1/10", "timenow": "yesterday"}),
    )
    .unwrap_err();
    assert_eq!(e.http_status(), 422);
    // Epoch seconds are accepted too.
    let ok = run(
        json!({"secret": SECRET, "symbol": "ETHUSDT", "direction": "long",
        "size": "1/10", "time": now().timestamp()}),
    )
    .unwrap();
    assert_eq!(ok.signal.emitted_at, Some(now()));
}

#[test]
fn missing_size_and_bad_direction_are_explained() {
    let e = run(json!({"secret": SECRET, "symbol": "ETHUSDT", "direction": "long"})).unwrap_err();
    assert!(matches!(e, TvError::MissingField("size", _)), "{e}");
    let e = run(
        json!({"secret": SECRET, "symbol": "ETHUSDT", "direction": "sideways",
        "size": "1/10"}),
    )
    .unwrap_err();
    assert!(e.to_string().contains("sideways"), "{e}");
}

#[test]
fn replays_are_folded_by_event_id_then_by_body() {
    let mut d = Dedup::default();
    let body = json!({"secret": SECRET, "symbol": "ETHUSDT", "direction": "long",
        "size": "1/10", "event_id": "abc"});
    let a = run(body.clone()).unwrap();
    assert_eq!(d.check(&a, now()), DedupVerdict::Fresh);
    let again = run(body).unwrap();
    assert_eq!(again.signal.idempotency_key, a.signal.idempotency_key);
    assert_eq!(again.signal.id, a.signal.id);
    assert_eq!(
        d.check(&again, now() + Duration::hours(1)),
        DedupVerdict::Duplicate { first_seen: now() }
    );
    let plain = run(json!({"secret": SECRET, "symbol": "ETHUSDT", "direction": "flat"})).unwrap();
    assert_eq!(d.check(&plain, now()), DedupVerdict::Fresh);
    assert!(matches!(
        d.check(&plain, now() + Duration::seconds(5)),
        DedupVerdict::Duplicate { .. }
    ));
    assert_eq!(
        d.check(&plain, now() + Duration::seconds(61)),
        DedupVerdict::Fresh
    );
    // Different secrets do not make different hashes: the secret is not part of the payload hash.
    let mut c2 = cfg();
    c2.aliases.secret = vec!["token".into()];
    c2.secret = Some(SecretString::from("other"));
    let b = json!({"token": "other", "symbol": "ETHUSDT", "direction": "flat"}).to_string();
    let p2 = parse(b.as_bytes(), None, &c2, &mapping(), now()).unwrap();
    assert_eq!(p2.body_hash, plain.body_hash);
}

#[test]
fn close_and_open_together_resolve_from_parsed_alerts() {
    let open = run(
        json!({"secret": SECRET, "symbol": "ETHUSDT", "direction": "long",
        "size": "1/2"}),
    )
    .unwrap();
    let mut close =
        run(json!({"secret": SECRET, "symbol": "ETHUSDT", "direction": "flat"})).unwrap();
    close.signal.received_at = now() + Duration::milliseconds(4);
    let batch: Vec<Sequenced> = [&open, &close].into_iter().map(Sequenced::from).collect();
    let r = resolve_order(&batch, |_| Some(PriorState::Open), Duration::seconds(5));
    let latest = r.latest();
    assert_eq!(latest.len(), 1);
    let winner = latest.values().next().copied().unwrap();
    assert_eq!(
        winner, 0,
        "the open must win when the source was already open"
    );
}
