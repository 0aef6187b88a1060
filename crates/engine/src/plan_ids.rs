//! Plan ids that are never reused, even across restarts and with a frozen test clock: a boot
//! number kept in the store (incremented at every start) and a counter within the boot. Client
//! order ids are derived from plan ids, so this is what keeps a new plan's orders from ever
//! colliding with an old plan's at the venue.
//!
//! The boot number alone restarts at 1 with every new database, and an exchange account
//! outlives databases (a lost data dir, a new folder, dry-run then live on the same account):
//! the first plan of a fresh database then had the client ids of the first plan of the previous
//! one, the venue answered for the old order, and the account could not trade or flatten again.
//! So each database also draws a random instance number once, kept beside the boot number, and
//! every plan id carries it.

use std::sync::atomic::{AtomicU64, Ordering};

use tradeengine_model::PlanId;
use tradeengine_store::{Store, StoreError};

const BOOT_KEY: &str = "engine.boot";
/// The database's own random number (40 bits, drawn once when the key is missing).
const INSTANCE_KEY: &str = "engine.instance";
const INSTANCE_BITS: u32 = 40;

/// Hands out plan ids for one engine process.
#[derive(Debug)]
pub struct PlanIds {
    instance: u64,
    boot: u64,
    next: AtomicU64,
}

impl PlanIds {
    /// Takes the next boot number from the store (and the database's instance number, drawn
    /// the first time).
    pub async fn start(store: &dyn Store) -> Result<Self, StoreError> {
        let instance = match store
            .get_state(INSTANCE_KEY)
            .await?
            .and_then(|v| v.as_u64())
        {
            Some(n) => n,
            None => {
                let n = random_instance()?;
                store.put_state(INSTANCE_KEY, &serde_json::json!(n)).await?;
                n
            }
        };
        let previous = store
            .get_state(BOOT_KEY)
            .await?
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        let boot = previous + 1;
        store.put_state(BOOT_KEY, &serde_json::json!(boot)).await?;
        Ok(Self {
            instance,
            boot,
            next: AtomicU64::new(1),
        })
    }

    pub fn boot(&self) -> u64 {
        self.boot
    }

    /// The counter the next plan id will carry: plans issued from now on have a
    /// [`PlanIds::sequence`] at least this.
    pub fn mark(&self) -> u64 {
        self.next.load(Ordering::Relaxed)
    }

    /// The counter of a plan id this process issued; `None` for one from another process or
    /// boot (or database).
    pub fn sequence(&self, id: &PlanId) -> Option<u64> {
        let mut parts = id.as_str().split('-');
        let (instance, boot, n) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || instance != base36(self.instance) || boot != base36(self.boot)
        {
            return None;
        }
        u64::from_str_radix(n, 36).ok()
    }

    /// `<instance>-<boot>-<n>` in base 36: at most 8 + 13 + 13 + 2 = 36 characters, within the
    /// plan id's 40 (client ids are a hash of it).
    pub fn next(&self) -> Result<PlanId, tradeengine_model::ModelError> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        PlanId::new(&format!(
            "{}-{}-{}",
            base36(self.instance),
            base36(self.boot),
            base36(n)
        ))
    }
}

/// A random instance number from the OS (no test depends on its value: it only has to differ
/// between databases).
fn random_instance() -> Result<u64, StoreError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Corrupt {
        what: "plan id instance".into(),
        reason: format!("no OS randomness: {e}"),
    })?;
    Ok(u64::from_le_bytes(bytes) >> (64 - INSTANCE_BITS))
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::base36;

    /// Two fresh databases on one exchange account must not hand out the same first plan id
    /// (their client order ids would collide at the venue).
    #[tokio::test]
    async fn fresh_databases_give_different_plan_ids_and_a_restart_keeps_its_instance() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let store_a = tradeengine_store::open_sqlite_in(a.path()).await.unwrap();
        let store_b = tradeengine_store::open_sqlite_in(b.path()).await.unwrap();
        let first_a = super::PlanIds::start(&*store_a)
            .await
            .unwrap()
            .next()
            .unwrap();
        let first_b = super::PlanIds::start(&*store_b)
            .await
            .unwrap()
            .next()
            .unwrap();
        assert_ne!(first_a, first_b);
        let again = super::PlanIds::start(&*store_a).await.unwrap();
        assert_eq!(again.boot(), 2);
        let prefix =
            |p: &tradeengine_model::PlanId| p.as_str().split('-').next().unwrap().to_string();
        assert_eq!(prefix(&again.next().unwrap()), prefix(&first_a));
    }

    #[tokio::test]
    async fn sequence_reads_back_this_process_ids_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
        let ids = super::PlanIds::start(&*store).await.unwrap();
        let mark = ids.mark();
        let first = ids.next().unwrap();
        for _ in 0..40 {
            ids.next().unwrap();
        }
        let later = ids.next().unwrap();
        assert_eq!(ids.sequence(&first), Some(mark));
        assert_eq!(ids.sequence(&later), Some(mark + 41));
        assert_eq!(ids.mark(), mark + 42);
        let restarted = super::PlanIds::start(&*store).await.unwrap();
        assert_eq!(restarted.sequence(&first), None, "another boot's plan");
        let other = tradeengine_model::PlanId::new("zz-1-1").unwrap();
        assert_eq!(ids.sequence(&other), None, "another database's plan");
    }

    #[test]
    fn instance_numbers_fit_eight_base36_digits() {
        assert!(base36((1u64 << super::INSTANCE_BITS) - 1).len() <= 8);
        let a = super::random_instance().unwrap();
        let b = super::random_instance().unwrap();
        assert!(a < 1 << super::INSTANCE_BITS && b < 1 << super::INSTANCE_BITS);
    }

    #[test]
    fn base36_is_short_and_exact() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
        assert_eq!(base36(u64::MAX).len(), 13);
    }
}
