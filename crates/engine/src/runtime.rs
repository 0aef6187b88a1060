//! Starting and stopping the engine: venues from the configuration, sleeves restored from the
//! store, one worker per account, the sources, the sleeve-exit watcher and the config reloader.
//! Shutdown stops intake first, lets in-flight cycles finish, then reports a session summary.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tradeengine_model::{AccountName, Clock, SourceId, Timestamp};
use tradeengine_store::Store;

use crate::audit_payload::AuditPayload;
use tradeengine_venues::{PaperVenue, Venue};

use crate::config::{Config, SourceKind};
use crate::connector::BuildError;
pub use crate::connector::paper::recorded_feed;
pub use crate::start_options::StartOptions;

mod session;
mod steps;
use crate::intake::SignalIntake;
use crate::plan_ids::PlanIds;
use crate::sources::SignalSource;
use crate::sources::demo::{DemoSettings, DemoSource};
use crate::state::SharedState;
use crate::summary::SessionSummary;

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("account {account}: {reason}")]
    Account { account: String, reason: String },
    /// The account's configuration cannot work (credentials reference, unknown venue, a
    /// production host in testnet): fixing the file is the only way out.
    #[error("account {account}: {reason}")]
    AccountConfig { account: String, reason: String },
    #[error("source {source_name}: {reason}")]
    Source { source_name: String, reason: String },
    #[error("store: {0}")]
    Store(#[from] tradeengine_store::StoreError),
    /// Another engine holds the data dir or an account (the binary exits 2).
    #[error(transparent)]
    Ownership(#[from] crate::ownership::ClaimError),
    #[error("{0}")]
    Intake(#[from] crate::intake::IntakeError),
    #[error(
        "live mode needs --live on the command line as well as mode = \"live\" in the configuration"
    )]
    LiveNotConfirmed,
    /// A notification channel cannot be built (its token or URL is missing).
    #[error(transparent)]
    Notifications(#[from] crate::notifications::NotifySetupError),
}

impl StartError {
    /// A configuration problem (the binary exits 2), not a failure of something outside.
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            Self::AccountConfig { .. } | Self::LiveNotConfirmed | Self::Notifications(_)
        )
    }
}

/// A running engine.
#[derive(Debug)]
pub struct RunningEngine {
    pub state: SharedState,
    pub intake: SignalIntake,
    pub store: Arc<dyn Store>,
    pub venues: BTreeMap<AccountName, Arc<dyn Venue>>,
    paper: BTreeMap<AccountName, Arc<PaperVenue>>,
    clock: Arc<dyn Clock>,
    started_at: Timestamp,
    boot: u64,
    /// Stops sources (signal intake) first.
    stop_sources: CancellationToken,
    /// Then the account workers and background tasks.
    stop_workers: CancellationToken,
    sources: JoinSet<()>,
    workers: JoinSet<()>,
    /// The data dir's lock and the account leases, held until the engine stops.
    ownership: crate::ownership::Ownership,
    /// Stops the live feed (after the engine's stop is recorded, so it is said).
    stop_feed: CancellationToken,
    /// A set, so a dropped engine stops its feed too.
    feed: JoinSet<()>,
    notifications: Option<crate::notifications::Notifications>,
}

/// Builds the sources that run on their own schedule.
fn build_sources(
    config: &Config,
    options: &StartOptions,
    paper: &BTreeMap<AccountName, Arc<PaperVenue>>,
) -> Result<Vec<Arc<dyn SignalSource>>, StartError> {
    let mut out: Vec<Arc<dyn SignalSource>> = Vec::new();
    for (name, s) in &config.sources {
        if !s.enabled {
            continue;
        }
        let err = |reason: String| StartError::Source {
            source_name: name.clone(),
            reason,
        };
        let id = SourceId::new(name).map_err(|e| err(e.to_string()))?;
        match s.kind {
            SourceKind::Demo => {
                let settings = DemoSettings::from_table(&s.settings).map_err(err)?;
                // The trend is read from the named paper account's prices, else the first's.
                let feed = match &settings.account {
                    Some(a) => Some(
                        paper
                            .iter()
                            .find(|(n, _)| n.as_str() == a.as_str())
                            .map(|(_, v)| v.feed())
                            .ok_or_else(|| err(format!("account {a:?} is not a paper account")))?,
                    ),
                    None => paper.values().next().map(|v| v.feed()),
                };
                out.push(Arc::new(DemoSource::new(id, settings, feed)));
            }
            SourceKind::Sn8 => {
                let env = |k: &str| options.env(k);
                let (client, ranking, mapping) =
                    crate::sources::sn8::settings(name, config, &env).map_err(err)?;
                let poller = crate::sources::sn8::Sn8Poller::new(
                    id,
                    client,
                    ranking,
                    &mapping,
                    &*options.clock,
                )
                .map_err(err)?;
                out.push(Arc::new(poller));
            }
            SourceKind::Nats => {
                let env = |k: &str| options.env(k);
                out.push(crate::sources::nats::build(id, name, config, &env).map_err(err)?);
            }
            SourceKind::Rabbitmq => {
                let env = |k: &str| options.env(k);
                out.push(crate::sources::rabbitmq::build(id, name, config, &env).map_err(err)?);
            }
            // Served by the HTTP server, which finds the source's token here.
            SourceKind::Rest => {
                let env = |k: &str| options.env(k);
                crate::sources::rest::register(name, config, &env).map_err(err)?;
            }
            SourceKind::Strategy => {
                let env = |k: &str| options.env(k);
                let (settings, agent) =
                    crate::sources::strategy::settings(name, config, &env).map_err(err)?;
                let candles =
                    crate::sources::strategy::candles_for(&settings, config, paper).map_err(err)?;
                out.push(Arc::new(crate::sources::strategy::StrategySource::new(
                    id, settings, agent, candles,
                )));
            }
            // Push sources (webhooks) are served by the HTTP server.
            SourceKind::Tradingview => {}
        }
    }
    Ok(out)
}

