//! Group commit for [`crate::Store::put_state`].
//!
//! Every TradingView alert that moves a sleeve records, after its signal is stored, the alert
//! last applied for its symbol (`put_state`, so the late-alert rule holds across a restart).
//! Written as one autocommit statement each, that was one more fsync per alert on the one
//! SQLite writer, taken between the intake's batches: the webhook ran at half the rate of
//! `POST /trade` through the same intake.
//!
//! A caller now queues its value and then waits for the write connection. Whoever gets it
//! first writes everything queued by then in one transaction and answers every caller in it;
//! a caller whose value someone else wrote just waits for that answer. Within a transaction
//! each key gets the value queued last, which is what the same writes one after another would
//! have left. A caller still returns only once its value is committed (or with the error that
//! kept it out), so nothing is acknowledged earlier than before.

use std::sync::Mutex;

use tokio::sync::oneshot;

/// One queued value and where its outcome goes.
struct Waiting {
    key: String,
    text: String,
    done: oneshot::Sender<Result<(), String>>,
}

/// Values waiting to be written, in the order they were queued.
#[derive(Default)]
pub(crate) struct StateQueue {
    pending: Mutex<Vec<Waiting>>,
}

/// The values of one transaction (the last one queued per key, in key order) and whom to
/// answer.
pub(crate) struct StateBatch {
    pub rows: Vec<(String, String)>,
    waiting: Vec<oneshot::Sender<Result<(), String>>>,
}

impl StateBatch {
    /// Tells every caller in the batch how it went.
    pub(crate) fn answer(self, result: Result<(), String>) {
        for done in self.waiting {
            // A caller that stopped waiting is not an error here.
            let _ = done.send(result.clone());
        }
    }
}

impl StateQueue {
    /// Queues `text` for `key`; the receiver answers once a transaction holding it ended.
    pub(crate) fn push(&self, key: &str, text: String) -> oneshot::Receiver<Result<(), String>> {
        let (done, answer) = oneshot::channel();
        let waiting = Waiting {
            key: key.to_string(),
            text,
            done,
        };
        match self.pending.lock() {
            Ok(mut q) => q.push(waiting),
            // Only a panic while pushing or taking poisons it; the Vec is still whole.
            Err(poisoned) => poisoned.into_inner().push(waiting),
        }
        answer
    }

    /// Everything queued so far, one row per key (its last value), or `None` when nothing is.
    pub(crate) fn take(&self) -> Option<StateBatch> {
        let pending = match self.pending.lock() {
            Ok(mut q) => std::mem::take(&mut *q),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        if pending.is_empty() {
            return None;
        }
        // Rows in key order: on PostgreSQL several batches commit at once, and two that lock
        // the same keys in different orders deadlock (seen: "deadlock detected" with 40
        // writers over 8 keys); in one order, the later batch waits for the earlier.
        let mut rows: std::collections::BTreeMap<String, String> = Default::default();
        let mut waiting = Vec::with_capacity(pending.len());
        for w in pending {
            rows.insert(w.key, w.text);
            waiting.push(w.done);
        }
        Some(StateBatch {
            rows: rows.into_iter().collect(),
            waiting,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_batch_keeps_the_last_value_of_each_key_and_answers_everyone() {
        let q = StateQueue::default();
        let a = q.push("k1", "1".into());
        let b = q.push("k2", "2".into());
        let c = q.push("k1", "3".into());
        let batch = q.take().unwrap();
        assert_eq!(
            batch.rows,
            vec![
                ("k1".to_string(), "3".to_string()),
                ("k2".into(), "2".into())
            ]
        );
        assert!(q.take().is_none());
        batch.answer(Err("disk".into()));
        for r in [a, b, c] {
            assert_eq!(r.await.unwrap(), Err("disk".to_string()));
        }
    }
}
