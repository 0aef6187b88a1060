//! `tradeengine cluster status`: who trades which account when several engines share one
//! PostgreSQL database (`engine.cluster`), read from the database (the same answer whichever
//! process's configuration is used).

use std::process::ExitCode;

use tradeengine_engine::config::Overrides;

use super::load_config;
use crate::args::Global;
use crate::cli::ClusterStatusArgs;

pub async fn status(global: &Global, args: ClusterStatusArgs) -> anyhow::Result<ExitCode> {
    let (config, _) = load_config(global, Overrides::default())?;
    let url = config.database_url();
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        anyhow::bail!(
            "no cluster here: engine.database_url is not PostgreSQL (engine.cluster needs one)"
        );
    }
    let (nodes, leases) = tradeengine_store::cluster::status(&url).await?;
    let ttl_ms =
        i64::try_from(config.engine.lease_ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let nodes = tradeengine_engine::cluster::view::by_leases(&nodes, &leases, ttl_ms);
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "cluster": config.engine.cluster, "nodes": nodes, "leases": leases,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    outln!("processes:");
    if nodes.is_empty() {
        outln!("  (none has run in a cluster on this database)");
    }
    for v in &nodes {
        let n = &v.node;
        let state = if n.heartbeat_ms == 0 {
            "stopped".to_string()
        } else if v.stale {
            format!(
                "NO heartbeat for {:.1} s (killed, suspended or cut off)",
                n.heartbeat_age_ms as f64 / 1000.0
            )
        } else {
            format!("heartbeat {:.1} s ago", n.heartbeat_age_ms as f64 / 1000.0)
        };
        let holds = match (v.holds.is_empty(), n.heartbeat_ms == 0 || v.stale) {
            (false, _) => format!("trades {}", v.holds.join(", ")),
            (true, false) => "standby".to_string(),
            (true, true) => "trades nothing".to_string(),
        };
        outln!(
            "  {}  pid {} on {}  {state}  {holds}",
            n.node_id,
            n.pid,
            n.host
        );
    }
    outln!("leases:");
    for l in &leases {
        let state = if l.expires_in_ms > 0 {
            format!("expires in {:.1} s", l.expires_in_ms as f64 / 1000.0)
        } else {
            "expired (free)".to_string()
        };
        outln!(
            "  {}  held by {} (pid {})  token {}  {state}",
            l.account,
            l.holder,
            l.pid,
            l.token
        );
    }
    Ok(ExitCode::SUCCESS)
}
