//! Plan ids that are never reused, even across restarts and with a frozen test clock: a boot
//! number kept in the store (incremented at every start) and a counter within the boot. Client
//! order ids are derived from plan ids, so this is what keeps a new plan's orders from ever
//! colliding with an old plan's at the venue.

use std::sync::atomic::{AtomicU64, Ordering};

use tradeengine_model::PlanId;
use tradeengine_store::{Store, StoreError};

const BOOT_KEY: &str = "engine.boot";

/// Hands out plan ids for one engine process.
#[derive(Debug)]
pub struct PlanIds {
    boot: u64,
    next: AtomicU64,
}

impl PlanIds {
    /// Takes the next boot number from the store.
    pub async fn start(store: &dyn Store) -> Result<Self, StoreError> {
        let previous = store
            .get_state(BOOT_KEY)
            .await?
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        let boot = previous + 1;
        store.put_state(BOOT_KEY, &serde_json::json!(boot)).await?;
        Ok(Self {
            boot,
            next: AtomicU64::new(1),
        })
    }

    pub fn boot(&self) -> u64 {
        self.boot
    }

    /// `<boot>-<n>` in base 36: at most 27 characters, within every id limit.
    pub fn next(&self) -> Result<PlanId, tradeengine_model::ModelError> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        PlanId::new(&format!("{}-{}", base36(self.boot), base36(n)))
    }
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

    #[test]
    fn base36_is_short_and_exact() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
        assert_eq!(base36(u64::MAX).len(), 13);
    }
}
