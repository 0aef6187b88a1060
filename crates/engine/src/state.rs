//! State shared between the signal intake, the account workers and the HTTP server: the live
//! configuration, every sleeve, the latest prices and each account's latest view.
//!
//! Sleeves are the engine's memory of what each source wants; they are rebuilt from the store at
//! start, and every change is written to the store before it is applied here.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::{RwLock, broadcast, watch};
use tradeengine_core::blend::Blend;
use tradeengine_model::{AccountName, Decimal, Price, Sleeve, SourceId, Symbol, Timestamp};

use crate::config::Config;
use crate::killswitch::{KillAction, KillState, SharedKillState};

pub mod live;
mod views;
pub mod webhooks;

pub use views::{AccountView, RejectionView, UnknownPositionView};
pub use webhooks::TvEndpoint;

/// Key of one sleeve.
pub type SleeveKey = (SourceId, Symbol);

/// Shared, cheaply clonable engine state.
///
/// Each board has one owner that writes it and readers that go through the narrow methods
/// below (the server's API among them), so no reader can hold a lock across an await or write
/// what it should only read:
/// - account views: each account's worker (and the connector while it connects);
/// - prices: the workers' market reads;
/// - blends: each account's worker, under its own name (every account blends with its own
///   `[accounts.risk]` limits, so one account's blend is never another's);
/// - the kill switch: the kill-switch watcher;
/// - webhook endpoints: start-up and hot reload;
/// - sleeves: the signal intake (each change stored first);
/// - price ticks: the workers, as their venues report instruments;
/// - ATR readings: the ATR tracker;
/// - source freshness: the polled sources (SN8, strategies).
#[derive(Debug, Clone)]
pub struct SharedState {
    config: watch::Sender<Arc<Config>>,
    /// Written by the signal intake only (every change is stored first).
    sleeves: Arc<RwLock<BTreeMap<SleeveKey, Sleeve>>>,
    prices: Arc<RwLock<BTreeMap<Symbol, Price>>>,
    accounts: Arc<RwLock<BTreeMap<AccountName, AccountView>>>,
    /// The latest blend per account and symbol, for the API's breakdown of source
    /// contributions.
    blends: Arc<RwLock<BTreeMap<(AccountName, Symbol), Blend>>>,
    /// Each symbol's price tick as an account's venue reported it (the coarsest when venues
    /// differ), so prices are shown at the precision they trade at ([`crate::display`]).
    ticks: Arc<RwLock<BTreeMap<Symbol, Decimal>>>,
    /// Bumped whenever a sleeve changes, so account workers re-plan at once.
    targets_changed: watch::Sender<u64>,
    /// The kill switch as last read from the store and the kill file.
    kill: SharedKillState,
    /// TradingView webhook endpoints by source name, rebuilt when the configuration changes.
    webhooks: Arc<RwLock<BTreeMap<String, Arc<TvEndpoint>>>>,
    /// The configuration file the engine was started from (none for the embedded demo), which
    /// configuration writes (REST API) edit.
    config_file: Arc<std::sync::OnceLock<std::path::PathBuf>>,
    /// The latest ATR per account, interval, period and symbol, for sources with ATR stops.
    atr: crate::stops::AtrBook,
    /// The `[engine]` table as the configuration file said it at start (environment applied,
    /// start flags not): what hot reload compares a changed file's `[engine]` against, so a
    /// flag given at start is never mistaken for an edit.
    file_engine: Arc<std::sync::OnceLock<crate::config::EngineConfig>>,
    /// The refusal log's per-minute windows (see [`crate::refusals`]).
    pub refusal_log: Arc<crate::refusals::LogWindows>,
    /// Each polled source's freshness (see [`crate::freshness`]).
    freshness: crate::freshness::FreshnessBook,
    /// The newest sender time taken per canonical source and symbol (see
    /// [`crate::sent_order`]).
    pub sent_order: Arc<crate::sent_order::SentOrder>,
    /// What happens, as it happens (see [`live`]): written by the live feed, read by the
    /// event stream and the notifications.
    live: broadcast::Sender<live::LiveEvent>,
    /// The P&L books the API and the metrics read, kept up to date incrementally (see
    /// [`crate::pnl::BooksCache`]).
    pub pnl_books: Arc<crate::pnl::BooksCache>,
}

