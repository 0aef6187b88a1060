//! `tradeengine audit verify`.

use std::process::ExitCode;

use tradeengine_engine::config::Overrides;

use super::{load_config, open_store};
use crate::cli::{AuditCommand, Global};

pub async fn run(global: &Global, cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCommand::Verify => {
            let (config, _) = load_config(global, Overrides::default())?;
            let store = open_store(&config).await?;
            let spinner = crate::progress::spinner("walking the audit hash chain");
            let report = store.verify_audit().await;
            spinner.finish_and_clear();
            let report = report?;
            match &report.first_bad {
                None => {
                    println!("audit chain ok: {} events verified", report.events);
                    Ok(ExitCode::SUCCESS)
                }
                Some((seq, reason)) => {
                    println!(
                        "audit chain BROKEN at event {seq}: {reason} ({} events read)",
                        report.events
                    );
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}
