//! The notifications' outbox is the audit trail: every event a trader hears about (a fill, a
//! refusal, a risk change, the kill switch, start and stop) is appended to it in the same
//! transaction as the change itself, so a crash cannot lose a notification that the store did
//! not lose. Each channel's place and summary counts are a state blob
//! (`notifications.<channel>`), written after every message it sends.

use async_trait::async_trait;
use std::sync::Arc;
use tradeengine_notify::courier::{Item, Outbox, OutboxError, Progress};
use tradeengine_store::Store;

use super::translate;
use crate::state::live::LiveEvent;

/// The state key of a channel's progress.
pub fn progress_key(channel: &str) -> String {
    format!("notifications.{channel}")
}

/// [`Outbox`] over the store's audit trail.
#[derive(Debug, Clone)]
pub struct AuditOutbox {
    pub store: Arc<dyn Store>,
}

fn err(e: impl std::fmt::Display) -> OutboxError {
    OutboxError(e.to_string())
}

#[async_trait]
impl Outbox for AuditOutbox {
    async fn head(&self) -> Result<i64, OutboxError> {
        crate::sources::events::chain_head(&*self.store)
            .await
            .map_err(err)
    }

    async fn after(&self, after: i64, limit: usize) -> Result<Vec<Item>, OutboxError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let events = self.store.audit_events(after, limit).await.map_err(err)?;
        Ok(events
            .iter()
            .map(|e| Item {
                seq: e.seq,
                event: translate::notice_of(&LiveEvent::from_audit(e)),
            })
            .collect())
    }

    async fn load(&self, channel: &str) -> Result<Option<Progress>, OutboxError> {
        match self
            .store
            .get_state(&progress_key(channel))
            .await
            .map_err(err)?
        {
            None => Ok(None),
            // A blob of another version: start over from the head rather than not start.
            Some(v) => Ok(serde_json::from_value(v)
                .inspect_err(|e| {
                    tracing::warn!(channel, error = %e, "saved notification progress cannot be read; starting from the newest event");
                })
                .ok()),
        }
    }

    async fn save(&self, channel: &str, progress: &Progress) -> Result<(), OutboxError> {
        let value = serde_json::to_value(progress).map_err(err)?;
        self.store
            .put_state(&progress_key(channel), &value)
            .await
            .map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    use chrono::{TimeZone, Utc};
    use rust_decimal_macros::dec;
    use tradeengine_model::{ClientOrderId, Fill, ManualClock, Price, Side, Symbol};
    use tradeengine_notify::Courier;
    use tradeengine_notify::channel::{Channel, SendError};
    use tradeengine_notify::config::{ChannelLimits, KindSwitches};
    use tradeengine_notify::courier::Step;
    use tradeengine_store::AuditKind;

    use super::*;

    /// A channel that records what it is given, or refuses (as a network failure) while `down`.
    #[derive(Debug, Default)]
    struct Phone {
        got: Mutex<Vec<String>>,
        down: AtomicBool,
    }

    #[async_trait]
    impl Channel for Phone {
        fn name(&self) -> &'static str {
            "phone"
        }
        async fn send(
            &self,
            text: &str,
            _: Option<&tradeengine_notify::Event>,
        ) -> Result<(), SendError> {
            if self.down.load(Ordering::SeqCst) {
                return Err(SendError::Http("connection refused".into()));
            }
            self.got.lock().unwrap().push(text.to_string());
            Ok(())
        }
    }

    fn limits() -> ChannelLimits {
        ChannelLimits {
            per_minute: 100,
            refusal_summary_secs: 60,
            notify: KindSwitches::default(),
        }
    }

    async fn audit_fill(store: &dyn Store, n: u32) {
        let at = Utc.with_ymd_and_hms(2025, 6, 1, 8, 0, n).unwrap();
        let fill = Fill {
            client_order_id: ClientOrderId::new(&format!("te-{n}")).unwrap(),
            venue_order_id: None,
            symbol: Symbol::new("BTCUSDT").unwrap(),
            side: Side::Buy,
            qty: dec!(0.01),
            price: Price::new(dec!(60000) + rust_decimal::Decimal::from(n)).unwrap(),
            fee: dec!(0.1),
            filled_at: at,
        };
        let payload = serde_json::to_value(&fill).unwrap();
        store
            .audit(AuditKind::Fill, Some("main"), Some("BTCUSDT"), payload, at)
            .await
            .unwrap();
        // A decision the phone does not hear about, between the fills.
        store
            .audit(
                AuditKind::ConfigChanged,
                None,
                None,
                serde_json::json!({}),
                at,
            )
            .await
            .unwrap();
    }

    async fn drain(c: &mut Courier) -> Step {
        loop {
            match c.step().await.unwrap() {
                s @ (Step::Idle | Step::Failed(_)) => return s,
                Step::Sent | Step::Settled => {}
            }
        }
    }

    #[tokio::test]
    async fn the_trail_is_the_outbox_and_a_restart_sends_only_what_was_not_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2025, 6, 1, 9, 0, 0).unwrap(),
        ));
        // What happened before the channel was configured is not sent.
        let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
        audit_fill(&*store, 0).await;
        let phone = Arc::new(Phone::default());
        let outbox = Arc::new(AuditOutbox {
            store: store.clone(),
        });
        let mut c = Courier::open(phone.clone(), limits(), outbox.clone(), clock.clone())
            .await
            .unwrap();
        for n in 1..=3 {
            audit_fill(&*store, n).await;
        }
        assert_eq!(drain(&mut c).await, Step::Idle);
        assert_eq!(phone.got.lock().unwrap().len(), 3);

        // The phone goes away; two more fills wait, and the engine stops.
        phone.down.store(true, Ordering::SeqCst);
        for n in 4..=5 {
            audit_fill(&*store, n).await;
        }
        assert!(matches!(drain(&mut c).await, Step::Failed(_)));
        drop(c);
        drop(outbox);
        drop(store);

        // Restarted on the same file, the phone back: the two, and only the two.
        let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
        let saved = store.get_state(&progress_key("phone")).await.unwrap();
        assert!(saved.is_some_and(|v| v["after"].as_i64().is_some()));
        let phone = Arc::new(Phone::default());
        let outbox = Arc::new(AuditOutbox { store });
        let mut c = Courier::open(phone.clone(), limits(), outbox, clock)
            .await
            .unwrap();
        assert_eq!(drain(&mut c).await, Step::Idle);
        let got = phone.got.lock().unwrap().clone();
        assert_eq!(got.len(), 2, "{got:#?}");
        assert!(
            got[0].contains("60004") && got[1].contains("60005"),
            "{got:#?}"
        );
    }
}
