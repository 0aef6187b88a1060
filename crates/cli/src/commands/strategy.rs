//! `tradeengine strategy run NAME --dry-run`: replay the last candles of the paper account's
//! price feed through a strategy source and print each decision (action, size, stops, who
//! decided, rationale) without trading. The position is tracked on paper only, so the
//! single-position rule and CLOSE decisions read as they would live.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use tradeengine_engine::config::{Overrides, SourceKind, VenueKind};
use tradeengine_engine::sources::strategy::{FeedCandles, StrategySource, settings};
use tradeengine_model::{SourceId, Symbol};
use tradeengine_signals::strategy::{Action, Origin, Position};
use tradeengine_venues::{PriceFeed, RandomWalkFeed, feed::RandomWalkConfig};

use super::load_config;
use crate::cli::{Global, StrategyRunArgs};

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
    let account = config
        .accounts
        .iter()
        .filter(|a| a.venue == VenueKind::Paper)
        .find(|a| settings.account.as_ref().is_none_or(|n| *n == a.name))
        .context("a dry run replays a paper account's feed; none is configured")?;
    let paper = account.paper.clone().unwrap_or_default();
    if paper.price_source != "walk" {
        bail!(
            "dry runs replay the random-walk feed; account {} uses price_source {:?}",
            account.name,
            paper.price_source
        );
    }
    let interval = chrono::Duration::seconds(i64::try_from(settings.interval_secs)?);
    let now = chrono::Utc::now();
    let history = i64::try_from(settings.window)? + i64::from(args.candles) + 1;
    let origin = now - interval * i32::try_from(history)?;
    let feed: Arc<dyn PriceFeed> = Arc::new(RandomWalkFeed::new(RandomWalkConfig::demo(
        paper.seed, origin,
    ))?);
    let symbols: Vec<Symbol> = match &args.symbol {
        Some(s) => vec![Symbol::new(s)?],
        None => config
            .symbols
            .iter()
            .filter(|s| s.weights.contains_key(name.as_str()))
            .map(|s| Symbol::new(&s.symbol))
            .collect::<Result<_, _>>()?,
    };
    let llm = if agent.llm.is_some() {
        "LLM, fallback rules"
    } else {
        "fallback rules (no LLM)"
    };
    println!(
        "strategy {name}: {}s candles from account {}'s walk feed (seed {}), decided by {llm}; dry run, nothing is traded",
        settings.interval_secs, account.name, paper.seed
    );
    let samples = settings.samples_per_candle;
    let strategy = StrategySource::new(
        SourceId::new(name)?,
        settings,
        agent,
        Arc::new(FeedCandles { feed, samples }),
    );
    for symbol in symbols {
        let mut position = Position::Flat;
        let mut counts = [0u32; 4];
        for k in (0..args.candles).rev() {
            let at = now - interval * i32::try_from(k)?;
            let Some(report) = strategy.decide(&symbol, position, at).await else {
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
            println!(
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
        println!(
            "{symbol}: {} long, {} short, {} close, {} hold",
            counts[0], counts[1], counts[2], counts[3]
        );
    }
    Ok(ExitCode::SUCCESS)
}
