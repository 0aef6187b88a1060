//! Standby and take-over: which accounts this process trades, and when it stops (see
//! [`super`]).
//!
//! One task, ticking every second (or every third of the lease, if shorter): renew what it
//! holds, take what is free, beat its heartbeat. Taking an account starts its worker behind a [`LeaseGate`]; the worker's
//! first cycle settles the previous holder's orders by client id and reads the positions before
//! planning (as at start). Losing one (taken over, or no renewal for two thirds of the lease)
//! closes the gate, aborts the worker and puts the account back on standby here.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tradeengine_model::{AccountName, Clock, Timestamp};
use tradeengine_store::cluster::ClusterLink;
use tradeengine_store::lease::LeaseOutcome;
use tradeengine_store::ownership::Holder;
use tradeengine_store::{Store, StoreError};
use tradeengine_venues::Venue;

use super::{GatedVenue, LeaseGate, Settings};
use crate::config::{AccountConfig, Config};
use crate::plan_ids::PlanIds;
use crate::start_options::StartOptions;
use crate::state::SharedState;
use crate::worker::AccountWorker;

/// The longest a standby waits between attempts to take the accounts it does not trade.
const TAKE_EVERY: Duration = Duration::from_secs(1);
/// How long a clean stop waits for the workers to finish their cycle before letting go.
const STOP_WAIT: Duration = Duration::from_secs(25);

/// What the supervisor needs to run accounts.
#[derive(Debug)]
pub struct Supervisor {
    pub settings: Settings,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub state: SharedState,
    pub plan_ids: Arc<PlanIds>,
    pub link: ClusterLink,
    /// The configuration and options at start, to reach a venue that was down at start.
    pub config: Arc<Config>,
    pub options: StartOptions,
    pub origin: Timestamp,
    /// Venues reached at start; the others are built when the account is free to take.
    pub venues: BTreeMap<AccountName, Arc<dyn Venue>>,
}

/// One account as this process sees it.
struct Slot {
    name: AccountName,
    account: AccountConfig,
    venue: Option<Arc<dyn Venue>>,
    /// No new attempt to reach the venue before this.
    next_connect: Instant,
    connect_failures: u32,
    held: Option<Held>,
    /// What the view says while standing by, so it is written only when it changes.
    standby: Option<String>,
}

/// An account this process trades.
struct Held {
    gate: LeaseGate,
    stop: CancellationToken,
    task: JoinHandle<()>,
    token: i64,
    since: Instant,
    /// Set when the account is being handed over (`engine.accounts = "shared"`): its worker
    /// was asked to stop after its cycle; the lease goes once it has.
    leaving: Option<Instant>,
}

