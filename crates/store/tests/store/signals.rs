use rust_decimal_macros::dec;
use tradeengine_model::{Sleeve, SleeveOrigin, SleeveState};
use tradeengine_store::{
    AuditKind, BatchOutcome, MAX_REFUSED_BODY, NewRefusal, REFUSALS_KEPT_PER_SOURCE,
    SignalRecordOutcome, StoreError, TRUNCATED_MARKER,
};

use crate::fixtures::{at, price, signal, sleeve_for};
use crate::harness::Backend;

pub async fn signal_is_stored_once_with_its_sleeve(b: &Backend) {
    let s = b.store.as_ref();
    let sig = signal("sig-1", "tradingview", "evt-1", 10);
    let sleeve = sleeve_for(&sig);
    assert_eq!(
        s.record_signal(&sig, Some(&sleeve)).await.unwrap(),
        SignalRecordOutcome::Stored
    );

    // Redelivery: same source and key, even under a new engine id, changes nothing.
    let again = signal("sig-2", "tradingview", "evt-1", 20);
    let mut moved = sleeve_for(&again);
    moved.exposure = SleeveOrigin::Depth(dec!(-1));
    assert_eq!(
        s.record_signal(&again, Some(&moved)).await.unwrap(),
        SignalRecordOutcome::Duplicate
    );

    assert_eq!(s.recent_signals(10, 0).await.unwrap(), vec![sig.clone()]);
    assert_eq!(s.sleeves().await.unwrap(), vec![sleeve.clone()]);
    let events = s.audit_events(0, 100).await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![AuditKind::SignalAccepted, AuditKind::SleeveChanged]
    );
    assert_eq!(events[0].symbol.as_deref(), Some("BTCUSDT"));
    assert_eq!(events[0].payload["idempotency_key"], "evt-1");
    assert_eq!(events[0].payload["intent"]["depth"], "0.50");
    assert_eq!(events[1].payload["exposure"]["value"], "0.50");
    assert_eq!(b.raw.count("signals").await, 1);
}

pub async fn same_key_from_another_source_is_a_new_signal(b: &Backend) {
    let s = b.store.as_ref();
    let a = signal("sig-a", "tradingview", "evt-1", 10);
    let c = signal("sig-b", "sn8", "evt-1", 11);
    assert_eq!(
        s.record_signal(&a, None).await.unwrap(),
        SignalRecordOutcome::Stored
    );
    assert_eq!(
        s.record_signal(&c, None).await.unwrap(),
        SignalRecordOutcome::Stored
    );
    assert_eq!(s.recent_signals(10, 0).await.unwrap(), vec![c, a]);
    // No sleeve given: only the signal event.
    assert_eq!(s.audit_events(0, 10).await.unwrap().len(), 2);
}

pub async fn refused_inputs_write_nothing(b: &Backend) {
    let s = b.store.as_ref();
    s.record_signal(&signal("sig-1", "tv", "k1", 1), None)
        .await
        .unwrap();

    // Same engine id, new key: the id is taken.
    let err = s
        .record_signal(&signal("sig-1", "tv", "k2", 2), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref w) if w.contains("sig-1")),
        "{err}"
    );

    let err = s
        .record_signal(&signal("sig-3", "tv", "", 3), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid { ref reason, .. } if reason.contains("idempotency")),
        "{err}"
    );

    let sig = signal("sig-4", "tv", "k4", 4);
    let mut other = sleeve_for(&signal("sig-4", "sn8", "k4", 4));
    other.symbol = crate::fixtures::symbol("ETHUSDT");
    let err = s.record_signal(&sig, Some(&other)).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");

    assert_eq!(b.raw.count("signals").await, 1);
    assert_eq!(b.raw.count("sleeves").await, 0);
    assert_eq!(b.raw.count("audit_events").await, 1);
    assert!(s.verify_audit().await.unwrap().is_ok());
}

