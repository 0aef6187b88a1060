//! Public market data without keys: candles (klines) from a venue, as a [`KlineSeries`] the
//! replay feed and a paper account's warm-up can use. Prices and instruments are the adapters'
//! own [`crate::Venue::prices`] and [`crate::Venue::instruments`], which need no keys either.

use std::fmt::Write;

use serde_json::Value;
use tradeengine_model::Symbol;

use crate::connect::{AdapterConfig, connect_binance, connect_bybit};
use crate::feed::KlineSeries;
use crate::http::{Method, Query};
use crate::{VenueError, VenueErrorKind};

/// Candle lengths both venues serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KlineInterval {
    M1,
    M5,
    M15,
    H1,
    H4,
    D1,
}

impl KlineInterval {
    fn bybit(self) -> &'static str {
        match self {
            Self::M1 => "1",
            Self::M5 => "5",
            Self::M15 => "15",
            Self::H1 => "60",
            Self::H4 => "240",
            Self::D1 => "D",
        }
    }

    fn binance(self) -> &'static str {
        match self {
            Self::M1 => "1m",
            Self::M5 => "5m",
            Self::M15 => "15m",
            Self::H1 => "1h",
            Self::H4 => "4h",
            Self::D1 => "1d",
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// The latest `limit` candles of `symbol` (Bybit at most 1000, Binance at most 1500), oldest
/// first, parsed and checked like a CSV dump.
pub async fn fetch_klines(
    venue: &str,
    base_url: &str,
    symbol: &Symbol,
    interval: KlineInterval,
    limit: u32,
) -> Result<KlineSeries, VenueError> {
    let mut config = AdapterConfig::new(base_url, None);
    config.ws_url = Some("off".into());
    let (venue_name, mut rows): (&'static str, Vec<Value>) = match venue {
        "bybit" => {
            let v = connect_bybit(config).await?;
            let q = Query::new()
                .with("category", "linear")
                .with("symbol", symbol.as_str())
                .with("interval", interval.bybit())
                .with("limit", limit.clamp(1, 1000).to_string());
            let result = v.http().public_get("/v5/market/kline", &q).await?;
            let mut list = result
                .get("list")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            // Bybit lists newest first.
            list.reverse();
            ("bybit", list)
        }
        "binance" => {
            let v = connect_binance(config).await?;
            let q = Query::new()
                .with("symbol", symbol.as_str())
                .with("interval", interval.binance())
                .with("limit", limit.clamp(1, 1500).to_string());
            let weight = if limit > 1000 { 10 } else { 5 };
            let result = v
                .http()
                .request(
                    Method::Get,
                    "/fapi/v1/klines",
                    &q,
                    crate::binance::http::Auth::Public,
                    weight,
                    false,
                )
                .await?;
            ("binance", result.as_array().cloned().unwrap_or_default())
        }
        other => {
            return Err(VenueError::new(
                other.to_string(),
                VenueErrorKind::Unsupported,
                format!("no market data for venue {other:?}"),
            ));
        }
    };
    rows.retain(|r| r.as_array().is_some_and(|a| a.len() >= 6));
    let mut csv = String::from("open_time,open,high,low,close,volume\n");
    for r in &rows {
        let a = r.as_array().map(Vec::as_slice).unwrap_or_default();
        // Writing to a String cannot fail.
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{}",
            text(&a[0]),
            text(&a[1]),
            text(&a[2]),
            text(&a[3]),
            text(&a[4]),
            text(&a[5])
        );
    }
    KlineSeries::parse(&format!("{venue_name} {symbol} klines"), &csv).map_err(|e| {
        VenueError::new(
            venue_name,
            VenueErrorKind::Internal,
            format!("unusable candles: {e}"),
        )
    })
}
