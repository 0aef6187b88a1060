//! Account leases on PostgreSQL: one holder, refusals naming it, take-over after expiry or
//! release, and the fence: an engine that lost its lease can write no order intent.

use std::sync::Arc;
use std::time::Duration;

use tradeengine_model::OrderState;
use tradeengine_store::lease::LeaseOutcome;
use tradeengine_store::ownership::Holder;
use tradeengine_store::{OrderUpdate, Store, StoreError, open_postgres};

use crate::fixtures::{account, at, coid, plan};
use crate::harness::{Backend, postgres, sqlite};

fn holder(pid: u32) -> Holder {
    Holder {
        host: "host-a".into(),
        pid,
        since: at(1_000),
    }
}

/// A second engine's store on the same database and schema.
async fn second(b: &Backend) -> Arc<dyn Store> {
    open_postgres(b.pg_options.clone().unwrap(), 4)
        .await
        .unwrap()
}

async fn send(s: &dyn Store, id: &str) -> Result<(), StoreError> {
    s.update_order(&coid(id), &OrderUpdate::new(OrderState::Sent, at(2_000)))
        .await
        .map(|_| ())
}

/// Calls `take_lease` until it is taken (the other lease must expire first), up to 10 s.
async fn take_when_free(s: &dyn Store, h: &Holder, ttl: Duration) -> (i64, Option<Holder>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match s.take_lease(&account("acct"), h, ttl).await.unwrap() {
            LeaseOutcome::Taken { token, previous } => return (token, previous),
            LeaseOutcome::Held { .. } if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => panic!("lease never freed: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_needs_no_lease() {
    let b = sqlite().await;
    let got = b
        .store
        .take_lease(&account("acct"), &holder(1), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(got, LeaseOutcome::NotNeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_engine_is_refused_naming_the_holder() {
    let Some(b) = postgres().await else { return };
    let other = second(&b).await;
    let ttl = Duration::from_secs(30);
    let got = b
        .store
        .take_lease(&account("acct"), &holder(11), ttl)
        .await
        .unwrap();
    assert_eq!(
        got,
        LeaseOutcome::Taken {
            token: 1,
            previous: None
        }
    );
    match other
        .take_lease(&account("acct"), &holder(22), ttl)
        .await
        .unwrap()
    {
        LeaseOutcome::Held {
            holder: h,
            expires_in,
        } => {
            assert_eq!(h, holder(11));
            assert!(expires_in > Duration::from_secs(20), "{expires_in:?}");
        }
        other => panic!("second engine got {other:?}"),
    }
    // Another account is free.
    assert!(matches!(
        other
            .take_lease(&account("other"), &holder(22), ttl)
            .await
            .unwrap(),
        LeaseOutcome::Taken { token: 1, .. }
    ));
    // The holder plans and sends; its renewal works.
    b.store.record_plan(&plan("p1", "acct", 100)).await.unwrap();
    send(&*b.store, "p1-0").await.unwrap();
    b.store.renew_lease(&account("acct"), ttl).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_lease_fences_the_old_holder_out() {
    let Some(b) = postgres().await else { return };
    let other = second(&b).await;
    let short = Duration::from_millis(300);
    assert!(matches!(
        b.store
            .take_lease(&account("acct"), &holder(11), short)
            .await
            .unwrap(),
        LeaseOutcome::Taken { token: 1, .. }
    ));
    b.store.record_plan(&plan("p1", "acct", 100)).await.unwrap();
    // The holder stalls past its lease; the other engine takes it over with a new token.
    let (token, previous) = take_when_free(&*other, &holder(22), Duration::from_secs(30)).await;
    assert_eq!(token, 2);
    assert_eq!(previous, Some(holder(11)));

    // The old holder can neither send a planned order nor plan a new one.
    let sent = send(&*b.store, "p1-0").await;
    assert!(
        matches!(sent, Err(StoreError::LeaseLost { ref account }) if account == "acct"),
        "{sent:?}"
    );
    let planned = b.store.record_plan(&plan("p2", "acct", 200)).await;
    assert!(
        matches!(planned, Err(StoreError::LeaseLost { .. })),
        "{planned:?}"
    );
    assert!(matches!(
        b.store.renew_lease(&account("acct"), short).await,
        Err(StoreError::LeaseLost { .. })
    ));
    // Nothing of it was written: the order is still intended, p2 does not exist.
    let p1 = other.order(&coid("p1-0")).await.unwrap().unwrap();
    assert_eq!(p1.state, OrderState::Intended);
    assert!(other.order(&coid("p2-0")).await.unwrap().is_none());

    // The new holder trades.
    send(&*other, "p1-0").await.unwrap();
    other.record_plan(&plan("p3", "acct", 300)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_lease_is_free_at_once_and_fences_its_old_holder() {
    let Some(b) = postgres().await else { return };
    let other = second(&b).await;
    let ttl = Duration::from_secs(60);
    b.store
        .take_lease(&account("acct"), &holder(11), ttl)
        .await
        .unwrap();
    b.store.release_lease(&account("acct")).await.unwrap();
    assert!(matches!(
        other
            .take_lease(&account("acct"), &holder(22), ttl)
            .await
            .unwrap(),
        LeaseOutcome::Taken { token: 2, .. }
    ));
    let planned = b.store.record_plan(&plan("p1", "acct", 100)).await;
    assert!(
        matches!(planned, Err(StoreError::LeaseLost { .. })),
        "{planned:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_holders_lease_is_taken_over_before_it_expires() {
    let Some(b) = postgres().await else { return };
    let ttl = Duration::from_secs(60);
    {
        // An engine that takes the lease and dies: its store (and session lock) go away.
        let dying = second(&b).await;
        dying
            .take_lease(&account("acct"), &holder(11), ttl)
            .await
            .unwrap();
        drop(dying);
    }
    // PostgreSQL drops the session lock when the connection closes, a moment after the drop.
    let (token, previous) = take_when_free(&*b.store, &holder(22), ttl).await;
    assert_eq!((token, previous), (2, Some(holder(11))));
}

/// A holder fenced out while stalled, still connected and still holding its session lock,
/// neither keeps the new holder's lease from being taken over when the new holder dies, nor
/// lets a third engine take the live new holder's lease when it finally lets go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_holders_session_lock_says_nothing_about_the_new_holder() {
    let Some(b) = postgres().await else { return };
    let short = Duration::from_millis(300);
    let long = Duration::from_secs(60);
    // The stale holder: its lease expires while its process (and session lock) lives on.
    b.store
        .take_lease(&account("acct"), &holder(11), short)
        .await
        .unwrap();
    let new_holder = second(&b).await;
    let (token, _) = take_when_free(&*new_holder, &holder(22), long).await;
    assert_eq!(token, 2);
    // A third engine is refused while the new holder lives, stale lock or not.
    let third = second(&b).await;
    assert!(matches!(
        third
            .take_lease(&account("acct"), &holder(33), long)
            .await
            .unwrap(),
        LeaseOutcome::Held { .. }
    ));
    // The stale holder lets go (it noticed the lease was lost): still refused.
    b.store.release_lease(&account("acct")).await.unwrap();
    assert!(matches!(
        third.take_lease(&account("acct"), &holder(33), long).await.unwrap(),
        LeaseOutcome::Held { holder: h, .. } if h == holder(22)
    ));
    // The new holder dies: taken over at once, long before its 60 s lease expires.
    drop(new_holder);
    let (token, previous) = take_when_free(&*third, &holder(33), long).await;
    assert_eq!((token, previous), (3, Some(holder(22))));
}