impl SharedState {
    pub fn new(config: Config) -> Self {
        Self {
            config: watch::Sender::new(Arc::new(config)),
            sleeves: Arc::default(),
            prices: Arc::default(),
            accounts: Arc::default(),
            blends: Arc::default(),
            ticks: Arc::default(),
            targets_changed: watch::Sender::new(0),
            kill: SharedKillState::default(),
            webhooks: Arc::default(),
            config_file: Arc::default(),
            atr: crate::stops::AtrBook::default(),
            file_engine: Arc::default(),
            refusal_log: Arc::default(),
            freshness: crate::freshness::FreshnessBook::default(),
            sent_order: Arc::default(),
            live: broadcast::Sender::new(live::LIVE_CAPACITY),
            pnl_books: Arc::default(),
        }
    }

    /// Follows what happens from now on (see [`live`]).
    pub fn subscribe_live(&self) -> broadcast::Receiver<live::LiveEvent> {
        self.live.subscribe()
    }

    /// Says a live event to whoever follows (nobody is fine). For the live feed.
    pub fn publish_live(&self, event: live::LiveEvent) {
        let _ = self.live.send(event);
    }

    /// The configuration in force now.
    pub fn config(&self) -> Arc<Config> {
        self.config.borrow().clone()
    }

    /// Replaces the configuration (after validation and the hot-reload check) and wakes the
    /// account workers.
    pub fn set_config(&self, config: Config) {
        self.config.send_replace(Arc::new(config));
        self.notify_targets_changed();
    }

    /// Records the configuration file (once, at start).
    pub fn set_config_file(&self, path: std::path::PathBuf) {
        let _ = self.config_file.set(path);
    }

    /// The configuration file, when the engine runs from one.
    pub fn config_file(&self) -> Option<&std::path::Path> {
        self.config_file.get().map(std::path::PathBuf::as_path)
    }

    /// Records the file's own `[engine]` table (once, at start; see `reloader`).
    pub fn set_file_engine(&self, engine: crate::config::EngineConfig) {
        let _ = self.file_engine.set(engine);
    }

    /// The file's own `[engine]` table at start, when it was recorded.
    pub fn file_engine(&self) -> Option<&crate::config::EngineConfig> {
        self.file_engine.get()
    }

    pub fn subscribe_config(&self) -> watch::Receiver<Arc<Config>> {
        self.config.subscribe()
    }

