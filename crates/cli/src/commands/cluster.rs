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
    for n in &nodes {
        let state = if n.heartbeat_ms == 0 {
            "stopped".to_string()
        } else {
            format!("heartbeat {:.1} s ago", n.heartbeat_age_ms as f64 / 1000.0)
        };
        let holds = if n.holds.is_empty() {
            "standby".to_string()
        } else {
            format!("trades {}", n.holds.join(", "))
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