impl Supervisor {
    /// Runs until `stop`; then lets the workers finish their cycle and lets the leases go.
    pub async fn run(self, stop: CancellationToken) {
        let Self {
            settings,
            store,
            clock,
            state,
            plan_ids,
            link,
            config,
            options,
            origin,
            mut venues,
        } = self;
        let holder = Holder {
            host: settings.node_id.clone(),
            pid: std::process::id(),
            since: clock.now(),
        };
        let started_ms = clock.now().timestamp_millis();
        let mut slots: Vec<Slot> = config
            .accounts
            .iter()
            .filter_map(|a| {
                let name = AccountName::new(&a.name).ok()?;
                Some(Slot {
                    venue: venues.remove(&name),
                    name,
                    account: a.clone(),
                    next_connect: Instant::now(),
                    connect_failures: 0,
                    held: None,
                    standby: None,
                })
            })
            .filter(|s| s.account.state != crate::config::AccountState::Disabled)
            .collect();
        let run = Run {
            settings: &settings,
            store: &store,
            clock: &clock,
            state: &state,
            plan_ids: &plan_ids,
            holder: &holder,
        };
        // A third of the lease for the renewals, and at most a second so that a standby takes
        // a dead holder's account (whose session lock vanished with it) within a second.
        let tick = (settings.ttl / 3).min(TAKE_EVERY);
        // A process that missed three heartbeats no longer counts for the fair share (it may
        // still hold leases until they expire: the share only says how many to take).
        let live_window = (tick * 3).max(Duration::from_secs(3));
        let mut fair: Option<usize> = None;
        loop {
            let holds: Vec<String> = slots
                .iter()
                .filter(|s| s.held.is_some())
                .map(|s| s.name.to_string())
                .collect();
            if let Err(e) = link
                .heartbeat(&holder.host, holder.pid, started_ms, &holds)
                .await
            {
                tracing::warn!(error = %e, "cannot record this process's heartbeat");
            }
            if settings.shared {
                match link.live_nodes(live_window).await {
                    Ok(n) => fair = Some(slots.len().div_ceil(n.max(1))),
                    Err(e) => tracing::warn!(error = %e, "cannot count the live processes"),
                }
            }
            for slot in &mut slots {
                if slot.held.is_some() {
                    run.renew(slot).await;
                }
            }
            if let Some(fair) = fair {
                hand_over_extra(&mut slots, fair);
            }
            let mut held = slots.iter().filter(|s| s.held.is_some()).count();
            for slot in &mut slots {
                if slot.held.is_some() || fair.is_some_and(|f| held >= f) {
                    continue;
                }
                if slot.venue.is_none() {
                    connect(slot, &config, &options, origin, &clock, &state).await;
                }
                run.take(slot).await;
                held += usize::from(slot.held.is_some());
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(tick) => {}
            }
        }
        run.stop_all(&mut slots).await;
        if let Err(e) = link.leave().await {
            tracing::warn!(error = %e, "cannot record this process's stop in the cluster");
        }
    }
}

/// The supervisor's shared parts, borrowed for one run.
struct Run<'a> {
    settings: &'a Settings,
    store: &'a Arc<dyn Store>,
    clock: &'a Arc<dyn Clock>,
    state: &'a SharedState,
    plan_ids: &'a Arc<PlanIds>,
    holder: &'a Holder,
}