/// A venue that could not be built, as a start error: configuration problems apart (exit 2).
fn start_error(account: &str, e: BuildError) -> StartError {
    match e {
        BuildError::Config(reason) => StartError::AccountConfig {
            account: account.to_string(),
            reason,
        },
        BuildError::Venue(reason) | BuildError::Transient(reason) => StartError::Account {
            account: account.to_string(),
            reason,
        },
    }
}

/// The time the paper venues' generated prices count from, kept in the store so a restart
/// continues the same price path.
async fn paper_origin(store: &dyn Store, now: Timestamp) -> Result<Timestamp, StartError> {
    const KEY: &str = "paper.price_origin";
    if let Some(v) = store.get_state(KEY).await?
        && let Some(ms) = v.as_i64()
        && let Some(t) = chrono::DateTime::from_timestamp_millis(ms)
    {
        return Ok(t);
    }
    store
        .put_state(KEY, &serde_json::json!(now.timestamp_millis()))
        .await?;
    Ok(now)
}

/// Builds every configured account's venue without starting anything else (the `order`
/// command uses this, so a hand-placed order goes through exactly the engine's adapter).
pub async fn connect_venues(
    config: &Config,
    store: &dyn Store,
    options: &StartOptions,
) -> Result<BTreeMap<AccountName, Arc<dyn Venue>>, StartError> {
    let origin = paper_origin(store, options.clock.now()).await?;
    let mut venues = BTreeMap::new();
    for a in &config.accounts {
        let name = AccountName::new(&a.name).map_err(|e| StartError::Account {
            account: a.name.clone(),
            reason: e.to_string(),
        })?;
        let (venue, _) = crate::connector::build_venue(config, a, &options.clock, origin, options)
            .await
            .map_err(|e| start_error(&a.name, e))?;
        venues.insert(name, venue);
    }
    Ok(venues)
}

