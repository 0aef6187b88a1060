//! The shape of `tradeengine.toml`, key by key. The README's configuration reference documents
//! the same keys; a test checks that the README's full example parses.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tradeengine_model::{MarginMode, Symbol};
use tradeengine_venues::StreamSetting;

use super::risk::RiskConfig;

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub engine: EngineConfig,
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    /// Signal sources by name; the name is the source id used in weights and mappings.
    #[serde(default)]
    pub sources: BTreeMap<String, SourceConfig>,
    /// Per source: source symbol → unified symbol.
    #[serde(default)]
    pub mapping: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    pub symbols: Vec<SymbolConfig>,
    #[serde(default)]
    pub risk: RiskConfig,
    #[serde(default)]
    pub api: ApiConfig,
    /// `[notifications.telegram]`, `[notifications.webhook]` (see `tradeengine_notify::config`).
    #[serde(default)]
    pub notifications: tradeengine_notify::NotificationsConfig,
}

/// `[api]`: who may use the REST API. Tokens are read from environment variables, never from
/// this file. `/health`, `/ready` and `/metrics` need no token (probes and scrapers);
/// everything under `/api/` does, always: a variable not named here defaults to
/// [`DEFAULT_READ_TOKEN_ENV`] / [`DEFAULT_CONTROL_TOKEN_ENV`], and a variable not set leaves
/// that scope closed (never open).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiConfig {
    /// Variable holding the token that may read (positions, orders, signals, audit, …).
    pub read_token_env: Option<String>,
    /// Variable holding the token that may also act (kill switch, configuration writes); it
    /// may read too.
    pub control_token_env: Option<String>,
}

/// The read token's variable when `[api] read_token_env` is not given.
pub const DEFAULT_READ_TOKEN_ENV: &str = "TRADEENGINE_READ_TOKEN";
/// The control token's variable when `[api] control_token_env` is not given.
pub const DEFAULT_CONTROL_TOKEN_ENV: &str = "TRADEENGINE_CONTROL_TOKEN";

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            read_token_env: Some(DEFAULT_READ_TOKEN_ENV.to_string()),
            control_token_env: Some(DEFAULT_CONTROL_TOKEN_ENV.to_string()),
        }
    }
}

impl ApiConfig {
    /// The variable holding the read token (the default when none is named).
    pub fn read_var(&self) -> &str {
        self.read_token_env
            .as_deref()
            .filter(|v| !v.is_empty())
            .unwrap_or(DEFAULT_READ_TOKEN_ENV)
    }

    /// The variable holding the control token (the default when none is named).
    pub fn control_var(&self) -> &str {
        self.control_token_env
            .as_deref()
            .filter(|v| !v.is_empty())
            .unwrap_or(DEFAULT_CONTROL_TOKEN_ENV)
    }
}

/// How far orders go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Plan and record, send nothing.
    DryRun,
    /// The paper venue fills against real or recorded prices.
    #[default]
    Paper,
    /// Venue test networks.
    Testnet,
    /// Real money; needs `--live` on the command line as well.
    Live,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DryRun => "dry-run",
            Self::Paper => "paper",
            Self::Testnet => "testnet",
            Self::Live => "live",
        }
    }
}

/// `[engine]`: process-wide settings. Changing these needs a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineConfig {
    pub mode: Mode,
    /// Seconds between reconciliation cycles when no target changed.
    pub drift_check_interval_secs: u64,
    /// Where the SQLite database, paper venue state and the kill file live.
    pub data_dir: PathBuf,
    /// HTTP server address. Loopback unless you put a proxy with TLS in front.
    pub bind: SocketAddr,
    /// `sqlite:PATH` or `postgres://…`; empty means `sqlite:<data_dir>/tradeengine.sqlite`.
    pub database_url: String,
    /// Fraction of |target| inside which a position is left alone (hysteresis against churn).
    pub drift_band: Decimal,
    /// Watch the config file and apply hot-reloadable changes.
    pub hot_reload: bool,
    /// What an account does with a position the store has no record of managing (a fresh or
    /// lost database, a manual trade): `hold` (default), `adopt` or `flatten`. Accounts may
    /// override it.
    pub on_unknown_position: UnknownPositionPolicy,
    /// Several engines share the accounts through one PostgreSQL database (see
    /// `crate::cluster`): each account is traded by the process holding its lease, the others
    /// stand by and take it over when the holder dies. Off: a second engine is refused.
    pub cluster: bool,
    /// This process's name in the cluster (leases, `tradeengine cluster status`); empty means
    /// `HOST:PID`. Give each process a stable, unique one.
    pub node_id: String,
    /// How long an account lease lasts without renewal: a dead holder's accounts are taken
    /// over within about this long. The holder renews every third of it and stops sending at
    /// two thirds of it without a successful renewal (its own clock).
    pub lease_ttl_secs: u64,
    /// In a cluster: `first` (default) lets the first process up trade every account while the
    /// others stand by; `shared` balances the accounts over the live processes (at most one more
    /// each than the fair share), handing accounts over cleanly when a process joins or leaves.
    pub accounts: AccountSpread,
}