    pub fn notify_targets_changed(&self) {
        self.targets_changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    pub fn subscribe_targets(&self) -> watch::Receiver<u64> {
        self.targets_changed.subscribe()
    }

    /// Every account's view, as of each account's last cycle.
    pub async fn account_views(&self) -> BTreeMap<AccountName, AccountView> {
        self.accounts.read().await.clone()
    }

    /// Why this engine may no longer take signals, when an account's lease was taken over by
    /// another engine: the first such account and the reason.
    pub async fn lease_lost(&self) -> Option<String> {
        let views = self.accounts.read().await;
        views
            .iter()
            .find_map(|(a, v)| v.lease_lost.as_ref().map(|r| format!("account {a}: {r}")))
    }

    /// One account's view, when it has one.
    pub async fn account_view(&self, account: &AccountName) -> Option<AccountView> {
        self.accounts.read().await.get(account).cloned()
    }

    /// Changes one account's view (created empty when it has none yet). For the account's
    /// worker, its connector and start-up.
    pub async fn update_account_view(
        &self,
        account: &AccountName,
        f: impl FnOnce(&mut AccountView),
    ) {
        let mut views = self.accounts.write().await;
        f(views.entry(account.clone()).or_default());
    }

    /// The latest price of every symbol a cycle has read.
    pub async fn prices(&self) -> BTreeMap<Symbol, Price> {
        self.prices.read().await.clone()
    }

    /// The latest price of one symbol.
    pub async fn price(&self, symbol: &Symbol) -> Option<Price> {
        self.prices.read().await.get(symbol).copied()
    }

    /// Records prices a cycle read (other symbols keep theirs).
    pub async fn publish_prices(&self, prices: &BTreeMap<Symbol, Price>) {
        let mut board = self.prices.write().await;
        for (s, p) in prices {
            board.insert(s.clone(), *p);
        }
    }

    /// Records one account's blends of this cycle, for the API. The account's own cycle never
    /// reads them back: it keeps the blends it computed.
    pub async fn publish_blends(&self, account: &AccountName, blends: &[Blend]) {
        let mut board = self.blends.write().await;
        for b in blends {
            board.insert((account.clone(), b.symbol.clone()), b.clone());
        }
    }

    /// Every account's latest blend per symbol: symbol → account → blend.
    pub async fn blends(&self) -> BTreeMap<Symbol, BTreeMap<AccountName, Blend>> {
        let mut out: BTreeMap<Symbol, BTreeMap<AccountName, Blend>> = BTreeMap::new();
        for ((account, symbol), blend) in self.blends.read().await.iter() {
            out.entry(symbol.clone())
                .or_default()
                .insert(account.clone(), blend.clone());
        }
        out
    }

    /// The kill switch as last read.
    pub async fn kill_state(&self) -> KillState {
        self.kill.read().await.clone()
    }

    /// Whether the kill switch is engaged (stored or by file).
    pub async fn kill_engaged(&self) -> bool {
        self.kill.read().await.is_engaged()
    }

    /// The kill switch's action on one account, if any.
    pub async fn kill_action_for(&self, account: &AccountName) -> Option<KillAction> {
        self.kill.read().await.action_for(account)
    }

    /// Reads the kill switch again from the store and the kill file (after an operator
    /// engaged or released it), without waiting for the watcher.
    pub async fn refresh_kill(
        &self,
        store: &dyn tradeengine_store::Store,
        data_dir: &std::path::Path,
    ) {
        crate::killswitch::refresh(&self.kill, store, data_dir).await;
    }

    /// The kill switch's board, for its watcher (the one writer).
    pub(crate) fn kill_board(&self) -> SharedKillState {
        self.kill.clone()
    }

    /// The webhook endpoint of one TradingView source.
    pub async fn webhook(&self, source: &str) -> Option<Arc<TvEndpoint>> {
        self.webhooks.read().await.get(source).cloned()
    }

    /// Replaces the webhook endpoints (start-up, hot reload).
    pub(crate) async fn set_webhooks(&self, endpoints: BTreeMap<String, Arc<TvEndpoint>>) {
        *self.webhooks.write().await = endpoints;
    }

    /// Every sleeve, by source and symbol.
    pub async fn sleeves(&self) -> BTreeMap<SleeveKey, Sleeve> {
        self.sleeves.read().await.clone()
    }

    /// One source's sleeve of one symbol, when it has one.
    pub async fn sleeve(&self, key: &SleeveKey) -> Option<Sleeve> {
        self.sleeves.read().await.get(key).cloned()
    }

    /// When any sleeve of each symbol last changed (symbols without a sleeve are absent).
    pub async fn latest_sleeve_updates(&self) -> BTreeMap<Symbol, Timestamp> {
        let mut latest: BTreeMap<Symbol, Timestamp> = BTreeMap::new();
        for ((_, symbol), sleeve) in self.sleeves.read().await.iter() {
            let at = latest.entry(symbol.clone()).or_insert(sleeve.updated_at);
            *at = (*at).max(sleeve.updated_at);
        }
        latest
    }

    /// Replaces sleeves after the store took them. For the signal intake only: it does not wake
    /// the workers (the intake does, once per batch).
    pub(crate) async fn put_sleeves(&self, sleeves: impl IntoIterator<Item = (SleeveKey, Sleeve)>) {
        self.sleeves.write().await.extend(sleeves);
    }

    /// Every symbol's price tick learnt so far (see [`crate::display`]).
    pub async fn ticks(&self) -> BTreeMap<Symbol, Decimal> {
        self.ticks.read().await.clone()
    }

    /// Learns the ticks of `instruments` (the coarsest when two venues differ) and returns every
    /// tick known now. For the account workers.
    pub(crate) async fn learn_ticks(
        &self,
        instruments: &[tradeengine_model::Instrument],
    ) -> BTreeMap<Symbol, Decimal> {
        let mut ticks = self.ticks.write().await;
        for i in instruments.iter().filter(|i| i.tick_size > Decimal::ZERO) {
            let tick = ticks.entry(i.symbol.clone()).or_insert(i.tick_size);
            *tick = (*tick).max(i.tick_size);
        }
        ticks.clone()
    }

    /// The ATR board, for the ATR tracker (its one writer) and the intake's stop choice.
    pub fn atr_board(&self) -> crate::stops::AtrBook {
        self.atr.clone()
    }

    /// Every polled source's freshness now.
    pub fn source_freshness(&self) -> BTreeMap<String, crate::freshness::SourceFreshness> {
        self.freshness.snapshot()
    }

    /// One polled source's freshness, when it registered.
    pub fn freshness_of(&self, source: &str) -> Option<crate::freshness::SourceFreshness> {
        self.freshness.get(source)
    }

    /// The freshness board, for the polled sources that report into it.
    pub(crate) fn freshness_board(&self) -> crate::freshness::FreshnessBook {
        self.freshness.clone()
    }

    /// The sleeves of one symbol, for blending.
    pub async fn sleeves_of(&self, symbol: &Symbol) -> Vec<Sleeve> {
        self.sleeves
            .read()
            .await
            .iter()
            .filter(|((_, s), _)| s == symbol)
            .map(|(_, v)| v.clone())
            .collect()
    }
}
