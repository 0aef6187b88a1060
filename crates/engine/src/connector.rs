//! Building each account's venue from its configuration, with the mode enforced where the
//! requests are made (see [`crate::config::modes`]):
//!
//! - `paper`: a paper venue. An exchange account in paper mode fills on paper against that
//!   exchange's public instruments and prices; its credentials are never resolved, so no
//!   private request can leave.
//! - `dry-run`: the real adapter behind [`DryRunVenue`], which answers leverage and margin
//!   changes without sending them and refuses orders and cancels: private reads only, even if a
//!   caller forgot to check the mode.
//! - `testnet`: the real adapter; a production host of any venue is refused before connecting.
//! - `live`: the real adapter.
//!
//! A venue that cannot be reached at start for a transient reason (5xx, 429, a dropped
//! connection) does not stop the engine: [`connect_then_run`] keeps the account in a visible
//! `connecting` state, retrying with back-off, and starts its worker once connected.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use tokio_util::sync::CancellationToken;
use tradeengine_model::{
    AccountName, ClientOrderId, Clock, Instrument, MarginMode, OrderRequest, OrderStatus, Position,
    Price, Symbol, Timestamp,
};
use tradeengine_venues::paper::JsonFileStore;
use tradeengine_venues::{PaperConfig, PaperVenue, Venue, VenueError, VenueErrorKind, VenueId};

use crate::config::{AccountConfig, Config, Mode, VenueKind};
use crate::start_options::StartOptions;

pub mod paper;

/// Why an account's venue could not be built.
#[derive(Debug, Clone)]
pub enum BuildError {
    /// The configuration is wrong (credentials reference, unknown venue, refused host): retrying
    /// cannot help; the engine does not start (exit 2).
    Config(String),
    /// The venue answered with an error that retrying will not fix (keys refused, hedge mode).
    Venue(String),
    /// The venue could not be reached or asked to come back later: the account retries.
    Transient(String),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Config(r) | Self::Venue(r) | Self::Transient(r) => f.write_str(r),
        }
    }
}

fn venue_error(e: VenueError) -> BuildError {
    match e.kind {
        VenueErrorKind::Retryable | VenueErrorKind::RateLimited | VenueErrorKind::Ambiguous => {
            BuildError::Transient(e.to_string())
        }
        VenueErrorKind::Unsupported => BuildError::Config(e.to_string()),
        _ => BuildError::Venue(e.to_string()),
    }
}

/// An account's venue, and the same venue as a paper venue when it is one (for P&L).
pub type BuiltVenue = (Arc<dyn Venue>, Option<Arc<PaperVenue>>);

/// Builds the venue of one account (see the module docs for what each mode builds).
pub async fn build_venue(
    config: &Config,
    account: &AccountConfig,
    clock: &Arc<dyn Clock>,
    origin: Timestamp,
    options: &StartOptions,
) -> Result<BuiltVenue, BuildError> {
    let mode = config.account_mode(account);
    let venue = match account.venue {
        VenueKind::Paper => {
            return paper::build_paper_venue(config, account, clock, origin)
                .await
                .map_err(BuildError::Config);
        }
        VenueKind::Exchange(venue) => venue,
    };
    // The same checks `config check` runs (crate::config::preflight): what is refused here is
    // what the check reports.
    let base_url =
        crate::config::preflight::account_endpoint(config, account).map_err(BuildError::Config)?;
    if mode == Mode::Paper {
        return paper_on_public_data(config, account, venue, clock, &base_url).await;
    }
    let credentials =
        crate::config::preflight::account_keys_async(config, account, |k| options.env(k))
            .await
            .map_err(BuildError::Config)?
            .map(|c| tradeengine_venues::Credentials {
                api_key: c.api_key,
                api_secret: c.api_secret,
                passphrase: c.passphrase,
            });
    if credentials.is_some() && !tradeengine_venues::registry::reports_key_permissions(venue) {
        tradeengine_venues::permissions::warn_unknown(
            venue.as_str(),
            "the venue does not report key permissions",
        );
    }
    let mut adapter = tradeengine_venues::connect::AdapterConfig::new(base_url, credentials);
    adapter.stream = account.ws_url.clone();
    adapter.clock = clock.clone();
    adapter.hyperliquid = crate::config::hyperliquid::options(config, account);
    let venue = tradeengine_venues::connect::connect(venue, adapter)
        .await
        .map_err(venue_error)?;
    if mode == Mode::DryRun {
        return Ok((Arc::new(DryRunVenue { inner: venue }), None));
    }
    Ok((venue, None))
}