impl RunningEngine {
    /// Starts everything. Nothing trades until every account's open orders from a previous run
    /// have been settled by its worker's first cycle.
    pub async fn start(
        config: Config,
        store: Arc<dyn Store>,
        options: StartOptions,
    ) -> Result<Self, StartError> {
        let clock = options.clock.clone();
        let now = clock.now();
        steps::check_before_start(&config, &options)?;
        let ownership = crate::ownership::Ownership::claim(&config, store.clone(), now).await?;
        // The live feed says what comes after this: the start, and everything after it.
        let live_from = crate::sources::events::chain_head(&*store).await?;
        let origin = paper_origin(&*store, now).await?;
        let mut built = steps::build_account_venues(&config, &options, origin).await?;
        let (sources, webhooks) = steps::build_all_sources(&config, &options, &built.paper)?;

        let cluster = crate::cluster::Settings::of(&config);
        let link = match &cluster {
            Some(s) => Some(
                tradeengine_store::cluster::ClusterLink::connect(
                    &config.database_url(),
                    &s.node_id,
                )
                .await?,
            ),
            None => None,
        };
        let plan_ids = Arc::new(match &link {
            // Boot numbers are read, incremented and written back: one process at a time.
            Some(link) => {
                let lock = link.lock_sleeves().await?;
                let ids = PlanIds::start(&*store).await?;
                lock.release(false).await?;
                ids
            }
            None => PlanIds::start(&*store).await?,
        });
        let state = SharedState::new(config.clone());
        steps::publish_first_views(&state, &config, &built.venues).await;
        if let Some(path) = options.config_path.clone() {
            crate::reloader::remember_file_engine(&state, &path);
            state.set_config_file(path);
        }
        state.set_webhooks(webhooks).await;
        let env = |k: &str| options.env(k);
        let notifications =
            crate::notifications::Notifications::start(&state, store.clone(), clock.clone(), &env)
                .await?;
        let intake =
            SignalIntake::clustered(state.clone(), store.clone(), clock.clone(), link.clone());
        steps::restore_sleeves_and_record_start(&intake, &*store, &config, plan_ids.boot(), now)
            .await?;

        // The kill switch is read before any worker starts: a switch engaged before a restart
        // holds from the first cycle.
        state.refresh_kill(&*store, &config.engine.data_dir).await;
        if state.kill_engaged().await {
            tracing::warn!("starting with the kill switch engaged");
        }
        let stop_sources = CancellationToken::new();
        let stop_workers = CancellationToken::new();
        let mut workers = JoinSet::new();
        let shared = steps::WorkerShared {
            store: store.clone(),
            clock: clock.clone(),
            state: state.clone(),
            plan_ids: plan_ids.clone(),
        };
        match (cluster, link) {
            (Some(settings), Some(link)) => {
                steps::spawn_cluster_tasks(
                    &mut workers,
                    &config,
                    settings,
                    link,
                    &built,
                    &shared,
                    &intake,
                    (origin, &options),
                    &stop_workers,
                )
                .await;
            }
            _ => steps::spawn_account_tasks(
                &mut workers,
                &config,
                (&built.venues, &built.paper),
                std::mem::take(&mut built.connecting),
                &shared,
                (origin, &options),
                &stop_workers,
            ),
        }
        // Nudge every worker to run its first cycle (settling, then reconciling) at once.
        state.notify_targets_changed();
        workers.spawn(exit_watcher(intake.clone(), stop_workers.clone()));
        ownership.spawn_keepers(&mut workers, &config, &state, &clock, &stop_workers);
        steps::spawn_reloader(&mut workers, &config, &options, &shared, &stop_workers);
        let stop_feed = CancellationToken::new();
        let mut feed = JoinSet::new();
        feed.spawn(
            crate::live_feed::LiveFeed::new(store.clone(), state.clone(), clock.clone(), live_from)
                .run(stop_feed.clone()),
        );
        let source_tasks = steps::spawn_sources(
            &config,
            &state,
            &intake,
            sources,
            &built.paper,
            &clock,
            &stop_sources,
        )?;
        Ok(Self {
            state,
            intake,
            store,
            venues: built.venues,
            paper: built.paper,
            clock,
            started_at: now,
            boot: plan_ids.boot(),
            stop_sources,
            stop_workers,
            sources: source_tasks,
            workers,
            ownership,
            stop_feed,
            feed,
            notifications,
        })
    }

    pub fn started_at(&self) -> Timestamp {
        self.started_at
    }

    pub fn boot(&self) -> u64 {
        self.boot
    }

    /// The paper venue of an account, if it is one (for the session summary and tests).
    pub fn paper_venue(&self, account: &AccountName) -> Option<&Arc<PaperVenue>> {
        self.paper.get(account)
    }

    /// Stops signal intake first, then lets account workers finish their current cycle, then
    /// writes the stop to the audit trail and returns the session summary.
    pub async fn shutdown(mut self) -> SessionSummary {
        self.stop_sources.cancel();
        while self.sources.join_next().await.is_some() {}
        self.stop_workers.cancel();
        let drain = async { while self.workers.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(30), drain)
            .await
            .is_err()
        {
            tracing::warn!("account workers did not finish within 30 s; stopping them");
            self.workers.abort_all();
        }
        let summary = session::collect_summary(
            self.started_at,
            self.clock.now(),
            &self.state,
            &self.paper,
            &*self.store,
        )
        .await;
        if let Err(e) = AuditPayload::EngineStopped(&summary)
            .record(&*self.store, None, None, self.clock.now())
            .await
        {
            tracing::warn!(error = %e, "cannot record the engine stop");
        }
        self.stop_feed.cancel();
        while self.feed.join_next().await.is_some() {}
        if let Some(n) = self.notifications.take() {
            n.stop(Duration::from_secs(10)).await;
        }
        let data_dir = self.state.config().engine.data_dir.clone();
        self.ownership.stop(&data_dir, &*self.clock).await;
        summary
    }
}

/// Closes sleeves whose stop-loss or take-profit the latest prices crossed, once a second.
async fn exit_watcher(intake: SignalIntake, stop: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = intake.check_exits().await {
            tracing::warn!(error = %e, "sleeve exit check failed");
        }
    }
}
