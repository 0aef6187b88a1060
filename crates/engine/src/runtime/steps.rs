//! The steps of [`super::RunningEngine::start`], in the order it takes them.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tradeengine_model::{AccountName, Clock, Timestamp};
use tradeengine_store::Store;
use tradeengine_venues::{PaperVenue, Venue};

use super::{StartError, build_sources, start_error};
use crate::audit_payload::AuditPayload;
use crate::config::Config;
use crate::connector::BuildError;
use crate::intake::SignalIntake;
use crate::plan_ids::PlanIds;
use crate::sources::SignalSource;
use crate::start_options::StartOptions;
use crate::state::SharedState;
use crate::worker::AccountWorker;

/// The accounts' venues as the start built them.
#[derive(Default)]
pub(super) struct StartVenues {
    pub(super) venues: BTreeMap<AccountName, Arc<dyn Venue>>,
    pub(super) paper: BTreeMap<AccountName, Arc<PaperVenue>>,
    /// Accounts whose venue could not be reached yet: they retry on their own.
    pub(super) connecting: Vec<Connecting>,
}

/// An account whose venue could not be reached yet, with the first error.
pub(super) type Connecting = (AccountName, crate::config::AccountConfig, String);

/// What every account task shares.
pub(super) struct WorkerShared {
    pub(super) store: Arc<dyn Store>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) state: SharedState,
    pub(super) plan_ids: Arc<PlanIds>,
}

/// Refuses live mode without `--live`, and makes sure the data dir exists.
pub(super) fn check_before_start(
    config: &Config,
    options: &StartOptions,
) -> Result<(), StartError> {
    if crate::config::preflight::live_not_confirmed(config, options.live_confirmed) {
        return Err(StartError::LiveNotConfirmed);
    }
    std::fs::create_dir_all(&config.engine.data_dir).map_err(|e| StartError::Account {
        account: "*".into(),
        reason: format!(
            "cannot create data dir {}: {e}",
            config.engine.data_dir.display()
        ),
    })
}

/// Builds every account's venue; one that cannot be reached yet is left connecting, one whose
/// configuration cannot work stops the start.
pub(super) async fn build_account_venues(
    config: &Config,
    options: &StartOptions,
    origin: Timestamp,
) -> Result<StartVenues, StartError> {
    let mut built = StartVenues::default();
    for a in &config.accounts {
        let name = AccountName::new(&a.name).map_err(|e| StartError::Account {
            account: a.name.clone(),
            reason: e.to_string(),
        })?;
        match crate::connector::build_venue(config, a, &options.clock, origin, options).await {
            Ok((venue, paper_venue)) => {
                if let Some(p) = paper_venue {
                    built.paper.insert(name.clone(), p);
                }
                built.venues.insert(name, venue);
            }
            Err(BuildError::Transient(reason)) => built.connecting.push((name, a.clone(), reason)),
            Err(e) => return Err(start_error(&a.name, e)),
        }
    }
    Ok(built)
}

/// Checks every source's settings and builds the pulled sources and the webhook endpoints.
pub(super) fn build_all_sources(
    config: &Config,
    options: &StartOptions,
    paper: &BTreeMap<AccountName, Arc<PaperVenue>>,
) -> Result<(Vec<Arc<dyn SignalSource>>, WebhookEndpoints), StartError> {
    crate::sources::validate_settings(config, &|k: &str| options.env(k)).map_err(|e| {
        StartError::Source {
            source_name: e.key.clone(),
            reason: e.reason.clone(),
        }
    })?;
    let sources = build_sources(config, options, paper)?;
    let env = |k: &str| options.env(k);
    let webhooks = crate::sources::tradingview::endpoints(config, &env).map_err(|reason| {
        StartError::Source {
            source_name: "tradingview".into(),
            reason,
        }
    })?;
    Ok((sources, webhooks))
}

/// TradingView webhook endpoints by source name.
pub(super) type WebhookEndpoints = BTreeMap<String, Arc<crate::state::TvEndpoint>>;

/// Each account's first view: its mode, what it trades on, and whether its venue is connected.
pub(super) async fn publish_first_views(
    state: &SharedState,
    config: &Config,
    venues: &BTreeMap<AccountName, Arc<dyn Venue>>,
) {
    for a in &config.accounts {
        if let Ok(name) = AccountName::new(&a.name) {
            let connected = venues.contains_key(&name);
            state
                .update_account_view(&name, |v| {
                    v.mode = Some(config.account_mode(a).as_str().to_string());
                    v.trading = Some(crate::config::modes::describe(config, a));
                    v.connection = Some(if connected {
                        "connected".into()
                    } else {
                        "connecting".into()
                    });
                })
                .await;
        }
    }
}

/// The connected accounts' venues, and the paper venues among them (their workers record the
/// market price at each fill, see `worker::cycle`).
type ConnectedVenues<'a> = (
    &'a BTreeMap<AccountName, Arc<dyn Venue>>,
    &'a BTreeMap<AccountName, Arc<PaperVenue>>,
);

