//! `tradeengine audit verify`: the chain, its head, and the heads kept outside the database.
//!
//! The chain alone cannot show that its newest events were deleted or that every hash was
//! recomputed after an edit (see `tradeengine_store::anchor`). So besides walking it, this
//! prints the head to keep elsewhere, checks the engine's anchor file in the data dir, and checks
//! `--expect-head SEQ:HASH` when given. Read-only: the database is opened `mode=ro`.

use std::process::ExitCode;

use tradeengine_engine::config::Overrides;
use tradeengine_store::anchor::{AuditHead, holds_head, read_anchor, verify_against};

use super::{load_config, open_store_read_only};
use crate::args::{AuditCommand, AuditVerifyArgs, Global};

pub async fn run(global: &Global, cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCommand::Verify(args) => verify(global, args).await,
    }
}

async fn verify(global: &Global, args: AuditVerifyArgs) -> anyhow::Result<ExitCode> {
    let (config, _) = load_config(global, Overrides::default())?;
    let store = open_store_read_only(&config).await?;
    let anchor = if args.no_anchor {
        None
    } else {
        read_anchor(&config.engine.data_dir)?
    };
    // Each expected head is checked in turn; the chain walk itself runs once.
    let mut expected: Vec<(String, AuditHead)> = Vec::new();
    if let Some(a) = &anchor {
        expected.push((
            format!(
                "the engine's anchor ({}, written {})",
                config
                    .engine
                    .data_dir
                    .join(tradeengine_store::anchor::ANCHOR_FILE_NAME)
                    .display(),
                a.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            a.head(),
        ));
    }
    if let Some(h) = &args.expect_head {
        expected.push(("--expect-head".to_string(), h.clone()));
    }
    let spinner = crate::progress::spinner("walking the audit hash chain");
    let report = verify_against(&*store, None).await;
    spinner.finish_and_clear();
    let report = report?;
    if let Some((seq, reason)) = &report.first_bad {
        outln!(
            "audit chain BROKEN at event {seq}: {reason} ({} events read)",
            report.events
        );
        return Ok(ExitCode::FAILURE);
    }
    let mut failed = false;
    for (what, head) in &expected {
        match holds_head(&*store, head).await? {
            None => outln!("matches {what}: event {head}"),
            Some((seq, reason)) => {
                failed = true;
                outln!("audit chain BROKEN against {what}: event {seq}: {reason}");
            }
        }
    }
    match (report.head_seq, &report.head) {
        (Some(seq), Some(hash)) => outln!("audit head: {seq}:{hash}"),
        _ => outln!("audit head: none (empty chain)"),
    }
    if failed {
        return Ok(ExitCode::FAILURE);
    }
    if anchor.is_none() && args.expect_head.is_none() {
        outln!(
            "audit chain ok: {} events verified (no anchor file and no --expect-head: deleting the newest events or rewriting the chain from an edit onwards cannot be detected; keep the head above elsewhere)",
            report.events
        );
    } else {
        outln!("audit chain ok: {} events verified", report.events);
    }
    Ok(ExitCode::SUCCESS)
}
