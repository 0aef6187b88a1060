//! Starting and stopping the engine: venues from the configuration, sleeves restored from the
//! store, one worker per account, the sources, the sleeve-exit watcher and the config reloader.
//! Shutdown stops intake first, lets in-flight cycles finish, then reports a session summary.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tradeengine_model::{AccountName, Clock, SourceId, Timestamp};
use tradeengine_store::Store;

use crate::audit_payload::AuditPayload;
use tradeengine_venues::feed::{KlineSeries, RandomWalkConfig, ReplayOptions};
use tradeengine_venues::paper::JsonFileStore;
use tradeengine_venues::{PaperConfig, PaperVenue, PriceFeed, RandomWalkFeed, RecordedFeed, Venue};

use crate::config::{Config, SourceKind};
use crate::connector::{BuildError, BuiltVenue};
pub use crate::connector::paper::recorded_feed;
pub use crate::start_options::StartOptions;

mod session;
use crate::intake::SignalIntake;
use crate::plan_ids::PlanIds;
use crate::sources::SignalSource;
use crate::sources::demo::{DemoSettings, DemoSource};
use crate::state::SharedState;
use crate::summary::SessionSummary;
use crate::worker::AccountWorker;

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
}

impl StartError {
    /// A configuration problem (the binary exits 2), not a failure of something outside.
    pub fn is_config(&self) -> bool {
        matches!(self, Self::AccountConfig { .. } | Self::LiveNotConfirmed)
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
        if crate::config::preflight::live_not_confirmed(&config, options.live_confirmed) {
            return Err(StartError::LiveNotConfirmed);
        }
        std::fs::create_dir_all(&config.engine.data_dir).map_err(|e| StartError::Account {
            account: "*".into(),
            reason: format!(
                "cannot create data dir {}: {e}",
                config.engine.data_dir.display()
            ),
        })?;
        let ownership = crate::ownership::Ownership::claim(&config, store.clone(), now).await?;
        let origin = paper_origin(&*store, now).await?;
        let mut venues = BTreeMap::new();
        let mut paper = BTreeMap::new();
        // Accounts whose venue could not be reached yet: they retry on their own (15.5).
        let mut connecting = Vec::new();
        for a in &config.accounts {
            let name = AccountName::new(&a.name).map_err(|e| StartError::Account {
                account: a.name.clone(),
                reason: e.to_string(),
            })?;
            match crate::connector::build_venue(&config, a, &clock, origin, &options).await {
                Ok((venue, paper_venue)) => {
                    if let Some(p) = paper_venue {
                        paper.insert(name.clone(), p);
                    }
                    venues.insert(name, venue);
                }
                Err(BuildError::Transient(reason)) => connecting.push((name, a.clone(), reason)),
                Err(e) => return Err(start_error(&a.name, e)),
            }
        }
        crate::sources::validate_settings(&config, &|k: &str| options.env(k)).map_err(|e| {
            StartError::Source {
                source_name: e.key.clone(),
                reason: e.reason.clone(),
            }
        })?;
        let sources = build_sources(&config, &options, &paper)?;
        let env = |k: &str| options.env(k);
        let webhooks = crate::sources::tradingview::endpoints(&config, &env).map_err(|reason| {
            StartError::Source {
                source_name: "tradingview".into(),
                reason,
            }
        })?;

        let plan_ids = Arc::new(PlanIds::start(&*store).await?);
        let state = SharedState::new(config.clone());
        for a in &config.accounts {
            if let Ok(name) = AccountName::new(&a.name) {
                let connected = venues.contains_key(&name);
                state
                    .update_account_view(&name, |v| {
                        v.mode = Some(config.account_mode(a).as_str().to_string());
                        v.trading = Some(crate::config::modes::describe(&config, a));
                        v.connection = Some(if connected {
                            "connected".into()
                        } else {
                            "connecting".into()
                        });
                    })
                    .await;
            }
        }
        if let Some(path) = options.config_path.clone() {
            crate::reloader::remember_file_engine(&state, &path);
            state.set_config_file(path);
        }
        state.set_webhooks(webhooks).await;
        let intake = SignalIntake::new(state.clone(), store.clone(), clock.clone());
        let restored = intake.restore().await?;
        AuditPayload::EngineStarted {
            boot: plan_ids.boot(),
            mode: config.engine.mode.as_str(),
            accounts: config.accounts.iter().map(|a| a.name.as_str()).collect(),
            sleeves_restored: restored,
        }
        .record(&*store, None, None, now)
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
        {
            let notify = state.clone();
            workers.spawn(crate::killswitch::watch(
                state.kill_board(),
                store.clone(),
                config.engine.data_dir.clone(),
                move || notify.notify_targets_changed(),
                stop_workers.clone(),
            ));
        }
        for (name, venue) in &venues {
            let worker = AccountWorker::new(
                name.clone(),
                venue.clone(),
                store.clone(),
                clock.clone(),
                state.clone(),
                plan_ids.clone(),
            );
            workers.spawn(worker.run(stop_workers.clone()));
        }
        let shared_config = Arc::new(config.clone());
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
                stop_workers.clone(),
            ));
        }
        // Nudge every worker to run its first cycle (settling, then reconciling) at once.
        state.notify_targets_changed();
        workers.spawn(exit_watcher(intake.clone(), stop_workers.clone()));
        ownership.spawn_keepers(&mut workers, &config, &clock, &stop_workers);
        if let Some(path) = options.config_path.clone()
            && config.engine.hot_reload
        {
            workers.spawn(crate::reloader::watch(
                path,
                state.clone(),
                store.clone(),
                clock.clone(),
                options.env_overrides.clone(),
                stop_workers.clone(),
            ));
        }
        let mut source_tasks = JoinSet::new();
        // ATR stops: the tracker keeps every needed ATR fresh for the intake to read.
        let atr = crate::stops::AtrTracker::build(&config, state.atr_board(), &paper).map_err(
            |reason| StartError::Source {
                source_name: "stops".into(),
                reason,
            },
        )?;
        if let Some(tracker) = atr {
            source_tasks.spawn(tracker.run(clock.clone(), stop_sources.clone()));
        }
        for s in sources {
            let intake = intake.clone();
            let stop = stop_sources.clone();
            source_tasks.spawn(async move {
                if let Err(e) = s.run(intake, stop).await {
                    tracing::error!(error = %e, "source stopped");
                }
            });
        }
        Ok(Self {
            state,
            intake,
            store,
            venues,
            paper,
            clock,
            started_at: now,
            boot: plan_ids.boot(),
            stop_sources,
            stop_workers,
            sources: source_tasks,
            workers,
            ownership,
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