/// An exchange account in paper mode: the paper venue, with the exchange's public instruments
/// and prices, and the account's `[accounts.paper]` balance, fees and slippage.
async fn paper_on_public_data(
    config: &Config,
    account: &AccountConfig,
    venue: VenueId,
    clock: &Arc<dyn Clock>,
    base_url: &str,
) -> Result<BuiltVenue, BuildError> {
    let symbols: Vec<Symbol> = config.symbols.iter().map(|s| s.symbol.clone()).collect();
    let market = tradeengine_venues::connect_public::public_market(
        venue,
        base_url,
        &symbols,
        Duration::from_secs(1),
    )
    .await
    .map_err(venue_error)?;
    for (symbol, reason) in &market.unknown {
        tracing::warn!(account = %account.name, %symbol, %reason, "{venue} does not list this symbol; it is not traded on this paper account");
    }
    let p = account.paper.clone().unwrap_or_default();
    let max_leverage = config
        .risk_limits(Some(account))
        .max_leverage
        .max(Decimal::ONE);
    let paper_config = PaperConfig {
        starting_balance: p.starting_balance,
        taker_fee_rate: p.taker_fee,
        slippage_bps: p.slippage_bps,
        max_leverage,
        instruments: market.instruments,
        ..PaperConfig::default()
    };
    let path = config
        .engine
        .data_dir
        .join(format!("paper-{}.json", account.name));
    let state_store = JsonFileStore::open(path).map_err(|e| BuildError::Config(e.to_string()))?;
    let paper = PaperVenue::open(
        paper_config,
        market.feed,
        clock.clone(),
        Box::new(state_store),
    )
    .map_err(|e| BuildError::Config(e.to_string()))?;
    let paper = Arc::new(paper);
    Ok((paper.clone(), Some(paper)))
}

/// The real adapter of a dry-run account: reads pass through; leverage and margin changes are
/// answered as done without being sent; orders and cancels are refused. The executor already
/// sends nothing in dry-run; this makes it hold for every other caller too.
#[derive(Debug)]
pub struct DryRunVenue {
    pub inner: Arc<dyn Venue>,
}

fn not_sent(what: &str) -> VenueError {
    VenueError::new(
        "dry-run",
        VenueErrorKind::Unsupported,
        format!("dry-run: {what} is never sent"),
    )
}

#[async_trait]
impl Venue for DryRunVenue {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    async fn account_value(&self) -> Result<Decimal, VenueError> {
        self.inner.account_value().await
    }
    // Forwarded, not the trait's default: the default reports no free margin, which switched
    // the margin cap off for every dry-run account (so its plans were not what live would send).
    async fn account_balance(&self) -> Result<tradeengine_venues::AccountBalance, VenueError> {
        self.inner.account_balance().await
    }
    async fn positions(&self) -> Result<Vec<Position>, VenueError> {
        self.inner.positions().await
    }
    async fn instruments(&self, symbols: &[Symbol]) -> Result<Vec<Instrument>, VenueError> {
        self.inner.instruments(symbols).await
    }
    async fn prices(&self, symbols: &[Symbol]) -> Result<BTreeMap<Symbol, Price>, VenueError> {
        self.inner.prices(symbols).await
    }
    async fn set_leverage(&self, symbol: &Symbol, leverage: Decimal) -> Result<(), VenueError> {
        tracing::debug!(%symbol, %leverage, "dry-run: leverage change not sent");
        Ok(())
    }
    async fn set_margin_mode(&self, symbol: &Symbol, mode: MarginMode) -> Result<(), VenueError> {
        tracing::debug!(%symbol, mode = mode.as_str(), "dry-run: margin mode change not sent");
        Ok(())
    }
    async fn place_order(&self, _order: &OrderRequest) -> Result<OrderStatus, VenueError> {
        Err(not_sent("an order"))
    }
    async fn cancel_order(
        &self,
        _symbol: &Symbol,
        _client_order_id: &ClientOrderId,
    ) -> Result<OrderStatus, VenueError> {
        Err(not_sent("a cancel"))
    }
    async fn order_by_client_id(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<Option<OrderStatus>, VenueError> {
        self.inner.order_by_client_id(symbol, client_order_id).await
    }
    async fn open_orders(&self, symbol: Option<&Symbol>) -> Result<Vec<OrderStatus>, VenueError> {
        self.inner.open_orders(symbol).await
    }
    fn health(&self) -> tradeengine_venues::VenueHealth {
        self.inner.health()
    }
}

/// `tradeengine_account_connecting{account}`: 1 while an account waits for its venue.
pub fn connecting_metric(account: &str, connecting: bool) {
    metrics::gauge!("tradeengine_account_connecting", "account" => account.to_string())
        .set(if connecting { 1.0 } else { 0.0 });
}

/// The state key holding an account's connection state for `tradeengine status`.
pub fn connection_key(account: &AccountName) -> String {
    format!("accounts.connection.{account}")
}

/// Records `connecting` (with the last error) or `connected`; a store failure is only logged:
/// the connection attempts go on.
async fn save_connection(
    store: &dyn tradeengine_store::Store,
    account: &AccountName,
    error: Option<&str>,
) {
    let value = match error {
        Some(e) => serde_json::json!({"state": "connecting", "error": e}),
        None => serde_json::json!({"state": "connected"}),
    };
    if let Err(e) = store.put_state(&connection_key(account), &value).await {
        tracing::warn!(%account, error = %e, "cannot record the connection state");
    }
}

/// What a worker needs once its venue is connected.
pub struct Pending {
    pub name: AccountName,
    pub account: AccountConfig,
    pub config: Arc<Config>,
    pub origin: Timestamp,
    pub options: StartOptions,
    pub first_error: String,
    /// Where the connection state is kept for `tradeengine status`.
    pub store: Arc<dyn tradeengine_store::Store>,
    pub worker: Box<dyn FnOnce(Arc<dyn Venue>) -> crate::worker::AccountWorker + Send>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("name", &self.name)
            .field("first_error", &self.first_error)
            .finish_non_exhaustive()
    }
}

