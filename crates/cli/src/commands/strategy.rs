//! `tradeengine strategy run NAME --dry-run`: replay the last candles of the strategy's candle
//! source through it and print each decision (action, size, stops, who decided, rationale)
//! without trading. The source is whatever the configuration names: a paper account's walk or
//! CSV feed, a paper account's live price source (that venue's klines), or a live venue
//! account's public klines (a simulator's too). The position is tracked on paper only, so the
//! single-position rule and CLOSE decisions read as they would live.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use tradeengine_engine::candles::{CandleSource, FeedCandles, VenueCandles, account_base_url};
use tradeengine_engine::config::{Config, Overrides, SourceKind};
use tradeengine_engine::sources::strategy::{StrategySettings, StrategySource, settings};
use tradeengine_model::{SourceId, Symbol, Timestamp};
use tradeengine_signals::strategy::{Action, Origin, Position};
use tradeengine_venues::VenueId;
use tradeengine_venues::market::KlineInterval;
use tradeengine_venues::{PriceFeed, RandomWalkFeed, feed::RandomWalkConfig};

use super::load_config;
use crate::args::{Global, StrategyRunArgs};

/// The candle source the strategy's settings name, with prices counted from `origin` for the
/// generated and recorded feeds (so the replay has history behind `now`).
fn candle_source(
    config: &Config,
    settings: &StrategySettings,
    origin: Timestamp,
) -> anyhow::Result<Arc<dyn CandleSource>> {
    let account = tradeengine_engine::candles::candle_account(
        config,
        settings.account.as_deref(),
        settings.interval_secs,
    )
    .map_err(anyhow::Error::msg)?;
    let klines = |venue: VenueId, base: &str| -> anyhow::Result<Arc<dyn CandleSource>> {
        let interval = KlineInterval::from_secs(settings.interval_secs).with_context(|| {
            format!(
                "{venue} klines have no {} s interval",
                settings.interval_secs
            )
        })?;
        Ok(Arc::new(VenueCandles::new(venue, base, interval)))
    };
    if let Some(venue) = account.venue.exchange() {
        let base = account_base_url(config, account).map_err(anyhow::Error::msg)?;
        return klines(venue, &base);
    }
    let paper = account.paper.clone().unwrap_or_default();
    let source = paper.price_source.as_str();
    let feed: Arc<dyn PriceFeed> = if source == "walk" {
        Arc::new(RandomWalkFeed::new(RandomWalkConfig::demo(
            paper.seed, origin,
        ))?)
    } else if let Some(path) = source.strip_prefix("csv:") {
        Arc::new(
            tradeengine_engine::runtime::recorded_feed(path, origin).map_err(anyhow::Error::msg)?,
        )
    } else {
        let (name, url) = source.split_once(':').unwrap_or((source, ""));
        let venue =
            VenueId::parse(name).with_context(|| format!("unknown price_source {source:?}"))?;
        let url = match url {
            "" => tradeengine_venues::default_base_url(venue, false)
                .with_context(|| format!("unknown price_source {source:?}"))?
                .to_string(),
            url => url.to_string(),
        };
        return klines(venue, &url);
    };
    let name = match source {
        "walk" => format!("account {}'s walk feed (seed {})", account.name, paper.seed),
        _ => format!("account {}'s {source} feed", account.name),
    };
    Ok(Arc::new(FeedCandles {
        feed,
        samples: settings.samples_per_candle,
        instruments: None,
        name,
    }))
}

pub async fn run(global: &Global, args: StrategyRunArgs) -> anyhow::Result<ExitCode> {
    if !args.dry_run {
        bail!("only --dry-run is supported here; `tradeengine run` trades strategy sources");
    }
    let (config, _) = load_config(global, Overrides::default())?;
    let name = &args.name;
    let source = config
        .sources
        .get(name)
        .with_context(|| format!("no source {name} in the configuration"))?;
    if source.kind != SourceKind::Strategy {
        bail!(
            "source {name} is a {} source, not a strategy",
            source.kind.as_str()
        );
    }
    let env = |k: &str| std::env::var(k).ok();
    let (settings, agent) = settings(name, &config, &env).map_err(anyhow::Error::msg)?;
    let interval = chrono::Duration::seconds(i64::try_from(settings.interval_secs)?);
    let now = chrono::Utc::now();
    let history = i64::try_from(settings.window)? + i64::from(args.candles) + 1;
    let origin = now - interval * i32::try_from(history)?;
    let candles = candle_source(&config, &settings, origin)?;
    let symbols: Vec<Symbol> = match &args.symbol {
        Some(s) => vec![Symbol::new(s)?],
        None => config
            .symbols
            .iter()
            .filter(|s| s.weights.contains_key(name.as_str()))
            .map(|s| s.symbol.clone())
            .collect(),
    };
    let llm = if agent.llm.is_some() {
        "LLM, fallback rules"
    } else {
        "fallback rules (no LLM)"
    };
    outln!(
        "strategy {name}: {}s candles from {}, decided by {llm}; dry run, nothing is traded",
        settings.interval_secs,
        candles.describe()
    );
    let strategy = StrategySource::new(SourceId::new(name)?, settings, agent, candles);
    for symbol in symbols {
        replay(&strategy, &symbol, args.candles, now, interval).await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Decides each of the last `candles` candles of `symbol` in turn, printing each decision, then
/// the counts of each action. The position is tracked on paper.
async fn replay(
    strategy: &StrategySource,
    symbol: &Symbol,
    candles: u32,
    now: Timestamp,
    interval: chrono::Duration,
) -> anyhow::Result<()> {
    let mut position = Position::Flat;
    let mut counts = [0u32; 4];
    for k in (0..candles).rev() {
        let at = now - interval * i32::try_from(k)?;
        let Some(report) = strategy.decide(symbol, position, at).await else {
            continue;
        };
        let d = &report.outcome.decision;
        let by = match &report.outcome.origin {
            Origin::Llm { model } => format!("llm {model}"),
            Origin::Fallback { reason } => format!("fallback: {reason}"),
        };
        let candle = chrono::DateTime::from_timestamp_millis(report.candle_open_ms)
            .map(|t| t.format("%H:%M:%S").to_string())
            .unwrap_or_default();
        let price = report.signal.raw["market"]["price"]
            .as_f64()
            .unwrap_or_default();
        outln!(
            "{candle} {symbol} {price:>12.4} {:<5} size {:>5}% SL {:>5}% TP {:>5}% [{by}] {}",
            format!("{:?}", d.action).to_uppercase(),
            d.size_pct,
            d.stop_loss_pct,
            d.take_profit_pct,
            d.rationale
        );
        counts[d.action as usize] += 1;
        position = match (d.action, position) {
            (Action::Long, Position::Flat) => Position::Long,
            (Action::Short, Position::Flat) => Position::Short,
            (Action::Close, _) => Position::Flat,
            (_, p) => p,
        };
    }
    outln!(
        "{symbol}: {} long, {} short, {} close, {} hold",
        counts[0],
        counts[1],
        counts[2],
        counts[3]
    );
    Ok(())
}
