//! The table: one row per venue, everything the conformance scenarios need to know that differs
//! by venue — where its simulator takes orders and positions, which codes it answers with, how
//! its units and ids look on the wire, and which of its quirks a scenario must allow for. Adding a
//! venue is adding a row here (and its name to the `cells!` lists that apply).

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tradeengine_model::ClientOrderId;
use tradeengine_venue_sim::{VenueId, VenueProfile};

/// One venue's facts.
pub struct Row {
    pub id: VenueId,
    /// Whether the adapter runs a private stream (fills pushed, not asked for).
    pub has_stream: bool,
    /// How a client order id looks at the venue (what the simulator records).
    pub wire_id: fn(&str) -> String,
    /// BTCUSDT's venue name, contract size (base units per venue unit) and minimum notional.
    pub btc: (&'static str, Decimal, Decimal),
    /// The prices read: `prices()` of three symbols is one request of it.
    pub prices_read: Option<&'static str>,
    /// Whether the instrument's tick is the venue's listed tick (Hyperliquid lists none: a
    /// price has 5 significant figures and at most 6 − `szDecimals` decimals, which
    /// `hyperliquid_adapter.rs` checks).
    pub tick_listed: bool,
    /// The instruments read, which is cached after the first answer.
    pub instruments_read: Option<&'static str>,
    /// A status query a streamed fill must not need.
    pub fill_query: Option<&'static str>,
    /// Fee reported for a 0.01 BTC market fill at 60 000 (taker 0.055 %), where the adapter
    /// reports fees on the order.
    pub fee: Option<Decimal>,
    /// Code of a reduce-only order with nothing to reduce.
    pub reduce_only_refused: &'static str,
    /// Code of an order the margin cannot carry (2 BTC at leverage 1 on 100 000 USDT).
    pub insufficient_margin: Option<&'static str>,
    /// A BTC quantity off the venue's step (refused before it is sent).
    pub off_step_btc: Decimal,
    /// Code of cancelling an order the venue never had.
    pub cancel_unknown: Option<&'static str>,
    /// (symbol, opening quantity, price that puts it under the minimum notional, code) where the
    /// venue has a minimum order value.
    pub min_notional: Option<(&'static str, Decimal, Decimal, &'static str)>,
    /// How many submissions of a repeated client id reach the venue (1 where the adapter looks
    /// it up first because the venue documents no duplicate refusal).
    pub duplicate_submissions: u32,
    /// Code of a margin-mode change refused while a position is open.
    pub margin_locked: Option<&'static str>,
    pub auth: Option<Auth>,
    /// The venue's rate-limit code.
    pub rate_limited: &'static str,
    pub clock: Option<Clock>,
    /// With the stream off, the reads that confirm a fill (method and path, count).
    pub rest_confirm: Option<&'static [(&'static str, &'static str, u64)]>,
    /// (ordered, filled) BTC of a half partial fill, on the venue's grid.
    pub partial: (Decimal, Decimal),
}

impl Row {
    /// The simulator's paths for this venue (order entry, positions, time, stream token).
    pub fn profile(&self) -> VenueProfile {
        tradeengine_venue_sim::profile(self.id)
    }
}

/// How a venue refuses keys.
pub struct Auth {
    pub bad_secret: &'static str,
    pub unknown_key: &'static str,
    pub refuses_hedge_mode: bool,
    /// (wrong passphrase, no passphrase) codes, for venues whose keys carry one.
    pub passphrase: Option<(&'static str, Option<&'static str>)>,
}

/// How a venue's clock is learnt after skew.
pub struct Clock {
    pub skew_ms: i64,
    pub tolerance_ms: i64,
    pub sync: ClockSync,
}

pub enum ClockSync {
    /// The venue's time endpoint is asked once per correction.
    Endpoint,
    /// Read from the refusing reply: the balance read is sent twice per correction.
    FromReply,
}

fn same(id: &str) -> String {
    id.to_string()
}

pub fn bybit() -> Row {
    Row {
        id: VenueId::Bybit,
        has_stream: true,
        wire_id: same,
        btc: ("BTCUSDT", dec!(1), dec!(5)),
        prices_read: Some("/v5/market/tickers"),
        tick_listed: true,
        instruments_read: Some("/v5/market/instruments-info"),
        fill_query: Some("/v5/order/realtime"),
        fee: Some(dec!(0.33)),
        reduce_only_refused: "110017",
        insufficient_margin: Some("110007"),
        off_step_btc: dec!(0.0015),
        cancel_unknown: Some("110001"),
        // 0.1 SOL × 150 = 15 ≥ 5, then × 40 = 4 < 5.
        min_notional: Some(("SOLUSDT", dec!(0.1), dec!(40), "110094")),
        duplicate_submissions: 2,
        margin_locked: None,
        auth: Some(Auth {
            bad_secret: "10004",
            unknown_key: "10003",
            refuses_hedge_mode: true,
            passphrase: None,
        }),
        rate_limited: "10006",
        clock: Some(Clock {
            skew_ms: 30_000,
            tolerance_ms: 1_000,
            sync: ClockSync::Endpoint,
        }),
        rest_confirm: Some(&[
            ("GET", "/v5/order/realtime", 1),
            ("GET", "/v5/order/history", 1),
        ]),
        partial: (dec!(0.011), dec!(0.005)),
    }
}

pub fn binance() -> Row {
    Row {
        id: VenueId::Binance,
        has_stream: true,
        wire_id: same,
        btc: ("BTCUSDT", dec!(1), dec!(100)),
        prices_read: Some("/fapi/v1/premiumIndex"),
        tick_listed: true,
        instruments_read: Some("/fapi/v1/exchangeInfo"),
        // RESULT answers the fill: no query.
        fill_query: Some("/fapi/v1/order"),
        fee: Some(dec!(0.33)),
        reduce_only_refused: "-2022",
        insufficient_margin: Some("-2019"),
        off_step_btc: dec!(0.0015),
        cancel_unknown: Some("-2011"),
        // 0.002 BTC × 60 000 = 120 ≥ 100, then × 40 000 = 80 < 100.
        min_notional: Some(("BTCUSDT", dec!(0.002), dec!(40000), "-4164")),
        duplicate_submissions: 2,
        margin_locked: Some("-4048"),
        auth: Some(Auth {
            bad_secret: "-1022",
            unknown_key: "-2015",
            refuses_hedge_mode: true,
            passphrase: None,
        }),
        rate_limited: "http_429",
        clock: Some(Clock {
            skew_ms: 30_000,
            tolerance_ms: 1_000,
            sync: ClockSync::Endpoint,
        }),
        // newOrderRespType=RESULT answers with the fill: nothing to ask.
        rest_confirm: Some(&[("GET", "/fapi/v1/order", 0)]),
        partial: (dec!(0.01), dec!(0.005)),
    }
}

/// BloFin takes letters, digits and underscores in `clientOrderId`.
fn underscored(id: &str) -> String {
    id.replace('-', "_")
}

pub fn blofin() -> Row {
    Row {
        id: VenueId::Blofin,
        has_stream: true,
        wire_id: underscored,
        btc: ("BTC-USDT", dec!(0.001), dec!(0)),
        prices_read: Some("/api/v1/market/tickers"),
        tick_listed: true,
        instruments_read: Some("/api/v1/market/instruments"),
        fill_query: Some("/api/v1/trade/order-detail"),
        fee: None,
        reduce_only_refused: "102022",
        insufficient_margin: Some("103003"),
        // 0.15 contracts of 0.001 BTC: off the 0.1 lot.
        off_step_btc: dec!(0.00015),
        cancel_unknown: Some("102068"),
        min_notional: None,
        duplicate_submissions: 2,
        margin_locked: Some("110019"),
        auth: Some(Auth {
            bad_secret: "152409",
            unknown_key: "152401",
            refuses_hedge_mode: true,
            passphrase: Some(("152408", Some("no_passphrase"))),
        }),
        rate_limited: "http_429",
        clock: Some(Clock {
            skew_ms: 90_000,
            tolerance_ms: 1_500,
            sync: ClockSync::FromReply,
        }),
        rest_confirm: Some(&[("GET", "/api/v1/trade/order-detail", 1)]),
        // 11.1 contracts, half rounded down to the 0.1 lot: 5.5.
        partial: (dec!(0.0111), dec!(0.0055)),
    }
}

pub fn kucoin() -> Row {
    Row {
        id: VenueId::Kucoin,
        has_stream: true,
        wire_id: same,
        btc: ("XBTUSDTM", dec!(0.001), dec!(0)),
        prices_read: Some("/api/v1/contracts/active"),
        tick_listed: true,
        instruments_read: Some("/api/v1/contracts/active"),
        fill_query: Some("/api/v1/orders/byClientOid"),
        // Read from the order's fills (`GET /api/v1/fills`), not the order.
        fee: Some(dec!(0.33)),
        reduce_only_refused: "300009",
        insufficient_margin: Some("300003"),
        // 1.5 lots of 0.001 BTC.
        off_step_btc: dec!(0.0015),
        cancel_unknown: Some("100004"),
        min_notional: None,
        // KuCoin documents no duplicate-id refusal: the adapter looks the id up first.
        duplicate_submissions: 1,
        margin_locked: Some("330005"),
        auth: Some(Auth {
            // The passphrase is signed with the secret, so a wrong secret fails there first.
            bad_secret: "400004",
            unknown_key: "400003",
            refuses_hedge_mode: false,
            passphrase: Some(("400004", None)),
        }),
        rate_limited: "429000",
        clock: Some(Clock {
            skew_ms: 30_000,
            tolerance_ms: 1_000,
            sync: ClockSync::Endpoint,
        }),
        rest_confirm: Some(&[("GET", "/api/v1/orders/byClientOid", 1)]),
        // 11 lots, half rounded down: 5.
        partial: (dec!(0.011), dec!(0.005)),
    }
}

pub fn mexc() -> Row {
    Row {
        id: VenueId::Mexc,
        has_stream: true,
        wire_id: same,
        btc: ("BTC_USDT", dec!(0.0001), dec!(0)),
        prices_read: Some("/api/v1/contract/ticker"),
        tick_listed: true,
        instruments_read: Some("/api/v1/contract/detail"),
        fill_query: Some("/api/v1/private/order/external/BTC_USDT/c-buy-1"),
        // 0.01 × 60 000 × 0.00055.
        fee: Some(dec!(0.33)),
        reduce_only_refused: "2009",
        insufficient_margin: Some("2005"),
        // Half a contract of 0.0001 BTC.
        off_step_btc: dec!(0.00015),
        cancel_unknown: Some("order_not_found"),
        min_notional: None,
        duplicate_submissions: 2,
        margin_locked: Some("position_open"),
        auth: Some(Auth {
            bad_secret: "602",
            unknown_key: "401",
            refuses_hedge_mode: true,
            passphrase: None,
        }),
        rate_limited: "510",
        clock: Some(Clock {
            skew_ms: 30_000,
            tolerance_ms: 1_000,
            sync: ClockSync::Endpoint,
        }),
        rest_confirm: Some(&[("GET", "/api/v1/private/order/external/BTC_USDT/c-rest-1", 1)]),
        // 111 contracts, half on the contract grid: 55.
        partial: (dec!(0.0111), dec!(0.0055)),
    }
}

/// Hyperliquid carries our id as a 128-bit `cloid` derived from it.
fn cloid(id: &str) -> String {
    tradeengine_venues::hyperliquid::venue::cloid_of(&ClientOrderId::new(id).unwrap())
}

pub fn hyperliquid() -> Row {
    Row {
        id: VenueId::Hyperliquid,
        has_stream: false,
        wire_id: cloid,
        btc: ("BTC", dec!(1), dec!(10)),
        prices_read: None,
        tick_listed: false,
        instruments_read: None,
        fill_query: None,
        fee: None,
        reduce_only_refused: "reduce_only",
        insufficient_margin: Some("insufficient_margin"),
        // szDecimals 5.
        off_step_btc: dec!(0.000015),
        cancel_unknown: None,
        min_notional: Some(("BTCUSDT", dec!(0.0002), dec!(40000), "min_notional")),
        duplicate_submissions: 2,
        margin_locked: None,
        auth: None,
        rate_limited: "http_429",
        clock: None,
        rest_confirm: None,
        // Not simulated: the simulator fills an IOC limit in full (see `faults.rs`).
        partial: (dec!(0.011), dec!(0.0055)),
    }
}