pub async fn recent_signals_are_newest_first_and_paged(b: &Backend) {
    let s = b.store.as_ref();
    // Inserted out of time order: "newest" is by received time.
    for (id, ms) in [("s-2", 200), ("s-1", 100), ("s-3", 300)] {
        s.record_signal(&signal(id, "tv", id, ms), None)
            .await
            .unwrap();
    }
    let ids = |v: Vec<tradeengine_model::Signal>| {
        v.into_iter().map(|s| s.id.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(s.recent_signals(10, 0).await.unwrap()),
        ["s-3", "s-2", "s-1"]
    );
    assert_eq!(ids(s.recent_signals(1, 1).await.unwrap()), ["s-2"]);
    assert!(s.recent_signals(10, 3).await.unwrap().is_empty());
    assert!(matches!(
        s.recent_signals(-1, 0).await,
        Err(StoreError::Invalid { .. })
    ));
    assert!(matches!(
        s.recent_signals(1, -1).await,
        Err(StoreError::Invalid { .. })
    ));
}

pub async fn refused_signal_is_audited(b: &Backend) {
    let s = b.store.as_ref();
    let raw = serde_json::json!({ "ticker": "???", "size": "lots" });
    let outcome = s
        .record_refused_signal(&refusal(
            "tradingview",
            None,
            "size is not a number",
            &raw,
            at(5),
        ))
        .await
        .unwrap();
    assert_eq!(outcome, SignalRecordOutcome::Stored);
    let events = s.audit_events(0, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, AuditKind::SignalRefused);
    assert_eq!(events[0].at, at(5));
    assert_eq!(events[0].payload["reason"], "size is not a number");
    assert_eq!(events[0].payload["raw"], raw);
    assert_eq!(b.raw.count("signals").await, 0);
}

pub async fn refused_signal_is_recorded_once_per_key(b: &Backend) {
    let s = b.store.as_ref();
    let raw = serde_json::json!({ "side": "buy" });
    let refuse = |source: &'static str, key: Option<&'static str>, ms: i64| {
        let raw = raw.clone();
        async move {
            s.record_refused_signal(&refusal(source, key, "cooling", &raw, at(ms)))
                .await
                .unwrap()
        }
    };
    // A keyed refusal is stored once; its redeliveries are duplicates, whatever the reason now.
    assert_eq!(
        refuse("sn8", Some("k1"), 1).await,
        SignalRecordOutcome::Stored
    );
    assert_eq!(
        refuse("sn8", Some("k1"), 2).await,
        SignalRecordOutcome::Duplicate
    );
    let again = s
        .record_refused_signal(&refusal("sn8", Some("k1"), "another reason", &raw, at(3)))
        .await
        .unwrap();
    assert_eq!(again, SignalRecordOutcome::Duplicate);
    // The key is per source.
    assert_eq!(
        refuse("tradingview", Some("k1"), 4).await,
        SignalRecordOutcome::Stored
    );
    // No key (a request refused before it had one), or an empty one: every call is recorded.
    assert_eq!(
        refuse("tradingview", None, 5).await,
        SignalRecordOutcome::Stored
    );
    assert_eq!(
        refuse("tradingview", None, 6).await,
        SignalRecordOutcome::Stored
    );
    assert_eq!(
        refuse("tradingview", Some(""), 7).await,
        SignalRecordOutcome::Stored
    );
    // A signal accepted earlier and refused on redelivery (the sleeve it moved now refuses it)
    // was decided already.
    let accepted = signal("sig-1", "sn8", "k2", 8);
    s.record_signal(&accepted, None).await.unwrap();
    assert_eq!(
        refuse("sn8", Some("k2"), 9).await,
        SignalRecordOutcome::Duplicate
    );

    let events = s.audit_events(0, 100).await.unwrap();
    let refused: Vec<_> = events
        .iter()
        .filter(|e| e.kind == AuditKind::SignalRefused)
        .collect();
    assert_eq!(refused.len(), 5);
    assert_eq!(refused[0].payload["idempotency_key"], "k1");
    assert_eq!(refused[0].payload["source"], "sn8");
    assert!(refused[2].payload.get("idempotency_key").is_none());
    // Keyed refusals once each; unkeyed ones every time (listed, bounded per source).
    assert_eq!(b.raw.count("refused_signals").await, 5);
    assert!(s.verify_audit().await.unwrap().is_ok());
}

/// An audited refusal with no body and the label `other`.
fn refusal<'a>(
    source: &'a str,
    key: Option<&'a str>,
    reason: &'a str,
    raw: &'a serde_json::Value,
    at: tradeengine_model::Timestamp,
) -> NewRefusal<'a> {
    NewRefusal {
        source,
        idempotency_key: key,
        code: "other",
        reason,
        detail: raw,
        body: None,
        audit: true,
        at,
    }
}

