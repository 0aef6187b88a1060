//! Replay prices from a venue's public klines endpoint (no keys): the same candles the engine's
//! strategies and ATR stops read live, fetched page by page over a time range and replayed as
//! a recorded series, one cycle per candle close.

use tradeengine_model::Symbol;
use tradeengine_venues::RecordedFeed;
use tradeengine_venues::feed::{KlineSeries, ReplayOptions};
use tradeengine_venues::market::{KlineInterval, MarketData};

use super::ReplayError;

/// Most requests made for one symbol (a year of minutes is 525,600 candles, 526 pages of 1,000).
const MAX_PAGES: usize = 2_000;

/// The closed candles of each of `symbols` opening in `[from_ms, to_ms)`, as a feed.
pub async fn venue_klines(
    market: &dyn MarketData,
    symbols: &[Symbol],
    interval: KlineInterval,
    from_ms: i64,
    to_ms: i64,
) -> Result<RecordedFeed, ReplayError> {
    if from_ms >= to_ms {
        return Err(ReplayError::Input(format!(
            "an empty time range ({from_ms} ≥ {to_ms})"
        )));
    }
    let venue = market.market_venue();
    let mut feed = RecordedFeed::new();
    for symbol in symbols {
        // Newest page first: a venue answers "the latest N closed at or before a time".
        let mut pages: Vec<Vec<tradeengine_venues::market::Kline>> = Vec::new();
        let mut end = to_ms;
        for _ in 0..MAX_PAGES {
            let page = market
                .candles(symbol, interval, market.max_candles(), end)
                .await
                .map_err(|e| ReplayError::Input(format!("{venue} klines of {symbol}: {e}")))?;
            let Some(first) = page.first().map(|k| k.open_ms) else {
                break;
            };
            let done = first <= from_ms || first >= end;
            pages.push(page);
            if done {
                break;
            }
            end = first;
        }
        let mut csv = String::from("open_time_ms,open,high,low,close,volume\n");
        let mut last = i64::MIN;
        for k in pages.iter().rev().flatten() {
            // Pages overlap by at most their edge candle; each candle once, in order.
            if k.open_ms < from_ms || k.open_ms >= to_ms || k.open_ms <= last {
                continue;
            }
            last = k.open_ms;
            csv.push_str(&format!(
                "{},{},{},{},{},{}\n",
                k.open_ms, k.open, k.high, k.low, k.close, k.volume
            ));
        }
        if last == i64::MIN {
            return Err(ReplayError::Input(format!(
                "{venue} has no {} candles of {symbol} in the range",
                interval.as_str()
            )));
        }
        let series = KlineSeries::parse(&format!("{venue} {symbol} klines"), &csv)
            .map_err(|e| ReplayError::Input(e.to_string()))?;
        feed.insert(symbol.clone(), series, ReplayOptions::default())
            .map_err(|e| ReplayError::Input(e.to_string()))?;
    }
    Ok(feed)
}
