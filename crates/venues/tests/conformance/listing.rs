//! Simulator fidelity: every simulator lists as many instruments as it is started
//! with, in its venue's listing shape (the adapter, which reads that shape strictly, finds each
//! one with its rules and price), and its public listings carry every field the venue's own
//! documented example reply has, no more (`crates/venues/testdata/<venue>/`).

use tradeengine_model::Symbol;
use tradeengine_venue_sim::{SimOptions, VenueId};
use tradeengine_venues::connect::connect;

use crate::sim::{config, start, sym};
use crate::venues::Row;

/// More than one page of most venues' default page size, fewer than Bybit's 1000 per page.
const SYNTHETIC: usize = 150;

async fn each_simulator_lists_every_instrument_it_was_given(row: &Row) {
    let venue = row.id;
    let options = SimOptions::new(venue).with_synthetic(SYNTHETIC);
    let listed: Vec<Symbol> = options.instruments.iter().map(|i| sym(&i.symbol)).collect();
    let sim = start(venue, options).await;
    let adapter = connect(venue, config(&sim)).await.unwrap();
    let instruments = adapter.instruments(&listed).await.unwrap();
    assert_eq!(instruments.len(), listed.len(), "{venue:?}");
    let last = sym(&format!("S{SYNTHETIC:03}USDT"));
    let found = instruments.iter().find(|i| i.symbol == last);
    assert!(found.is_some(), "{venue:?}: {last} not listed");
    let prices = adapter.prices(&listed).await.unwrap();
    assert_eq!(prices.len(), listed.len(), "{venue:?}");
    sim.shutdown();
}

cells!(each_simulator_lists_every_instrument_it_was_given: bybit, binance, blofin, kucoin, mexc, hyperliquid);

/// One public listing reply: where the simulator serves it, and the recorded reply of the
/// venue's documentation it must match key for key.
struct Listing {
    venue: VenueId,
    path: &'static str,
    /// JSON pointer to the row compared, in both replies.
    sim_row: &'static str,
    file: &'static str,
    recorded_row: &'static str,
    /// Keys the simulator spells as the live API does where the documentation differs.
    renamed: &'static [(&'static str, &'static str)],
    /// The request body, for a listing that is a `POST` (Hyperliquid's `/info`).
    post: Option<&'static str>,
    /// Keys the live API sends beyond the documentation's example, which the simulator sends too.
    live_extra: &'static [&'static str],
}