pub async fn refusals_are_listed_with_bounded_bodies(b: &Backend) {
    let s = b.store.as_ref();
    let detail = serde_json::json!({"status": 422});
    let long = format!("{{\"ticker\":\"{}\"}}", "é".repeat(MAX_REFUSED_BODY));
    let mut first = refusal("tradingview", None, "malformed JSON", &detail, at(1));
    first.code = "malformed";
    first.body = Some(&long);
    first.audit = false;
    s.record_refused_signal(&first).await.unwrap();
    let mut second = refusal(
        "rest",
        Some("k9"),
        "leverage 100 exceeds the cap",
        &detail,
        at(2),
    );
    second.code = "leverage_cap";
    second.body = Some("{\"leverage\":100}");
    s.record_refused_signal(&second).await.unwrap();

    let all = s.refused_signals(None, 10).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].source, "rest", "newest first");
    assert_eq!(all[0].code, "leverage_cap");
    assert_eq!(all[0].idempotency_key.as_deref(), Some("k9"));
    assert_eq!(all[0].body.as_deref(), Some("{\"leverage\":100}"));
    assert_eq!(all[0].refused_at, at(2));
    let cut = all[1].body.clone().unwrap();
    assert!(
        cut.ends_with(TRUNCATED_MARKER),
        "{}",
        &cut[cut.len() - 40..]
    );
    assert!(cut.len() <= MAX_REFUSED_BODY + TRUNCATED_MARKER.len());
    assert_eq!(all[1].idempotency_key, None);
    let only = s.refused_signals(Some("tradingview"), 10).await.unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].code, "malformed");
    // Only the keyed (or `audit`) refusal wrote an audit event.
    let events = s.audit_events(0, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].payload["code"], "leverage_cap");
    assert!(matches!(
        s.refused_signals(None, -1).await,
        Err(StoreError::Invalid { .. })
    ));
}

pub async fn refusals_are_bounded_per_source(b: &Backend) {
    let s = b.store.as_ref();
    let detail = serde_json::json!({});
    let kept = usize::try_from(REFUSALS_KEPT_PER_SOURCE).unwrap();
    for i in 0..kept + 5 {
        let mut r = refusal("tradingview", None, "unauthorized", &detail, at(i as i64));
        r.code = "auth";
        r.body = Some("{}");
        r.audit = false;
        s.record_refused_signal(&r).await.unwrap();
    }
    // Keyed refusals past the bound keep their key (deduplication) but lose their body.
    let keys: Vec<String> = (0..kept + 2).map(|i| format!("k{i}")).collect();
    for (i, k) in keys.iter().enumerate() {
        let mut r = refusal("nats", Some(k), "cooling", &detail, at(i as i64));
        r.body = Some("{}");
        s.record_refused_signal(&r).await.unwrap();
    }
    let tv = s
        .refused_signals(Some("tradingview"), 10_000)
        .await
        .unwrap();
    assert_eq!(tv.len(), kept, "the oldest unkeyed refusals are deleted");
    assert_eq!(tv.last().unwrap().refused_at, at(5));
    let nats = s.refused_signals(Some("nats"), 10_000).await.unwrap();
    assert_eq!(nats.len(), kept + 2);
    assert_eq!(nats.iter().filter(|r| r.body.is_some()).count(), kept);
    assert!(nats[kept..].iter().all(|r| r.body.is_none()));
    let mut again = refusal("nats", Some("k0"), "cooling", &detail, at(9));
    again.body = Some("{}");
    assert_eq!(
        s.record_refused_signal(&again).await.unwrap(),
        SignalRecordOutcome::Duplicate,
        "a pruned body still deduplicates"
    );
}

