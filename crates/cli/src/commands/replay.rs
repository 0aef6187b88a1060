//! `tradeengine replay`: recorded signals against recorded prices through the core and the
//! paper venue (see `tradeengine_engine::replay`), one weight set or a sweep of many.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use rust_decimal::Decimal;
use tradeengine_engine::config::Overrides;
use tradeengine_engine::pnl::{GroupBy, PnlLine};
use tradeengine_engine::replay::{
    ReplaySetup, candle_times, replay, replay_recorded, sn8_snapshots, stored_session,
    tradingview_alerts, venue_klines,
};
use tradeengine_engine::replay_sweep::{SetSummary, grid, summarise, sweep, sweep_recorded};
use tradeengine_model::{Signal, SourceId, Symbol};
use tradeengine_venues::feed::{KlineSeries, ReplayOptions};
use tradeengine_venues::{PriceFeed, RecordedFeed};

mod live;

use super::{load_config, open_store_read_only};
use crate::args::{Global, ReplayArgs};
use crate::output::Table;
use live::compare_live;

pub async fn run(global: &Global, args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let (config, _) = load_config(global, Overrides::default())?;
    let account = match &args.account {
        Some(name) => {
            super::configured_account(&config, name)?;
            config.account(name).context("account")?
        }
        None => config
            .accounts
            .first()
            .context("the configuration has no account to take the replay's settings from")?,
    };
    let setup = ReplaySetup::from_config(&config, account)?;
    let account_name = setup.account.clone();
    let needs_store =
        (args.prices.is_empty() && args.prices_from.is_none()) || args.signals.is_none();
    let (stored, store) = if needs_store {
        let store = open_store_read_only(&config).await?;
        (
            Some(stored_session(&*store, &account_name).await?),
            Some(store),
        )
    } else {
        (None, None)
    };
    // The store's own session (its signals at its readings): each cycle blends the signals the
    // live cycle had blended, as its reading lists them.
    let own_session =
        args.signals.is_none() && args.prices.is_empty() && args.prices_from.is_none();
    let own = stored.as_ref().filter(|_| own_session);
    let (feed, times): (Arc<dyn PriceFeed>, Vec<_>) = match &stored {
        _ if args.prices_from.is_some() => {
            let symbols: Vec<Symbol> = setup.symbols.iter().map(|s| s.symbol.clone()).collect();
            let feed = venue_prices(&args, &symbols).await?;
            let times = candle_times(&feed, &symbols);
            (Arc::new(feed), times)
        }
        Some(session) if args.prices.is_empty() => {
            if session.times.is_empty() {
                bail!(
                    "the store holds no mark readings of account {account_name} (give --prices, or run the engine first)"
                );
            }
            (Arc::new(session.feed.clone()), session.times.clone())
        }
        _ => {
            let (feed, symbols) = prices(&args.prices)?;
            let times = candle_times(&feed, &symbols);
            (Arc::new(feed), times)
        }
    };
    let signals = match (&args.signals, &stored) {
        (Some(path), _) => signals_from(path, &args.signals_format, &config)?,
        (None, Some(session)) => session.signals.clone(),
        (None, None) => bail!("no signals to replay"),
    };
    if let Some(spec) = &args.sweep {
        let sets = grid(&parse_axes(spec)?);
        if sets.is_empty() {
            bail!("--sweep {spec:?} gives no weight set summing to 1 or less");
        }
        let bar = crate::progress::bar(sets.len() as u64, "replay sweep");
        let results = match own {
            Some(session) => sweep_recorded(&setup, &sets, session, &|| bar.inc(1)),
            None => sweep(&setup, &sets, &signals, feed, &times, &|| bar.inc(1)),
        };
        bar.finish_and_clear();
        let summaries = results.into_iter().collect::<Result<Vec<_>, _>>()?;
        if let Some(dir) = &args.out {
            write_outputs(dir, &summaries)?;
        }
        if args.json {
            outln!("{}", serde_json::to_string_pretty(&summaries)?);
        } else {
            out!("{}", sweep_table(&summaries).render());
            match best(&summaries) {
                Some(best) => outln!("best by Sharpe: {}", weights_text(&best.weights)),
                None => {
                    if let Some(note) = summaries.first().and_then(short_span) {
                        outln!("no Sharpe ratio: {note}");
                    }
                }
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let setup = match &args.weights {
        Some(w) => setup.with_weights(&parse_weights(w)?),
        None => setup,
    };
    let outcome = match own {
        Some(session) => replay_recorded(&setup, session).await?,
        None => replay(&setup, &signals, feed, &times).await?,
    };
    let weights = setup
        .symbols
        .first()
        .map(|s| s.weights.clone())
        .unwrap_or_default();
    let summary = summarise(&weights, &outcome, setup.paper.starting_balance)?;
    // Against the live session it replays: only the store's own session with its own weights.
    let live = match (&store, own_session && args.weights.is_none()) {
        (Some(store), true) => Some(compare_live(&**store, &account_name, &outcome).await?),
        _ => None,
    };
    if args.json {
        let mut json = serde_json::to_value(&summary)?;
        if let Some(o) = json.as_object_mut() {
            // Every symbol's weights (`weights` is the first symbol's, kept for scripts).
            let by_symbol: BTreeMap<String, &BTreeMap<SourceId, Decimal>> = setup
                .symbols
                .iter()
                .map(|s| (s.symbol.to_string(), &s.weights))
                .collect();
            o.insert("weights_by_symbol".into(), serde_json::to_value(by_symbol)?);
            o.insert(
                "orders".into(),
                serde_json::Value::from(outcome.orders.len() as u64),
            );
            o.insert(
                "fills".into(),
                serde_json::Value::from(outcome.fills.len() as u64),
            );
            if let Some(live) = &live {
                o.insert("live".into(), live.json());
            }
        }
        outln!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{} signals ({} refused by sleeve rules), {} cycles, {} orders, {} fills",
        signals.len(),
        outcome.refused,
        times.len(),
        outcome.orders.len(),
        outcome.fills.len()
    );
    let (lines, total) = outcome
        .ledger
        .report(None, &outcome.marks, GroupBy::Source)?;
    out!("{}", pnl_table(&lines, &total).render());
    outln!(
        "return {}%, max drawdown {}%, Sharpe {}",
        pct(summary.return_fraction),
        pct(summary.max_drawdown),
        match (summary.sharpe, short_span(&summary)) {
            (Some(s), _) => format!("{s:.2}"),
            (None, Some(note)) => format!("- ({note})"),
            (None, None) => "-".to_string(),
        }
    );
    if let Some(live) = &live {
        for line in live.lines() {
            outln!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Why a summary has no Sharpe ratio, when it is the curve's span.
fn short_span(summary: &SetSummary) -> Option<String> {
    let min = tradeengine_engine::replay_sweep::MIN_SHARPE_SPAN;
    (summary.span_secs < min.num_seconds()).then(|| {
        format!(
            "the equity curve spans {}; annualised, less than {} of returns means nothing",
            duration_text(summary.span_secs),
            duration_text(min.num_seconds())
        )
    })
}

fn duration_text(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7_200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3_600),
        s => format!("{} days", s / 86_400),
    }
}

/// `--prices-from VENUE[:URL] --from T --to T --interval I`: the venue's public klines.
async fn venue_prices(args: &ReplayArgs, symbols: &[Symbol]) -> anyhow::Result<RecordedFeed> {
    use tradeengine_venues::market::KlineInterval;
    let spec = args.prices_from.as_deref().unwrap_or_default();
    let (name, url) = match spec.split_once(':') {
        Some((name, url)) => (name, Some(url.to_string())),
        None => (spec, None),
    };
    let venue = tradeengine_venues::VenueId::parse(name)
        .with_context(|| format!("--prices-from {spec:?}: not a venue this engine knows"))?;
    let url = match url {
        Some(u) => u,
        None => tradeengine_venues::connect::default_base_url(venue, false)
            .with_context(|| {
                format!("--prices-from {name}: no public host known; give {name}:URL")
            })?
            .to_string(),
    };
    let time = |flag: &str, t: Option<&str>| -> anyhow::Result<i64> {
        let t = t.with_context(|| format!("--prices-from needs --{flag}"))?;
        Ok(chrono::DateTime::parse_from_rfc3339(t)
            .with_context(|| format!("--{flag} {t:?}: not an RFC 3339 time"))?
            .timestamp_millis())
    };
    let (from, to) = (
        time("from", args.from.as_deref())?,
        time("to", args.to.as_deref())?,
    );
    let interval = KlineInterval::parse(&args.interval)
        .map_err(|e| anyhow::anyhow!("--interval {:?}: {e}", args.interval))?;
    let market = tradeengine_venues::connect::public_market(venue, &url)
        .await
        .with_context(|| format!("cannot reach {name}'s public market data"))?;
    Ok(venue_klines(&*market.candles, symbols, interval, from, to).await?)
}

/// `SYMBOL=PATH[@RESCALE]` per symbol.
fn prices(specs: &[String]) -> anyhow::Result<(RecordedFeed, Vec<Symbol>)> {
    let mut feed = RecordedFeed::new();
    let mut symbols = Vec::new();
    for spec in specs {
        let (symbol, rest) = spec
            .split_once('=')
            .with_context(|| format!("--prices {spec:?}: expected SYMBOL=PATH[@RESCALE]"))?;
        let (path, rescale) = match rest.rsplit_once('@') {
            Some((p, r)) => (
                p,
                r.parse::<Decimal>()
                    .with_context(|| format!("--prices {spec:?}: rescale {r:?}"))?,
            ),
            None => (rest, Decimal::ONE),
        };
        let symbol = Symbol::new(symbol).with_context(|| format!("--prices {spec:?}"))?;
        let series = KlineSeries::from_path(path)?;
        feed.insert(
            symbol.clone(),
            series,
            ReplayOptions {
                rescale,
                ..ReplayOptions::default()
            },
        )?;
        symbols.push(symbol);
    }
    Ok((feed, symbols))
}

/// The signals of a file in `format` (see `ReplayArgs::signals_format`).
fn signals_from(
    path: &Path,
    format: &str,
    config: &tradeengine_engine::config::Config,
) -> anyhow::Result<Vec<Signal>> {
    let read =
        || std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()));
    match format.split_once(':') {
        None if format == "canonical" => signals_file(path),
        Some(("tradingview", source)) => Ok(tradingview_alerts(&read()?, source, config)?),
        Some(("sn8", source)) => Ok(sn8_snapshots(&read()?, source, config)?),
        _ => bail!(
            "--signals-format {format:?}: expected canonical, tradingview:SOURCE or sn8:SOURCE"
        ),
    }
}

/// A JSON array of signals, or one per line.
fn signals_file(path: &Path) -> anyhow::Result<Vec<Signal>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(&text)
            .with_context(|| format!("{}: not a JSON array of signals", path.display()));
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l)
                .with_context(|| format!("{} line {}: not a signal", path.display(), n + 1))
        })
        .collect()
}