const LISTINGS: &[Listing] = &[
    Listing {
        venue: VenueId::Bybit,
        path: "/v5/market/instruments-info?category=linear",
        sim_row: "/result/list/0",
        file: "bybit/instruments-info.json",
        recorded_row: "/result/list/0",
        renamed: &[],
        post: None,
        live_extra: &[],
    },
    Listing {
        venue: VenueId::Bybit,
        path: "/v5/market/tickers?category=linear",
        sim_row: "/result/list/0",
        file: "bybit/tickers.json",
        recorded_row: "/result/list/0",
        renamed: &[],
        post: None,
        live_extra: &[],
    },
    Listing {
        venue: VenueId::Binance,
        path: "/fapi/v1/exchangeInfo",
        sim_row: "",
        file: "binance/exchangeInfo.json",
        recorded_row: "",
        renamed: &[],
        post: None,
        live_extra: &[],
    },
    Listing {
        venue: VenueId::Binance,
        path: "/fapi/v1/exchangeInfo",
        sim_row: "/symbols/0",
        file: "binance/exchangeInfo.json",
        recorded_row: "/symbols/0",
        // The Exchange Information page's example says `OrderType`; the live API `orderTypes`.
        renamed: &[("OrderType", "orderTypes")],
        post: None,
        live_extra: &[],
    },
    Listing {
        venue: VenueId::Binance,
        path: "/fapi/v1/premiumIndex?symbol=BTCUSDT",
        sim_row: "",
        file: "binance/premiumIndex.json",
        recorded_row: "",
        renamed: &[],
        post: None,
        live_extra: &[],
    },
    Listing {
        venue: VenueId::Blofin,
        path: "/api/v1/market/instruments",
        sim_row: "/data/0",
        file: "blofin/instruments.json",
        recorded_row: "/data/0",
        renamed: &[],
        post: None,
        live_extra: &[],
    },
    Listing {
        venue: VenueId::Blofin,
        path: "/api/v1/market/tickers?instId=BTC-USDT",
        sim_row: "/data/0",
        file: "blofin/tickers.json",
        recorded_row: "/data/0",
        renamed: &[],
        post: None,
        live_extra: &[],
    },
    Listing {
        venue: VenueId::Kucoin,
        path: "/api/v1/contracts/active",
        sim_row: "/data/0",
        file: "kucoin/contracts-active.json",
        recorded_row: "/data/0",
        renamed: &[],
        post: None,
        live_extra: &[],
    },
    Listing {
        venue: VenueId::Mexc,
        path: "/api/v1/contract/detail",
        sim_row: "/data/0",
        file: "mexc/contract-detail.json",
        recorded_row: "/data/0",
        renamed: &[],
        post: None,
        live_extra: &[],
    },
    Listing {
        venue: VenueId::Mexc,
        path: "/api/v1/contract/ticker?symbol=BTC_USDT",
        sim_row: "/data",
        file: "mexc/ticker.json",
        recorded_row: "/data",
        renamed: &[],
        post: None,
        live_extra: &[],
    },
    Listing {
        venue: VenueId::Hyperliquid,
        path: "/info",
        sim_row: "",
        file: "hyperliquid/meta.json",
        recorded_row: "",
        renamed: &[],
        post: Some(r#"{"type":"meta"}"#),
        live_extra: &[],
    },
    Listing {
        venue: VenueId::Hyperliquid,
        path: "/info",
        sim_row: "/universe/0",
        file: "hyperliquid/meta.json",
        recorded_row: "/universe/0",
        renamed: &[],
        post: Some(r#"{"type":"meta"}"#),
        // Each asset names the entry of the reply's own `marginTables` that applies to it
        // (the page's example lists the tables but not the asset's id); the live reply has it.
        live_extra: &["marginTableId"],
    },
];

fn keys(v: &serde_json::Value) -> std::collections::BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

/// The simulators' public listings carry every field the venues document for them, no more.
async fn each_listing_has_the_documented_keys(row: &Row) {
    let http = reqwest::Client::new();
    let mine: Vec<&Listing> = LISTINGS.iter().filter(|l| l.venue == row.id).collect();
    assert!(
        !mine.is_empty(),
        "{:?}: no documented listing to compare",
        row.id
    );
    for l in mine {
        let sim = start(l.venue, SimOptions::new(l.venue)).await;
        let url = format!("{}{}", sim.base_url(), l.path);
        let request = match l.post {
            Some(body) => http
                .post(&url)
                .header("Content-Type", "application/json")
                .body(body),
            None => http.get(&url),
        };
        let reply: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
        let got = keys(
            reply
                .pointer(l.sim_row)
                .unwrap_or_else(|| panic!("{url}: {reply}")),
        );
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(l.file);
        let recorded: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let want: std::collections::BTreeSet<String> =
            keys(recorded.pointer(l.recorded_row).unwrap())
                .into_iter()
                .map(|k| {
                    l.renamed
                        .iter()
                        .find(|(doc, _)| *doc == k)
                        .map_or(k.clone(), |(_, live)| (*live).to_string())
                })
                .chain(l.live_extra.iter().map(|k| (*k).to_string()))
                .collect();
        let missing: Vec<_> = want.difference(&got).collect();
        let extra: Vec<_> = got.difference(&want).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{url} vs {}{}: missing {missing:?}, not documented {extra:?}",
            l.file,
            l.recorded_row
        );
        sim.shutdown();
    }
}

cells!(each_listing_has_the_documented_keys: bybit, binance, blofin, kucoin, mexc, hyperliquid);