pub async fn sleeves_round_trip_and_replace(b: &Backend) {
    let s = b.store.as_ref();
    let sig = signal("sig-1", "sn8", "k", 10);
    let mut sleeve = sleeve_for(&sig);
    s.put_sleeve(&sleeve).await.unwrap();
    assert_eq!(s.sleeves().await.unwrap(), vec![sleeve.clone()]);

    // Every optional field set, a base-unit exposure and a cooling state.
    sleeve.state = SleeveState::Cooling;
    sleeve.exposure = SleeveOrigin::Base(dec!(-0.001000));
    sleeve.leverage = None;
    sleeve.stop_loss = Some(price(dec!(58000.5)));
    sleeve.closed_at = Some(at(20));
    sleeve.updated_at = at(20);
    s.put_sleeve(&sleeve).await.unwrap();
    let back = s.sleeves().await.unwrap();
    assert_eq!(back, vec![sleeve.clone()]);
    // Scale survives (TEXT, not float or normalised numeric).
    assert_eq!(back[0].exposure, SleeveOrigin::Base(dec!(-0.001000)));
    if let SleeveOrigin::Base(d) = back[0].exposure {
        assert_eq!(d.to_string(), "-0.001000");
    }

    let events = s.audit_events(0, 10).await.unwrap();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.kind == AuditKind::SleeveChanged));
    assert_eq!(events[1].payload["state"], "cooling");
}

pub async fn batch_is_one_transaction_and_all_or_nothing(b: &Backend) {
    let s = b.store.as_ref();
    let first = signal("sig-1", "tv", "k1", 1);
    assert_eq!(
        s.record_signal(&first, None).await.unwrap(),
        SignalRecordOutcome::Stored
    );
    let a = signal("sig-2", "tv", "k2", 2);
    let dup_stored = signal("sig-3", "tv", "k1", 3);
    let c = signal("sig-4", "tv", "k4", 4);
    let dup_in_batch = signal("sig-5", "tv", "k4", 5);
    let batch = vec![
        (a.clone(), Some(sleeve_for(&a))),
        (dup_stored.clone(), Some(sleeve_for(&dup_stored))),
        (c.clone(), Some(sleeve_for(&c))),
        (dup_in_batch.clone(), None),
    ];
    assert_eq!(
        s.record_signals(&batch).await.unwrap(),
        BatchOutcome::Duplicates(vec![1, 3])
    );
    // Nothing of the batch was written.
    assert_eq!(b.raw.count("signals").await, 1);
    assert!(s.sleeves().await.unwrap().is_empty());

    // Without the duplicates it goes through whole, with the same audit events as one by one.
    let clean = vec![batch[0].clone(), batch[2].clone()];
    assert_eq!(
        s.record_signals(&clean).await.unwrap(),
        BatchOutcome::Stored
    );
    assert_eq!(b.raw.count("signals").await, 3);
    let kinds: Vec<_> = s
        .audit_events(0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        vec![
            AuditKind::SignalAccepted,
            AuditKind::SignalAccepted,
            AuditKind::SleeveChanged,
            AuditKind::SignalAccepted,
            AuditKind::SleeveChanged,
        ]
    );
    assert!(s.verify_audit().await.unwrap().is_ok());
    assert_eq!(s.record_signals(&[]).await.unwrap(), BatchOutcome::Stored);
}