impl Run<'_> {
    /// Renews a held lease; lets the account go when the lease is lost, when the renewal has
    /// failed for two thirds of the lease (the gate is closed by then), or when its worker
    /// ended on its own.
    async fn renew(&self, slot: &mut Slot) {
        let Some(held) = &slot.held else {
            return;
        };
        if let Some(asked) = held.leaving
            && (held.task.is_finished() || asked.elapsed() > STOP_WAIT)
        {
            self.finish_hand_over(slot).await;
            return;
        }
        if held.task.is_finished() {
            self.let_go(slot, "its worker stopped").await;
            return;
        }
        let ttl = self.settings.ttl;
        let sent = Instant::now();
        let renewed = tokio::time::timeout(ttl / 3, self.store.renew_lease(&slot.name, ttl)).await;
        match renewed {
            Ok(Ok(())) => {
                held.gate.extend(sent, ttl);
                lease_age(&slot.name, held.since.elapsed());
            }
            Ok(Err(StoreError::LeaseLost { .. })) => {
                tracing::error!(account = %slot.name, "account lease lost (taken over by another process): its worker is stopped, this process stands by for it");
                self.let_go(slot, "lease taken over by another process")
                    .await;
            }
            other => {
                let error = match other {
                    Ok(Err(e)) => e.to_string(),
                    _ => "the renewal timed out".to_string(),
                };
                if held.gate.is_open() {
                    tracing::warn!(account = %slot.name, %error, left = ?held.gate.remaining_at(Instant::now()), "cannot renew the account lease; retrying");
                } else {
                    tracing::error!(account = %slot.name, %error, "no lease renewal for two thirds of the lease: this process stopped sending for the account and stands by");
                    self.let_go(slot, "lease not renewed in time").await;
                }
            }
        }
    }

    /// Tries to take the account; on success starts its worker behind a fresh gate.
    async fn take(&self, slot: &mut Slot) {
        let Some(venue) = slot.venue.clone() else {
            return;
        };
        let ttl = self.settings.ttl;
        let sent = Instant::now();
        let outcome = self.store.take_lease(&slot.name, self.holder, ttl).await;
        match outcome {
            Ok(LeaseOutcome::Taken { token, previous }) => {
                let kind = match &previous {
                    Some(p) => {
                        tracing::warn!(account = %slot.name, token, previous = %p.host, "account taken over: reconciling from the venue before trading");
                        "taken_over"
                    }
                    None => {
                        tracing::info!(account = %slot.name, token, "account taken: reconciling from the venue before trading");
                        "taken"
                    }
                };
                metrics::counter!("tradeengine_cluster_handovers_total", "account" => slot.name.to_string(), "kind" => kind).increment(1);
                self.start_worker(slot, venue, token, sent).await;
            }
            Ok(LeaseOutcome::Held { holder, .. }) => {
                self.stand_by(slot, format!("traded by {}", holder.host))
                    .await;
            }
            Ok(LeaseOutcome::NotNeeded) => {
                // Validation keeps a cluster on PostgreSQL; a store without leases cannot
                // tell two processes apart, so nothing is traded.
                self.stand_by(slot, "the store has no leases: not traded".into())
                    .await;
            }
            Err(e) => {
                tracing::warn!(account = %slot.name, error = %e, "cannot take the account lease; retrying");
            }
        }
    }

    async fn start_worker(
        &self,
        slot: &mut Slot,
        venue: Arc<dyn Venue>,
        token: i64,
        sent: Instant,
    ) {
        let gate = LeaseGate::opened(sent, self.settings.ttl);
        let gated: Arc<dyn Venue> = Arc::new(GatedVenue::new(venue, gate.clone()));
        let worker = AccountWorker::new(
            slot.name.clone(),
            gated,
            self.store.clone(),
            self.clock.clone(),
            self.state.clone(),
            self.plan_ids.clone(),
        );
        slot.standby = None;
        let node = self.settings.node_id.clone();
        self.state
            .update_account_view(&slot.name, |v| {
                v.standby = None;
                v.lease_holder = Some(node);
                v.reconciled = false;
            })
            .await;
        let stop = CancellationToken::new();
        let task = tokio::spawn(worker.run(stop.clone()));
        lease_gauge(&slot.name, true);
        slot.held = Some(Held {
            gate,
            stop,
            task,
            token,
            since: Instant::now(),
            leaving: None,
        });
        tracing::debug!(account = %slot.name, token, "account worker started");
    }

    /// Stops trading the account at once: gate closed, worker aborted (whatever it was
    /// doing, nothing more leaves), lease let go, account on standby.
    async fn let_go(&self, slot: &mut Slot, why: &str) {
        let Some(held) = slot.held.take() else {
            return;
        };
        held.gate.close();
        held.stop.cancel();
        held.task.abort();
        let _ = held.task.await;
        self.release(&slot.name, held.token).await;
        metrics::counter!("tradeengine_cluster_handovers_total", "account" => slot.name.to_string(), "kind" => "lost").increment(1);
        self.stand_by(slot, format!("standing by ({why})")).await;
    }

    /// The worker of an account being handed over has finished its cycle (or overran
    /// [`STOP_WAIT`] and is stopped): the lease goes, and a process with room takes it.
    async fn finish_hand_over(&self, slot: &mut Slot) {
        let Some(held) = slot.held.take() else {
            return;
        };
        held.task.abort();
        let _ = held.task.await;
        held.gate.close();
        self.release(&slot.name, held.token).await;
        metrics::counter!("tradeengine_cluster_handovers_total", "account" => slot.name.to_string(), "kind" => "handed_over").increment(1);
        self.stand_by(slot, "handed over to balance the accounts".into())
            .await;
    }

    async fn release(&self, account: &AccountName, token: i64) {
        let released =
            tokio::time::timeout(self.settings.ttl / 3, self.store.release_lease(account)).await;
        match released {
            Ok(Ok(())) => tracing::info!(%account, token, "account lease let go"),
            Ok(Err(e)) => {
                tracing::warn!(%account, error = %e, "cannot release the account lease; it expires on its own")
            }
            Err(_) => {
                tracing::warn!(%account, "releasing the account lease timed out; it expires on its own")
            }
        }
        lease_gauge(account, false);
    }

    async fn stand_by(&self, slot: &mut Slot, why: String) {
        if slot.standby.as_deref() == Some(why.as_str()) {
            return;
        }
        slot.standby = Some(why.clone());
        self.state
            .update_account_view(&slot.name, |v| {
                v.standby = Some(why);
                v.lease_holder = None;
                v.reconciled = false;
            })
            .await;
    }

    /// A clean stop: each worker finishes its cycle (no order left between `Sent` and its
    /// result), then every lease goes so a standby takes over at once.
    async fn stop_all(&self, slots: &mut [Slot]) {
        for slot in slots.iter() {
            if let Some(held) = &slot.held {
                held.stop.cancel();
            }
        }
        for slot in slots.iter_mut() {
            let Some(mut held) = slot.held.take() else {
                continue;
            };
            let wait = held.gate.remaining_at(Instant::now()).min(STOP_WAIT);
            if tokio::time::timeout(wait, &mut held.task).await.is_err() {
                tracing::warn!(account = %slot.name, "the account's worker did not finish its cycle in time; stopping it");
                held.task.abort();
            }
            held.gate.close();
            self.release(&slot.name, held.token).await;
        }
    }
}

