//! Paper venues: the simulated exchange of a `venue = "paper"` account, on a random walk, a
//! recorded CSV or a live venue's public prices.

use std::sync::Arc;

use rust_decimal::Decimal;
use tradeengine_model::{Clock, Timestamp};
use tradeengine_venues::feed::{KlineSeries, RandomWalkConfig, ReplayOptions};
use tradeengine_venues::paper::JsonFileStore;
use tradeengine_venues::{PaperConfig, PaperVenue, PriceFeed, RandomWalkFeed, RecordedFeed};

use super::BuiltVenue;
use crate::config::Config;

/// Builds the venue of a `venue = "paper"` account (exchange accounts: [`super`]).
pub(crate) async fn build_paper_venue(
    config: &Config,
    account: &crate::config::AccountConfig,
    clock: &Arc<dyn Clock>,
    origin: Timestamp,
) -> Result<BuiltVenue, String> {
    let p = account.paper.clone().unwrap_or_default();
    let live_source = tradeengine_venues::VenueId::ALL
        .into_iter()
        .find(|v| p.price_source == v.as_str() || p.price_source.starts_with(&format!("{v}:")));
    let feed: Arc<dyn PriceFeed> = if let Some(path) = p.price_source.strip_prefix("csv:") {
        Arc::new(recorded_feed(path, origin)?)
    } else if let Some(venue) = live_source {
        // Real public market data (no keys): paper fills follow the real market.
        let base = match p.price_source.split_once(':') {
            Some((_, url)) => url.to_string(),
            None => tradeengine_venues::connect::default_base_url(venue, false)
                .unwrap_or_default()
                .to_string(),
        };
        let symbols: Vec<tradeengine_model::Symbol> =
            config.symbols.iter().map(|s| s.symbol.clone()).collect();
        tradeengine_venues::connect::public_price_feed(venue, &base, &symbols)
            .await
            .map_err(|e| format!("price_source {}: {e}", p.price_source))?
    } else {
        let walk = RandomWalkConfig::demo(p.seed, origin);
        Arc::new(RandomWalkFeed::new(walk).map_err(|e| e.to_string())?)
    };
    let paper_config = PaperConfig {
        starting_balance: p.starting_balance,
        taker_fee_rate: p.taker_fee,
        slippage_bps: p.slippage_bps,
        max_leverage: config
            .risk_limits(Some(account))
            .max_leverage
            .max(Decimal::ONE),
        ..PaperConfig::default()
    };
    let path = config
        .engine
        .data_dir
        .join(format!("paper-{}.json", account.name));
    let state_store = JsonFileStore::open(path).map_err(|e| e.to_string())?;
    let venue = PaperVenue::open(paper_config, feed, clock.clone(), Box::new(state_store))
        .map_err(|e| e.to_string())?;
    let venue = Arc::new(venue);
    Ok((venue.clone(), Some(venue)))
}

/// A recorded series for every demo symbol, rescaled so each starts at that symbol's usual price
/// and looped, so one real-market CSV gives realistic moves for all of them.
pub fn recorded_feed(path: &str, origin: Timestamp) -> Result<RecordedFeed, String> {
    let series = KlineSeries::from_path(path).map_err(|e| e.to_string())?;
    let first = series
        .close_at_ms(series.first_open_ms())
        .filter(|c| *c > Decimal::ZERO)
        .ok_or_else(|| format!("{path}: no candles"))?;
    let mut feed = RecordedFeed::new();
    for (symbol, start) in RandomWalkConfig::demo(0, origin).symbols {
        let rescale = start
            .start
            .get()
            .checked_div(first)
            .ok_or_else(|| format!("{path}: cannot rescale"))?;
        let options = ReplayOptions {
            start_at: Some(origin),
            looping: true,
            rescale,
            tick: Some(start.tick),
        };
        feed.insert(symbol, series.clone(), options)
            .map_err(|e| e.to_string())?;
    }
    Ok(feed)
}
