//! Keeping the audit chain's head outside the database (why: [`tradeengine_store::anchor`]).
//!
//! At start the whole chain is walked and checked against `audit-anchor.json`; a break (an
//! edited, deleted or inserted event, or a chain that no longer reaches the anchored head) is
//! logged at ERROR, sets `tradeengine_audit_chain_ok` to 0 and is recorded as an
//! `audit_chain_broken` event, and the anchor is then left as it is: it is the evidence. The
//! engine keeps running (the chain is a record, not an input to trading).
//!
//! While the chain verifies, the anchor follows the head every [`ANCHOR_EVERY`]: each time the
//! part added since the last anchor is verified from it, then the new head is written
//! atomically, logged (`audit anchor`, with seq and hash: a log shipper keeps a copy off the
//! machine) and exported as `tradeengine_audit_anchor_seq`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tradeengine_model::Clock;
use tradeengine_store::anchor::{AuditAnchor, AuditHead, read_anchor, write_anchor};
use tradeengine_store::{AuditVerification, Store};

/// How often the anchor follows the head.
pub const ANCHOR_EVERY: Duration = Duration::from_secs(5);

/// Verifies the chain once, then anchors its head as it grows, until `stop`.
pub async fn run(
    store: Arc<dyn Store>,
    data_dir: PathBuf,
    clock: Arc<dyn Clock>,
    every: Duration,
    stop: CancellationToken,
) {
    let Some(mut anchored) = verify_at_start(&*store, &data_dir, &*clock).await else {
        return;
    };
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        match advance(&*store, &data_dir, &*clock, anchored.as_ref()).await {
            Ok(head) => anchored = head,
            Err(Broken(reason)) => {
                broken(&*store, &*clock, &reason).await;
                return;
            }
        }
    }
}

/// A last anchor on a clean stop, after the engine's final event, so a stopped engine's chain
/// and its anchor end at the same event. Moves the anchor only if the chain since the anchor
/// file's head verifies (a break was reported when it was found).
pub async fn anchor_now(store: &dyn Store, data_dir: &std::path::Path, clock: &dyn Clock) {
    let anchored = match read_anchor(data_dir) {
        Ok(a) => a.map(|a| a.head()),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the audit anchor; not moved");
            return;
        }
    };
    if let Err(Broken(reason)) = advance(store, data_dir, clock, anchored.as_ref()).await {
        tracing::error!(%reason, "audit chain BROKEN; the anchor is kept as evidence");
    }
}

struct Broken(String);

/// Walks the whole chain against the anchor file. `Some(head anchored)` when it verifies
/// (`Some(None)`: no anchor yet), `None` when it is broken or cannot be read.
async fn verify_at_start(
    store: &dyn Store,
    data_dir: &std::path::Path,
    clock: &dyn Clock,
) -> Option<Option<AuditHead>> {
    let anchor = match read_anchor(data_dir) {
        Ok(a) => a,
        Err(e) => {
            broken(store, clock, &e.to_string()).await;
            return None;
        }
    };
    let expect = anchor.as_ref().map(AuditAnchor::head);
    match tradeengine_store::anchor::verify_against(store, expect.as_ref()).await {
        Ok(AuditVerification {
            first_bad: Some((seq, reason)),
            ..
        }) => {
            broken(store, clock, &format!("event {seq}: {reason}")).await;
            None
        }
        Ok(v) => {
            metrics::gauge!("tradeengine_audit_chain_ok").set(1.0);
            tracing::info!(events = v.events, head = ?v.head_seq, "audit chain verified");
            Some(expect)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot verify the audit chain at start; not anchoring");
            None
        }
    }
}

/// Verifies what was appended since `anchored` and moves the anchor to the head.
async fn advance(
    store: &dyn Store,
    data_dir: &std::path::Path,
    clock: &dyn Clock,
    anchored: Option<&AuditHead>,
) -> Result<Option<AuditHead>, Broken> {
    if let Some(fault) = store.fault() {
        // A lost database's head is not one to vouch for.
        tracing::warn!(%fault, "store fault; audit anchor not moved");
        return Ok(anchored.cloned());
    }
    let head = match store.audit_head().await {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the audit head; anchor not moved");
            return Ok(anchored.cloned());
        }
    };
    if head.as_ref() == anchored {
        return Ok(head);
    }
    let Some(head) = head else {
        return Err(Broken(format!(
            "the chain is empty but event {} was anchored: every event was deleted",
            anchored.map_or(0, |a| a.seq)
        )));
    };
    let verified = match anchored {
        Some(a) => store.verify_audit_from(a).await,
        None => store.verify_audit().await,
    };
    match verified {
        Ok(v) if !v.is_ok() => {
            let (seq, reason) = v.first_bad.unwrap_or_default();
            return Err(Broken(format!("event {seq}: {reason}")));
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "cannot verify the new audit events; anchor not moved");
            return Ok(anchored.cloned());
        }
    }
    let anchor = AuditAnchor {
        seq: head.seq,
        hash: head.hash.clone(),
        at: clock.now(),
    };
    let written = {
        let dir = data_dir.to_path_buf();
        tokio::task::spawn_blocking(move || write_anchor(&dir, &anchor)).await
    };
    match written {
        Ok(Ok(())) => {
            tracing::info!(seq = head.seq, hash = %head.hash, "audit anchor");
            metrics::gauge!("tradeengine_audit_anchor_seq").set(head.seq as f64);
            Ok(Some(head))
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot write the audit anchor");
            Ok(anchored.cloned())
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot write the audit anchor");
            Ok(anchored.cloned())
        }
    }
}

/// Reports a broken chain: ERROR log, gauge at 0, an audit event.
async fn broken(store: &dyn Store, clock: &dyn Clock, reason: &str) {
    tracing::error!(%reason, "audit chain BROKEN: the trail was edited, truncated or rewritten; the anchor is kept as evidence (run `tradeengine audit verify`)");
    metrics::gauge!("tradeengine_audit_chain_ok").set(0.0);
    let payload = crate::audit_payload::AuditPayload::AuditChainBroken { reason };
    if let Err(e) = payload.record(store, None, None, clock.now()).await {
        tracing::warn!(error = %e, "cannot record the broken audit chain");
    }
}