/// Retries an account's connection with back-off, showing `connecting` (and the last error) in
/// its view, then runs its worker until `stop`.
pub async fn connect_then_run(
    p: Pending,
    state: crate::state::SharedState,
    stop: CancellationToken,
) {
    let mut attempts: u32 = 1;
    let mut last = p.first_error;
    loop {
        state
            .update_account_view(&p.name, |v| {
                v.connection = Some("connecting".into());
                v.connect_attempts = u64::from(attempts);
                v.last_error = Some(format!("connecting: {last}"));
            })
            .await;
        connecting_metric(p.name.as_str(), true);
        save_connection(&*p.store, &p.name, Some(&last)).await;
        // The same schedule as a failing cycle: 1 s, 2 s, 4 s … capped at a minute.
        let wait = crate::worker::backoff(attempts);
        tracing::warn!(account = %p.name, error = %last, retry_in = ?wait, "venue not reachable; account connecting");
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        match build_venue(
            &p.config,
            &p.account,
            &p.options.clock,
            p.origin,
            &p.options,
        )
        .await
        {
            Ok((venue, _)) => {
                state
                    .update_account_view(&p.name, |v| {
                        v.connection = Some("connected".into());
                        v.last_error = None;
                    })
                    .await;
                connecting_metric(p.name.as_str(), false);
                save_connection(&*p.store, &p.name, None).await;
                tracing::info!(account = %p.name, attempts, "venue connected");
                let worker = (p.worker)(venue);
                state.notify_targets_changed();
                worker.run(stop).await;
                return;
            }
            Err(e) => {
                attempts = attempts.saturating_add(1);
                last = e.to_string();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dry-run wrapper reports what the real account reports, free margin included (the
    /// trait's default would switch the margin cap off for dry-run accounts).
    #[tokio::test]
    async fn dry_run_reports_the_inner_venues_free_margin() {
        use tradeengine_venues::feed::{RandomWalkConfig, RandomWalkFeed};
        use tradeengine_venues::paper::{MemoryStore, PaperVenue};
        let t0 = chrono::Utc::now();
        let feed = Arc::new(RandomWalkFeed::new(RandomWalkConfig::demo(1, t0)).unwrap());
        let inner: Arc<dyn Venue> = Arc::new(
            PaperVenue::open(
                tradeengine_venues::PaperConfig::default(),
                feed,
                Arc::new(tradeengine_model::ManualClock::new(t0)),
                Box::new(MemoryStore::new()),
            )
            .unwrap(),
        );
        let expected = inner.account_balance().await.unwrap();
        assert!(expected.available_margin.is_some());
        let dry = DryRunVenue { inner };
        assert_eq!(dry.account_balance().await.unwrap(), expected);
    }
}