/// Shortest `engine.lease_ttl_secs` accepted: renewals every third of it must fit a slow
/// database round trip.
pub const MIN_TTL_SECS: u64 = 3;
/// Longest `engine.lease_ttl_secs` accepted: a dead holder's accounts would stay untraded this
/// long.
pub const MAX_TTL_SECS: u64 = 300;

/// How a cluster's processes share the accounts (`engine.accounts`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountSpread {
    /// Whoever takes an account first keeps it until it dies or stops.
    #[default]
    First,
    /// Each live process trades about as many accounts as the others.
    Shared,
}

/// What the engine does with a position on the venue that the store has no record of managing
/// (no stored target, order or sleeve for that account and symbol): one it never opened, so
/// nobody asked it to trade it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownPositionPolicy {
    /// Leave it alone (no order for that symbol) until a source sets a target for the symbol
    /// after start, or an operator runs `tradeengine positions adopt|flatten`.
    #[default]
    Hold,
    /// Manage it from now on, keeping it as it is (target = current) until a source sets a
    /// target for the symbol.
    Adopt,
    /// Manage it from now on: with no source asking for a position, it is closed.
    Flatten,
}

impl UnknownPositionPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hold => "hold",
            Self::Adopt => "adopt",
            Self::Flatten => "flatten",
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            mode: Mode::Paper,
            drift_check_interval_secs: 10,
            data_dir: PathBuf::from("tradeengine-data"),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: String::new(),
            drift_band: Decimal::new(1, 3),
            hot_reload: true,
            on_unknown_position: UnknownPositionPolicy::Hold,
            cluster: false,
            node_id: String::new(),
            lease_ttl_secs: 15,
            accounts: AccountSpread::First,
        }
    }
}

pub use super::venue_kind::VenueKind;

/// Whether an account trades. `close_only` winds a venue down safely: targets become zero and
/// only reduce-only orders go out, as sirouk/trade-engine's disabled-account mode did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    #[default]
    Enabled,
    CloseOnly,
    Disabled,
}

/// `[[accounts]]`: one exchange account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountConfig {
    pub name: String,
    pub venue: VenueKind,
    /// Overrides `[engine] mode` for this account (e.g. one account in dry-run).
    #[serde(default)]
    pub mode: Option<Mode>,
    /// Where the keys are: `env:PREFIX` (reads PREFIX_API_KEY, PREFIX_API_SECRET,
    /// PREFIX_API_PASSPHRASE). Never the keys themselves.
    #[serde(default)]
    pub credentials: Option<String>,
    #[serde(default)]
    pub state: AccountState,
    /// When set, this leverage replaces the blended one on this account, for the venue setting
    /// and (with `[risk] leverage_override_sizes`) for sizing.
    #[serde(default)]
    pub leverage_override: Option<Decimal>,
    /// Orders worth less than this (quote units) are skipped, except closes to zero.
    #[serde(default)]
    pub min_order_notional: Decimal,
    /// Symbols worked on at once within this account.
    #[serde(default = "default_concurrency")]
    pub max_concurrent_requests: usize,
    #[serde(default)]
    pub margin_mode: MarginMode,
    /// REST base URL; default: the venue's mainnet, or its testnet in testnet mode. Set it to
    /// reach a proxy or a local simulator.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The private stream: `"auto"` (the default: derived from the venue and mode), `"off"`
    /// (fills are then confirmed over REST only), or the stream's URL. Parsed at load into a
    /// [`StreamSetting`]; the key keeps its name so existing configs read as before.
    #[serde(default, skip_serializing_if = "StreamSetting::is_auto")]
    pub ws_url: StreamSetting,
    /// Paper venue settings (venue = "paper", or an exchange account in paper mode: its
    /// starting balance, fees and slippage; prices and instruments then come from the venue's
    /// public market data).
    #[serde(default)]
    pub paper: Option<PaperAccountConfig>,
    /// Overrides `[engine] on_unknown_position` for this account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_unknown_position: Option<UnknownPositionPolicy>,
    /// `[accounts.risk]`: this account's own limits (a preset and/or keys) over `[risk]`.
    #[serde(default, skip_serializing_if = "RiskConfig::is_empty")]
    pub risk: RiskConfig,
    /// `[accounts.hyperliquid]`: a Hyperliquid account's market slippage, nonce file and
    /// dead-man switch ([`super::hyperliquid`]); other venues refuse it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hyperliquid: Option<super::hyperliquid::HyperliquidAccountConfig>,
}

fn default_concurrency() -> usize {
    10
}

/// `[accounts.paper]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PaperAccountConfig {
    /// Starting wallet balance, USDT.
    pub starting_balance: Decimal,
    /// Taker fee as a fraction of notional (0.00055 = 5.5 bp).
    pub taker_fee: Decimal,
    /// Adverse slippage on market orders, basis points.
    pub slippage_bps: Decimal,
    /// `walk` (seeded generated prices), `csv:PATH` (recorded klines), or `bybit` / `binance`
    /// (the venue's real public prices, no keys; `bybit:URL` for another base URL).
    pub price_source: String,
    /// Seed of the generated walk.
    pub seed: u64,
}

