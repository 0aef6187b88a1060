//! Account leases: one engine trades an account, even when several machines share one
//! PostgreSQL database.
//!
//! A local lock ([`crate::ownership`]) cannot see an engine on another machine. So on
//! PostgreSQL each account has a row in `account_leases`: holder (host, pid, since), a
//! **fencing token** incremented on every take-over, and `expires_ms`, which the holder renews
//! (every few seconds; times are the database's clock, so machines' clocks do not matter).
//!
//! - **Taking** a lease ([`crate::Store::take_lease`]) succeeds when no one holds it, when it
//!   expired, or when its holder's process is gone. The last is seen through a session-level
//!   advisory lock the holder keeps on a dedicated connection: PostgreSQL drops it the moment
//!   that connection closes (a crashed or killed engine), so a restart does not wait for the
//!   expiry. The lock is keyed by account *and fencing token*: a holder fenced out long ago
//!   (stalled past its lease, then resumed) may still be connected, and must neither make the
//!   current holder look alive nor, by letting its lock go, make it look dead. The new holder
//!   takes its token's lock before its take-over commits, while the row is locked, so no one can
//!   probe it in between. Otherwise the answer is [`LeaseOutcome::Held`], naming the holder.
//! - **Fencing.** Every write of an order intent — a plan with its `Intended` legs, an order
//!   moved to `Sent` — checks in the **same transaction** that the lease row still carries this
//!   process's token and has not expired (`SELECT … FOR SHARE`, so a take-over waits for the
//!   write or the write sees the take-over). An engine that lost its lease (expired while it
//!   was stalled, or taken over) gets [`crate::StoreError::LeaseLost`], and since an order is
//!   only sent after its `Sent` row commits, nothing it plans reaches the venue.
//! - **Standby** (`engine.cluster`, the engine's `cluster` module): a standby calls
//!   `take_lease` in a loop and gets the lease once the active engine's lease expires or its
//!   process dies, with a new token that fences the old holder out. No consensus of our own:
//!   PostgreSQL's row locks and advisory locks decide.
//!
//! The remaining window: an order whose `Sent` row committed under a valid lease is sent a few
//! milliseconds later, and a take-over in those milliseconds cannot recall it. Take-over needs
//! the holder gone or its lease expired (no renewal for [`DEFAULT_TTL`]), so this takes a holder
//! stalled for longer than the lease exactly between commit and send. In a cluster the engine
//! narrows it further: the holder checks its own clock right before each send and sends
//! nothing once two thirds of the lease passed without a renewal, so only a stall between that
//! check and the send itself remains.

use std::time::Duration;

use crate::ownership::Holder;

/// How long a lease lasts without renewal. The holder renews every third of it.
pub const DEFAULT_TTL: Duration = Duration::from_secs(15);

/// The answer to [`crate::Store::take_lease`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// The backend has no leases (SQLite: one machine, the data-dir lock covers it).
    NotNeeded,
    /// This process holds the lease with fencing token `token`. `previous` is the holder it
    /// took over from, if the lease was ever held before.
    Taken {
        token: i64,
        previous: Option<Holder>,
    },
    /// Another live process holds it, for at least `expires_in` more.
    Held {
        holder: Holder,
        expires_in: Duration,
    },
}
