use tradeengine_model::Decimal;
use tradeengine_store::{AuditKind, Store};

use crate::fixtures::{at, signal, sleeve_for};
use crate::harness::Backend;

/// Ten events of mixed kinds; returns their seqs 1..=10.
async fn ten_events(s: &dyn Store) {
    for i in 0..4 {
        let sig = signal(&format!("sig-{i}"), "tv", &format!("k{i}"), i);
        s.record_signal(&sig, Some(&sleeve_for(&sig)))
            .await
            .unwrap();
    }
    s.audit(
        AuditKind::KillSwitch,
        Some("acct"),
        None,
        serde_json::json!({ "on": true, "by": "operator" }),
        at(50),
    )
    .await
    .unwrap();
    s.audit(
        AuditKind::EngineStopped,
        None,
        None,
        serde_json::json!({}),
        at(60),
    )
    .await
    .unwrap();
}

pub async fn chain_verifies_and_pages(b: &Backend) {
    let s = b.store.as_ref();
    let empty = s.verify_audit().await.unwrap();
    assert_eq!((empty.events, empty.first_bad, empty.head), (0, None, None));

    ten_events(s).await;
    let v = s.verify_audit().await.unwrap();
    assert!(v.is_ok(), "{v:?}");
    assert_eq!(v.events, 10);

    let all = s.audit_events(0, 100).await.unwrap();
    let seqs: Vec<i64> = all.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=10).collect::<Vec<_>>());
    assert_eq!(v.head.as_deref(), Some(all[9].hash.as_str()));
    let page = s.audit_events(4, 3).await.unwrap();
    assert_eq!(page, all[4..7].to_vec());

    let event = s
        .audit(
            AuditKind::ConfigChanged,
            None,
            Some("ETHUSDT"),
            serde_json::json!({ "z": 1, "a": Decimal::new(150, 2) }),
            at(70),
        )
        .await
        .unwrap();
    assert_eq!(event.seq, 11);
    assert_eq!(s.audit_events(10, 5).await.unwrap(), vec![event.clone()]);
    assert_eq!(event.payload["a"], "1.50");
    assert!(s.verify_audit().await.unwrap().is_ok());
}

pub async fn edited_payload_is_named(b: &Backend) {
    ten_events(b.store.as_ref()).await;
    let n = b
        .raw
        .exec("UPDATE audit_events SET payload = replace(payload, 'true', 'false') WHERE seq = 9")
        .await;
    assert_eq!(n, 1);
    let v = b.store.verify_audit().await.unwrap();
    let (seq, reason) = v.first_bad.unwrap();
    assert_eq!(seq, 9);
    assert!(reason.contains("edited"), "{reason}");
}

pub async fn edited_kind_or_time_is_named(b: &Backend) {
    ten_events(b.store.as_ref()).await;
    b.raw
        .exec("UPDATE audit_events SET at_ms = at_ms + 1 WHERE seq = 7")
        .await;
    assert_eq!(
        b.store.verify_audit().await.unwrap().first_bad.map(|f| f.0),
        Some(7)
    );
    b.raw
        .exec("UPDATE audit_events SET kind = 'fill' WHERE seq = 3")
        .await;
    assert_eq!(
        b.store.verify_audit().await.unwrap().first_bad.map(|f| f.0),
        Some(3)
    );
}

pub async fn deleted_event_is_named_as_a_gap(b: &Backend) {
    ten_events(b.store.as_ref()).await;
    assert_eq!(
        b.raw.exec("DELETE FROM audit_events WHERE seq = 5").await,
        1
    );
    let v = b.store.verify_audit().await.unwrap();
    let (seq, reason) = v.first_bad.unwrap();
    assert_eq!(seq, 5);
    assert!(
        reason.contains("missing") && reason.contains("6"),
        "{reason}"
    );
}

pub async fn reinserted_event_is_named(b: &Backend) {
    // Delete event 4 and renumber the later ones down: no gap, but the links break.
    ten_events(b.store.as_ref()).await;
    b.raw.exec("DELETE FROM audit_events WHERE seq = 4").await;
    for seq in 5..=10 {
        b.raw
            .exec(&format!(
                "UPDATE audit_events SET seq = {} WHERE seq = {seq}",
                seq - 1
            ))
            .await;
    }
    let (seq, reason) = b.store.verify_audit().await.unwrap().first_bad.unwrap();
    assert_eq!(seq, 4);
    assert!(reason.contains("prev_hash"), "{reason}");
}

/// Deleting the newest events leaves a chain that verifies on its own; against a head kept
/// earlier (the anchor) it fails, naming the deletion. The check from an anchor does the same.
pub async fn truncation_fails_against_a_kept_head(b: &Backend) {
    use tradeengine_store::anchor::verify_against;
    let s = b.store.as_ref();
    ten_events(s).await;
    let head = s.audit_head().await.unwrap().unwrap();
    assert_eq!(head.seq, 10);
    assert!(verify_against(s, Some(&head)).await.unwrap().is_ok());
    let since = s.verify_audit_from(&head).await.unwrap();
    assert!(since.is_ok() && since.events == 0, "{since:?}");

    // Growth after the anchor is fine, and checked from it.
    s.audit(
        AuditKind::EngineStarted,
        None,
        None,
        serde_json::json!({}),
        at(80),
    )
    .await
    .unwrap();
    let since = s.verify_audit_from(&head).await.unwrap();
    assert!(since.is_ok(), "{since:?}");
    assert_eq!((since.events, since.head_seq), (1, Some(11)));
    let newest = s.audit_head().await.unwrap().unwrap();

    // One event deleted from the head: the chain alone still verifies.
    assert_eq!(
        b.raw.exec("DELETE FROM audit_events WHERE seq = 11").await,
        1
    );
    assert!(s.verify_audit().await.unwrap().is_ok());
    for report in [
        verify_against(s, Some(&newest)).await.unwrap(),
        s.verify_audit_from(&newest).await.unwrap(),
    ] {
        let (seq, reason) = report.first_bad.unwrap();
        assert_eq!(seq, 11);
        assert!(reason.contains("deleted"), "{reason}");
    }
    // Every event deleted.
    b.raw.exec("DELETE FROM audit_events").await;
    assert!(s.verify_audit().await.unwrap().is_ok());
    let report = verify_against(s, Some(&head)).await.unwrap();
    assert!(report.first_bad.unwrap().1.contains("deleted"));
    assert_eq!(s.audit_head().await.unwrap(), None);
}

/// Rewriting the chain from an edited event to the head (every later hash recomputed, which
/// is what appending new events after deleting the old ones amounts to) verifies on its own
/// and fails against the kept head.
pub async fn rewriting_fails_against_a_kept_head(b: &Backend) {
    use tradeengine_store::anchor::verify_against;
    let s = b.store.as_ref();
    ten_events(s).await;
    let head = s.audit_head().await.unwrap().unwrap();
    b.raw.exec("DELETE FROM audit_events WHERE seq >= 5").await;
    for i in 0..6 {
        s.audit(
            AuditKind::ConfigChanged,
            None,
            None,
            serde_json::json!({ "forged": i }),
            at(100 + i),
        )
        .await
        .unwrap();
    }
    let rewritten = s.verify_audit().await.unwrap();
    assert!(rewritten.is_ok() && rewritten.head_seq == Some(10));
    for report in [
        verify_against(s, Some(&head)).await.unwrap(),
        s.verify_audit_from(&head).await.unwrap(),
    ] {
        let (seq, reason) = report.first_bad.unwrap();
        assert_eq!(seq, 10);
        assert!(reason.contains("rewritten"), "{reason}");
    }
}