impl Default for PaperAccountConfig {
    fn default() -> Self {
        Self {
            starting_balance: Decimal::from(10_000),
            taker_fee: Decimal::new(55, 5),
            slippage_bps: Decimal::from(2),
            price_source: "walk".to_string(),
            seed: 7,
        }
    }
}

/// What a source's sleeves do when the source has not refreshed within its TTL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnStale {
    /// Count the sleeves as flat (close the exposure this source asked for).
    Flat,
    /// Keep the last exposure.
    #[default]
    Hold,
}

/// The source kinds tradeengine knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Replays a seeded script of signals (the embedded demo).
    Demo,
    Tradingview,
    Sn8,
    Nats,
    Rabbitmq,
    Rest,
    Strategy,
}

impl SourceKind {
    pub const ALL: [SourceKind; 7] = [
        Self::Demo,
        Self::Tradingview,
        Self::Sn8,
        Self::Nats,
        Self::Rabbitmq,
        Self::Rest,
        Self::Strategy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Demo => "demo",
            Self::Tradingview => "tradingview",
            Self::Sn8 => "sn8",
            Self::Nats => "nats",
            Self::Rabbitmq => "rabbitmq",
            Self::Rest => "rest",
            Self::Strategy => "strategy",
        }
    }
}

/// `[sources.<name>]`: the keys every source has; the rest of the table is the source type's own
/// settings, checked by that source's parser so an unknown key is still refused by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceConfig {
    #[serde(rename = "type")]
    pub kind: SourceKind,
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Seconds after its last signal that a sleeve of this source counts as stale.
    #[serde(default)]
    pub ttl_secs: Option<u64>,
    #[serde(default)]
    pub on_stale: OnStale,
    /// Order intents below this confidence are refused (0..=1).
    #[serde(default)]
    pub min_confidence: Option<Decimal>,
    /// Allow adding to an open sleeve (order intents).
    #[serde(default)]
    pub allow_add: bool,
    /// Minutes after a sleeve closes before it may open again (order intents).
    #[serde(default)]
    pub cooling_minutes: Option<u64>,
    /// Default stop-loss / take-profit, fractions of entry (0.02 = 2 %), when a signal has none.
    #[serde(default)]
    pub default_stop_loss: Option<Decimal>,
    #[serde(default)]
    pub default_take_profit: Option<Decimal>,
    /// How default stop-loss / take-profit distances are set: `fixed` (the two percentages
    /// above, the default) or `atr` (multiples of the average true range, falling back to the
    /// percentages while no candles are available).
    #[serde(default)]
    pub stops: StopsConfig,
    /// The source type's own settings.
    #[serde(default)]
    pub settings: toml::Table,
}

fn default_true() -> bool {
    true
}

/// `[sources.<name>] stops = { kind = "atr", ... }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StopsConfig {
    /// `default_stop_loss` / `default_take_profit` fractions of entry.
    #[default]
    Fixed,
    /// `stop_multiple` × ATR(`period`) below a long's entry (above a short's), `take_multiple` ×
    /// ATR on the other side, over `interval` candles of `account` (default: the first paper
    /// account, else the first account). Distances are rounded away from entry to the tick.
    Atr {
        #[serde(default = "default_atr_period")]
        period: usize,
        #[serde(default = "default_atr_stop")]
        stop_multiple: Decimal,
        #[serde(default = "default_atr_take")]
        take_multiple: Decimal,
        #[serde(default = "default_atr_interval")]
        interval: String,
        #[serde(default)]
        account: Option<String>,
    },
}

fn default_atr_period() -> usize {
    14
}
fn default_atr_stop() -> Decimal {
    Decimal::new(15, 1)
}
fn default_atr_take() -> Decimal {
    Decimal::new(3, 0)
}
fn default_atr_interval() -> String {
    "1m".into()
}

/// `[[symbols]]`: one traded symbol and how sources are weighted in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolConfig {
    /// Checked when the file is read: a name that is not a unified symbol refuses the load.
    pub symbol: Symbol,
    /// Leverage when no source supplies one.
    #[serde(default = "default_leverage")]
    pub leverage: Decimal,
    /// Source name → weight in [0, 1]; the weights of one symbol sum to at most 1.
    #[serde(default)]
    pub weights: BTreeMap<String, Decimal>,
    /// Cap on |blended depth| for this symbol, tighter than `[risk] max_depth`.
    #[serde(default)]
    pub max_depth: Option<Decimal>,
    /// Cap on the position's notional, quote units (sizing: the target is cut to fit).
    #[serde(default)]
    pub max_notional: Option<Decimal>,
    /// Hard limit on the leverage orders in this symbol run at; opening orders above it are
    /// refused (tighter than the account's `max_leverage`).
    #[serde(default)]
    pub max_leverage: Option<Decimal>,
    /// Hard limit on this symbol's position notional after an order, quote units; opening
    /// orders past it are refused (tighter than the account's `max_position_notional`).
    #[serde(default)]
    pub max_position_notional: Option<Decimal>,
}

fn default_leverage() -> Decimal {
    Decimal::ONE
}