fn parse_weights(spec: &str) -> anyhow::Result<BTreeMap<SourceId, Decimal>> {
    spec.split(',')
        .map(|pair| {
            let (s, w) = pair
                .split_once('=')
                .with_context(|| format!("--weights {pair:?}: expected SRC=W"))?;
            let w: Decimal = w
                .trim()
                .parse()
                .with_context(|| format!("--weights {pair:?}: weight"))?;
            Ok((
                SourceId::new(s.trim()).with_context(|| format!("--weights {pair:?}"))?,
                w,
            ))
        })
        .collect()
}

/// `SRC=FROM:TO:STEP` or `SRC=W|W|…`, comma separated.
fn parse_axes(spec: &str) -> anyhow::Result<Vec<(SourceId, Vec<Decimal>)>> {
    let mut axes = Vec::new();
    for part in spec.split(',') {
        let (s, values) = part
            .split_once('=')
            .with_context(|| format!("--sweep {part:?}: expected SRC=FROM:TO:STEP or SRC=W|W"))?;
        let num = |x: &str| {
            x.trim()
                .parse::<Decimal>()
                .with_context(|| format!("--sweep {part:?}: {x:?} is not a number"))
        };
        let list = match values.split(':').collect::<Vec<_>>()[..] {
            [from, to, step] => {
                let (from, to, step) = (num(from)?, num(to)?, num(step)?);
                if step <= Decimal::ZERO || to < from {
                    bail!("--sweep {part:?}: needs FROM ≤ TO and STEP > 0");
                }
                let mut v = Vec::new();
                let mut x = from;
                while x <= to && v.len() <= 1_000 {
                    v.push(x);
                    x += step;
                }
                v
            }
            [_] => values.split('|').map(num).collect::<anyhow::Result<_>>()?,
            _ => bail!("--sweep {part:?}: expected SRC=FROM:TO:STEP or SRC=W|W"),
        };
        axes.push((
            SourceId::new(s.trim()).with_context(|| format!("--sweep {part:?}"))?,
            list,
        ));
    }
    Ok(axes)
}