/// Holding more than the fair share: asks one account's worker to stop after its cycle (one at
/// a time), so that the lease goes once it has and a process with room takes it.
fn hand_over_extra(slots: &mut [Slot], fair: usize) {
    let held = slots.iter().filter(|s| s.held.is_some()).count();
    if held <= fair
        || slots
            .iter()
            .any(|s| s.held.as_ref().is_some_and(|h| h.leaving.is_some()))
    {
        return;
    }
    if let Some(slot) = slots.iter_mut().rev().find(|s| s.held.is_some())
        && let Some(h) = slot.held.as_mut()
    {
        tracing::info!(account = %slot.name, held, fair, "handing the account over to balance the cluster (after its current cycle)");
        h.leaving = Some(Instant::now());
        h.stop.cancel();
    }
}

/// Builds the venue of an account that could not be reached at start (with back-off).
async fn connect(
    slot: &mut Slot,
    config: &Config,
    options: &StartOptions,
    origin: Timestamp,
    clock: &Arc<dyn Clock>,
    state: &SharedState,
) {
    if Instant::now() < slot.next_connect {
        return;
    }
    match crate::connector::build_venue(config, &slot.account, clock, origin, options).await {
        Ok((venue, _)) => {
            slot.venue = Some(venue);
            state
                .update_account_view(&slot.name, |v| v.connection = Some("connected".into()))
                .await;
        }
        Err(e) => {
            slot.connect_failures = slot.connect_failures.saturating_add(1);
            slot.next_connect = Instant::now() + crate::worker::backoff(slot.connect_failures);
            let reason = e.to_string();
            tracing::warn!(account = %slot.name, error = %reason, "venue not reachable; this process does not take the account until it is");
            state
                .update_account_view(&slot.name, |v| {
                    v.connection = Some("connecting".into());
                    v.last_error = Some(reason);
                })
                .await;
        }
    }
}

fn lease_gauge(account: &AccountName, held: bool) {
    metrics::gauge!("tradeengine_account_lease_held", "account" => account.to_string())
        .set(if held { 1.0 } else { 0.0 });
}

fn lease_age(account: &AccountName, age: Duration) {
    metrics::gauge!("tradeengine_cluster_lease_age_seconds", "account" => account.to_string())
        .set(age.as_secs_f64());
}
