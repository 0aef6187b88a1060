use tradeengine_store::{AuditKind, SignalRecordOutcome};

use crate::fixtures::{at, signal, sleeve_for};
use crate::harness::Backend;

/// Writers racing on one store: plain audit events, new signals and redeliveries of the same
/// signals, all at once. The chain must come out as one unbroken line with exactly one event per
/// accepted write.
pub async fn concurrent_writers_keep_one_chain(b: &Backend) {
    const TASKS: usize = 40;
    const PER_TASK: usize = 5;
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let store = b.store.clone();
        handles.push(tokio::spawn(async move {
            let mut stored = 0;
            for i in 0..PER_TASK {
                store
                    .audit(
                        AuditKind::ConfigChanged,
                        None,
                        None,
                        serde_json::json!({ "task": t, "i": i }),
                        at((t * 100 + i) as i64),
                    )
                    .await
                    .unwrap();
                // Tasks t and t + 1 deliver the same key: one of them must see a duplicate.
                let key = format!("k-{}-{i}", t / 2);
                let sig = signal(&format!("s-{t}-{i}"), "tv", &key, (t * 100 + i) as i64);
                let outcome = store
                    .record_signal(&sig, Some(&sleeve_for(&sig)))
                    .await
                    .unwrap();
                if outcome == SignalRecordOutcome::Stored {
                    stored += 1;
                }
            }
            stored
        }));
    }
    let mut stored = 0;
    for h in handles {
        stored += h.await.unwrap();
    }
    assert_eq!(stored, TASKS / 2 * PER_TASK);

    let v = b.store.verify_audit().await.unwrap();
    assert!(v.is_ok(), "{v:?}");
    let expected = (TASKS * PER_TASK + 2 * stored) as i64;
    assert_eq!(v.events, expected);
    assert_eq!(b.raw.count("audit_events").await, expected);
    assert_eq!(b.raw.count("signals").await, stored as i64);
}