fn pct(x: Decimal) -> String {
    (x * Decimal::from(100)).round_dp(2).normalize().to_string()
}

fn money(x: Decimal) -> String {
    x.round_dp(2).normalize().to_string()
}

fn weights_text(w: &BTreeMap<SourceId, Decimal>) -> String {
    w.iter()
        .map(|(s, v)| format!("{s}={}", v.normalize()))
        .collect::<Vec<_>>()
        .join(",")
}

fn pnl_table(lines: &[PnlLine], total: &PnlLine) -> Table {
    let mut t = Table::new(&[
        ("source", false),
        ("pnl", true),
        ("realised", true),
        ("unrealised", true),
        ("fees", true),
        ("slippage", true),
        ("netting saved", true),
        ("turnover", true),
    ]);
    for l in lines.iter().chain(std::iter::once(total)) {
        t.row(vec![
            l.name.clone(),
            money(l.pnl),
            money(l.realised),
            money(l.unrealised),
            money(l.fees),
            money(l.slippage),
            money(l.netting_saving),
            money(l.turnover),
        ]);
    }
    t
}

fn sweep_table(sets: &[SetSummary]) -> Table {
    let mut t = Table::new(&[
        ("weights", false),
        ("return %", true),
        ("max dd %", true),
        ("sharpe", true),
        ("fees", true),
        ("turnover", true),
        ("pnl by source", false),
    ]);
    for s in sets {
        t.row(vec![
            weights_text(&s.weights),
            pct(s.return_fraction),
            pct(s.max_drawdown),
            s.sharpe.map_or_else(|| "-".into(), |x| format!("{x:.2}")),
            money(s.fees),
            money(s.turnover),
            s.by_source
                .iter()
                .map(|l| format!("{}={}", l.name, money(l.pnl)))
                .collect::<Vec<_>>()
                .join(" "),
        ]);
    }
    t
}