/// A batch larger than one multi-row statement (600 signals: 512 + a padded 88), over three
/// symbols and two sources, with duplicates on both sides of the statement boundary: one in
/// each statement already stored, and repeats within the batch. Then the same batch without
/// them, whose sleeves must end as the last one given per (source, symbol) and whose audit trail
/// must be one event per signal and per sleeve, in batch order.
pub async fn large_batch_spans_statements(b: &Backend) {
    let s = b.store.as_ref();
    let symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
    let entry = |n: usize, key: &str| {
        let mut sig = signal(&format!("sig-{n}"), "tv", key, n as i64);
        sig.source = batch_source(n);
        sig.symbol = crate::fixtures::symbol(symbols[n % 3]);
        let mut sleeve = sleeve_for(&sig);
        sleeve.exposure = SleeveOrigin::Depth(rust_decimal::Decimal::new(n as i64, 3));
        (sig, Some(sleeve))
    };
    // Keys stored before the batch: entries 100 and 550 repeat them.
    for n in [100, 550] {
        let (sig, _) = entry(n, &format!("k-{n}"));
        let mut early = sig.clone();
        early.id = tradeengine_model::SignalId::new(&format!("early-{n}")).unwrap();
        assert_eq!(
            s.record_signal(&early, None).await.unwrap(),
            SignalRecordOutcome::Stored
        );
    }
    let mut batch: Vec<_> = (0..600).map(|n| entry(n, &format!("k-{n}"))).collect();
    // Repeats within the batch: 511 repeats 3 (same source), 512 repeats 510 (across the
    // statement boundary), 599 repeats 597.
    for (later, earlier) in [(511, 3), (512, 510), (599, 597)] {
        let (sig, _) = &mut batch[later];
        sig.source = batch_source(earlier);
        sig.idempotency_key = format!("k-{earlier}");
    }
    assert_eq!(
        s.record_signals(&batch).await.unwrap(),
        BatchOutcome::Duplicates(vec![100, 511, 512, 550, 599])
    );
    assert_eq!(b.raw.count("signals").await, 2);
    assert_eq!(b.raw.count("sleeves").await, 0);
    assert_eq!(b.raw.count("audit_events").await, 2);

    let clean: Vec<_> = batch
        .iter()
        .enumerate()
        .filter(|(n, _)| ![100, 511, 512, 550, 599].contains(n))
        .map(|(_, e)| e.clone())
        .collect();
    assert_eq!(clean.len(), 595);
    assert_eq!(
        s.record_signals(&clean).await.unwrap(),
        BatchOutcome::Stored
    );
    assert_eq!(b.raw.count("signals").await, 597);

    // Sleeves: the last one given per (source, symbol).
    let mut expected: Vec<Sleeve> = Vec::new();
    for (_, sleeve) in clean.iter().rev() {
        let sleeve = sleeve.clone().unwrap();
        if !expected
            .iter()
            .any(|e| e.source == sleeve.source && e.symbol == sleeve.symbol)
        {
            expected.push(sleeve);
        }
    }
    expected.sort_by(|a, b| (&a.source, &a.symbol).cmp(&(&b.source, &b.symbol)));
    assert_eq!(expected.len(), 6);
    assert_eq!(s.sleeves().await.unwrap(), expected);

    // Audit: after the two early signals, accepted + sleeve changed per entry, in batch order.
    let events = s.audit_events(2, 10_000).await.unwrap();
    assert_eq!(events.len(), 2 * clean.len());
    for (pair, (sig, sleeve)) in events.chunks(2).zip(&clean) {
        assert_eq!(pair[0].kind, AuditKind::SignalAccepted);
        assert_eq!(pair[0].payload["id"], sig.id.as_str());
        assert_eq!(pair[1].kind, AuditKind::SleeveChanged);
        assert_eq!(
            pair[1].payload,
            serde_json::to_value(sleeve.as_ref().unwrap()).unwrap()
        );
    }
    let v = s.verify_audit().await.unwrap();
    assert!(v.is_ok(), "{v:?}");
    assert_eq!(v.events, 2 + 2 * 595);
    // Stored signals read back equal to what was given.
    let recent = s.recent_signals(1, 0).await.unwrap();
    assert_eq!(recent, vec![clean[clean.len() - 1].0.clone()]);
}

fn batch_source(n: usize) -> tradeengine_model::SourceId {
    tradeengine_model::SourceId::new(if n.is_multiple_of(2) { "tv" } else { "sn8" }).unwrap()
}
