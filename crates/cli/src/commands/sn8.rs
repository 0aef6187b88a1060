//! `tradeengine sn8 rank`: fetch the validator's payload once and print the miner ranking and
//! per-asset depths exactly as the engine's SN8 source would compute them (with the tier read
//! and every unusable row by reason), then the followed trade pairs' rules and mapping
//! suggestions from `/trade-pairs` ([`super::sn8_pairs`]).

use std::process::ExitCode;

use anyhow::Context;
use tradeengine_engine::config::{Overrides, SourceKind};
use tradeengine_signals::sn8::{Sn8Client, fetch_and_rank, format_ranking};

use super::load_config;
use crate::args::{Global, Sn8Args};

pub async fn rank(global: &Global, args: Sn8Args) -> anyhow::Result<ExitCode> {
    let (config, _) = load_config(global, Overrides::default())?;
    let name = match args.source {
        Some(n) => n,
        None => config
            .sources
            .iter()
            .find(|(_, s)| s.kind == SourceKind::Sn8)
            .map(|(n, _)| n.clone())
            .context("no sn8 source in the configuration")?,
    };
    let env = |k: &str| std::env::var(k).ok();
    let (client_cfg, ranking_cfg, mapping) =
        tradeengine_engine::sources::sn8::settings(&name, &config, &env)
            .map_err(anyhow::Error::msg)?;
    let client = Sn8Client::new(client_cfg)?;
    let spinner =
        crate::progress::spinner(&format!("fetching and ranking {name}'s miner positions"));
    let ranking = fetch_and_rank(&client, &ranking_cfg, &mapping, chrono::Utc::now()).await;
    spinner.finish_and_clear();
    let ranking = ranking.with_context(|| format!("source {name}"))?;
    out!("{}", format_ranking(&ranking, args.top));
    match client.fetch_trade_pairs().await {
        Some(Ok(doc)) => out!("{}", super::sn8_pairs::format_pairs(&config, &name, &doc)),
        Some(Err(e)) => out!("\ntrade pairs: /trade-pairs could not be read: {e}\n"),
        None => out!("\ntrade pairs: no /trade-pairs URL (set trade_pairs_url)\n"),
    }
    Ok(ExitCode::SUCCESS)
}