/// The set with the highest Sharpe ratio (sets without one are not ranked).
fn best(sets: &[SetSummary]) -> Option<&SetSummary> {
    sets.iter().filter(|s| s.sharpe.is_some()).max_by(|a, b| {
        a.sharpe
            .partial_cmp(&b.sharpe)
            .unwrap_or(std::cmp::Ordering::Equal)
    })
}

fn write_outputs(dir: &Path, sets: &[SetSummary]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut csv = String::from(
        "weights,return,max_drawdown,sharpe,pnl,fees,turnover,netting_saving,pnl_by_source\n",
    );
    for s in sets {
        csv.push_str(&format!(
            "\"{}\",{},{},{},{},{},{},{},\"{}\"\n",
            weights_text(&s.weights),
            s.return_fraction,
            s.max_drawdown,
            s.sharpe.map_or_else(String::new, |x| x.to_string()),
            s.pnl,
            s.fees,
            s.turnover,
            s.netting_saving,
            s.by_source
                .iter()
                .map(|l| format!("{}={}", l.name, l.pnl))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    let csv_path = dir.join("sweep.csv");
    std::fs::write(&csv_path, csv)
        .with_context(|| format!("cannot write {}", csv_path.display()))?;
    let svg_path = dir.join("equity.svg");
    super::replay_chart::equity_svg(&svg_path, sets)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_axes_take_ranges_and_lists() {
        let axes = parse_axes("a=0:1:0.5,b=0.2|0.8").unwrap();
        assert_eq!(
            axes[0].1,
            vec![Decimal::ZERO, Decimal::new(5, 1), Decimal::ONE]
        );
        assert_eq!(axes[1].1, vec![Decimal::new(2, 1), Decimal::new(8, 1)]);
        assert!(parse_axes("a=1:0:0.5").is_err());
        assert!(parse_axes("a").is_err());
    }

    #[test]
    fn weights_parse_pairs() {
        let w = parse_weights("a=0.6, b=0.4").unwrap();
        assert_eq!(w[&SourceId::new("b").unwrap()], Decimal::new(4, 1));
        assert!(parse_weights("a:0.6").is_err());
    }
}