/// Spawns the kill-switch watcher, one worker per connected account, and a connector per
/// account still connecting (it starts the account's worker once the venue answers).
pub(super) fn spawn_account_tasks(
    workers: &mut JoinSet<()>,
    config: &Config,
    (venues, paper): ConnectedVenues<'_>,
    connecting: Vec<Connecting>,
    shared: &WorkerShared,
    connect: (Timestamp, &StartOptions),
    stop: &CancellationToken,
) {
    spawn_kill_watch(workers, config, shared, stop);
    let WorkerShared {
        store,
        clock,
        state,
        plan_ids,
    } = shared;
    for (name, venue) in venues {
        let worker = AccountWorker::new(
            name.clone(),
            venue.clone(),
            store.clone(),
            clock.clone(),
            state.clone(),
            plan_ids.clone(),
        )
        .with_fill_feed(paper.get(name).map(|p| p.feed()));
        workers.spawn(worker.run(stop.clone()));
    }
    let shared_config = Arc::new(config.clone());
    let (origin, options) = connect;
    for (name, account, first_error) in connecting {
        let (store, clock, state2, plan_ids) = (
            store.clone(),
            clock.clone(),
            state.clone(),
            plan_ids.clone(),
        );
        let worker_name = name.clone();
        let pending = crate::connector::Pending {
            name,
            account,
            config: shared_config.clone(),
            origin,
            options: options.clone(),
            first_error,
            store: store.clone(),
            worker: Box::new(move |venue| {
                AccountWorker::new(worker_name, venue, store, clock, state2, plan_ids)
            }),
        };
        workers.spawn(crate::connector::connect_then_run(
            pending,
            state.clone(),
            stop.clone(),
        ));
    }
}

/// The kill switch's watcher: a switch engaged or released wakes every worker.
fn spawn_kill_watch(
    workers: &mut JoinSet<()>,
    config: &Config,
    shared: &WorkerShared,
    stop: &CancellationToken,
) {
    let notify = shared.state.clone();
    workers.spawn(crate::killswitch::watch(
        shared.state.kill_board(),
        shared.store.clone(),
        config.engine.data_dir.clone(),
        move || notify.notify_targets_changed(),
        stop.clone(),
    ));
}

/// In a cluster: the kill-switch watcher, the supervisor (which starts an account's worker
/// once this process holds its lease, see [`crate::cluster`]) and the follower of the other
/// processes' sleeve writes. Every account is on standby until then.
#[allow(clippy::too_many_arguments)] // the start's parts, handed over once
pub(super) async fn spawn_cluster_tasks(
    workers: &mut JoinSet<()>,
    config: &Config,
    settings: crate::cluster::Settings,
    link: tradeengine_store::cluster::ClusterLink,
    built: &StartVenues,
    shared: &WorkerShared,
    intake: &SignalIntake,
    connect: (Timestamp, &StartOptions),
    stop: &CancellationToken,
) {
    spawn_kill_watch(workers, config, shared, stop);
    for a in &config.accounts {
        if let Ok(name) = AccountName::new(&a.name) {
            shared
                .state
                .update_account_view(&name, |v| {
                    v.standby = Some("waiting for the lease".into());
                })
                .await;
        }
    }
    let (origin, options) = connect;
    workers.spawn(crate::cluster::follow::run(
        intake.clone(),
        link.clone(),
        crate::cluster::follow::CATCH_UP,
        stop.clone(),
    ));
    let supervisor = crate::cluster::supervisor::Supervisor {
        settings,
        store: shared.store.clone(),
        clock: shared.clock.clone(),
        state: shared.state.clone(),
        plan_ids: shared.plan_ids.clone(),
        link,
        config: Arc::new(config.clone()),
        options: options.clone(),
        origin,
        venues: built.venues.clone(),
    };
    workers.spawn(supervisor.run(stop.clone()));
}

/// Spawns the ATR tracker (when a source asks for ATR stops) and every pulled source.
pub(super) fn spawn_sources(
    config: &Config,
    state: &SharedState,
    intake: &SignalIntake,
    sources: Vec<Arc<dyn SignalSource>>,
    paper: &BTreeMap<AccountName, Arc<PaperVenue>>,
    clock: &Arc<dyn Clock>,
    stop: &CancellationToken,
) -> Result<JoinSet<()>, StartError> {
    let mut source_tasks = JoinSet::new();
    // ATR stops: the tracker keeps every needed ATR fresh for the intake to read.
    let atr =
        crate::stops::AtrTracker::build(config, state.atr_board(), paper).map_err(|reason| {
            StartError::Source {
                source_name: "stops".into(),
                reason,
            }
        })?;
    if let Some(tracker) = atr {
        source_tasks.spawn(tracker.run(clock.clone(), stop.clone()));
    }
    for s in sources {
        let intake = intake.clone();
        let stop = stop.clone();
        source_tasks.spawn(async move {
            if let Err(e) = s.run(intake, stop).await {
                tracing::error!(error = %e, "source stopped");
            }
        });
    }
    Ok(source_tasks)
}

/// Loads every stored sleeve into memory, then writes the start to the audit trail.
pub(super) async fn restore_sleeves_and_record_start(
    intake: &SignalIntake,
    store: &dyn Store,
    config: &Config,
    boot: u64,
    now: Timestamp,
) -> Result<(), StartError> {
    let restored = intake.restore().await?;
    AuditPayload::EngineStarted {
        boot,
        mode: config.engine.mode.as_str(),
        accounts: config.accounts.iter().map(|a| a.name.as_str()).collect(),
        sleeves_restored: restored,
    }
    .record(store, None, None, now)
    .await?;
    Ok(())
}

/// Spawns the configuration file's watcher, when the engine runs from a file with hot reload.
pub(super) fn spawn_reloader(
    workers: &mut JoinSet<()>,
    config: &Config,
    options: &StartOptions,
    shared: &WorkerShared,
    stop: &CancellationToken,
) {
    if let Some(path) = options.config_path.clone()
        && config.engine.hot_reload
    {
        workers.spawn(crate::reloader::watch(
            path,
            shared.state.clone(),
            shared.store.clone(),
            shared.clock.clone(),
            options.env_overrides.clone(),
            stop.clone(),
        ));
    }
}
