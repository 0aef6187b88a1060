//! The arguments each command takes, parsed by clap. A leaf: the commands read these, and the
//! clap tree in [`crate::cli`] assembles them, so neither needs the other back.

use std::path::PathBuf;

use clap::{Args, Subcommand};

mod config_args;
pub use config_args::*;

/// The options every command shares.
#[derive(Debug, Clone)]
pub struct Global {
    pub config: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RiskResetArgs {
    /// The account to reset.
    #[arg(long)]
    pub account: String,
    /// Why, for the audit trail.
    #[arg(long, default_value = "operator reset")]
    pub reason: String,
    /// Reset without asking, although sleeves are still open (the engine then trades back to
    /// them at once).
    #[arg(long)]
    pub yes: bool,
    /// Reset into hold: every target stays at the position the venue holds until a source
    /// sets a new one for that symbol (as `kill --release --hold`).
    #[arg(long)]
    pub hold: bool,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// Close every position with reduce-only orders (default: freeze, send nothing).
    #[arg(long, conflicts_with = "release")]
    pub flatten: bool,
    /// Only these accounts (repeatable). Default: every account.
    #[arg(long = "account")]
    pub accounts: Vec<String>,
    /// Why, for the audit trail.
    #[arg(long, default_value = "operator kill switch")]
    pub reason: String,
    /// Release the stored switch (the kill file, if any, must be deleted by hand). Shows the
    /// orders the release would send and asks for confirmation.
    #[arg(long)]
    pub release: bool,
    /// With --release: release without asking (needed when there is no terminal).
    #[arg(long, short, requires = "release")]
    pub yes: bool,
    /// With --release: release into hold. Every target stays at the position the venue holds
    /// until a source sets a new one for that symbol, so the release itself sends nothing.
    #[arg(long, requires = "release")]
    pub hold: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// HTTP address to listen on. Overrides [engine] bind.
    #[arg(long)]
    pub bind: Option<String>,
    /// dry-run, paper, testnet or live. Overrides [engine] mode.
    #[arg(long)]
    pub mode: Option<String>,
    /// Database URL (sqlite:PATH or postgres://…). Overrides [engine] database_url.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Required, in addition to mode = "live", before real orders are sent.
    #[arg(long)]
    pub live: bool,
}

#[derive(Debug, Args)]
pub struct PositionsArgs {
    /// `adopt` or `flatten` a position the engine did not open (see `positions adopt --help`).
    #[command(subcommand)]
    pub action: Option<PositionsAction>,
    /// Only this account.
    #[arg(long)]
    pub account: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct OrdersArgs {
    #[arg(long)]
    pub account: Option<String>,
    #[arg(long)]
    pub symbol: Option<String>,
    /// intended, sent, acknowledged, partially_filled, filled, rejected, cancelled, unknown.
    #[arg(long)]
    pub state: Option<String>,
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SignalsArgs {
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
    /// List refused signals instead (webhook and REST 4xx, dead-lettered broker messages, SN8
    /// rows dropped, sleeve rules), newest first, with the reason and the redacted body.
    #[arg(long)]
    pub refused: bool,
    /// With `--refused`: only this source's refusals.
    #[arg(long, requires = "refused")]
    pub source: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain and print its head (sequence and hash: keep a copy elsewhere);
    /// check it against the engine's anchor (`audit-anchor.json` in the data dir) and
    /// `--expect-head`. Exit code 1 and the first bad event when anything was edited, deleted,
    /// truncated or rewritten.
    Verify(AuditVerifyArgs),
}

#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    /// A head kept from an earlier `audit verify` (`SEQ:HASH`): the chain must still hold event
    /// SEQ with hash HASH.
    #[arg(long, value_name = "SEQ:HASH")]
    pub expect_head: Option<tradeengine_store::anchor::AuditHead>,
    /// Do not check the engine's anchor file (after moving a broken chain's anchor aside).
    #[arg(long)]
    pub no_anchor: bool,
}

#[derive(Debug, Args)]
pub struct StrategyRunArgs {
    /// The strategy source's name in the configuration.
    pub name: String,
    /// Print decisions only; required (to trade, use `tradeengine run`).
    #[arg(long)]
    pub dry_run: bool,
    /// Only this symbol (default: every symbol the source is weighted in).
    #[arg(long)]
    pub symbol: Option<String>,
    /// How many closed candles to decide on, ending now.
    #[arg(long, default_value_t = 60)]
    pub candles: u32,
}

#[derive(Debug, Args)]
pub struct Sn8Args {
    /// The sn8 source to use (default: the first one configured).
    #[arg(long)]
    pub source: Option<String>,
    /// How many ranked miners to list.
    #[arg(long, default_value_t = 25)]
    pub top: usize,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Refresh until Ctrl-C.
    #[arg(long)]
    pub watch: bool,
    /// Seconds between refreshes with --watch.
    #[arg(long, default_value_t = 2)]
    pub interval: u64,
    /// Address of the running engine's HTTP server, for live prices (as given to
    /// `run --bind`). Overrides [engine] bind.
    #[arg(long)]
    pub bind: Option<String>,
}

#[derive(Debug, Args)]
pub struct VenueSimArgs {
    /// bybit, binance, blofin, kucoin, mexc or hyperliquid.
    pub venue: String,
    #[arg(long, default_value_t = 9001)]
    pub port: u16,
    /// List this many synthetic instruments besides the venue's defaults (`S001USDT`,
    /// `S002USDT`, …, priced 11, 12, … USDT), in the venue's own listing shape: to try a
    /// many-symbol configuration or measure a cycle over many symbols.
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=5000))]
    pub instruments: u16,
    /// Inject a fault at start, to rehearse an incident: `TARGET:KIND[:PARAM][:times=N]`, e.g.
    /// `order:status-after-accept:503:times=3`, `order:timeout-after-accept`, `*:status:502`.
    /// Repeatable. More can be injected while it runs with `POST /__sim/faults`.
    #[arg(long = "fault", value_name = "SPEC")]
    pub faults: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum OrderCommand {
    /// Place one order.
    Place(OrderPlaceArgs),
    /// Cancel an open order by client order id.
    Cancel(OrderRefArgs),
    /// Show an order by client order id.
    Status(OrderRefArgs),
}

#[derive(Debug, Args)]
pub struct OrderPlaceArgs {
    #[arg(long)]
    pub account: String,
    #[arg(long)]
    pub symbol: String,
    /// buy or sell.
    #[arg(long)]
    pub side: String,
    /// Size in base units (BTC for BTCUSDT).
    #[arg(long)]
    pub qty: String,
    /// Limit price; market order when absent.
    #[arg(long)]
    pub price: Option<String>,
    #[arg(long)]
    pub reduce_only: bool,
    /// Client order id (default: a fresh one).
    #[arg(long)]
    pub client_id: Option<String>,
    /// Required for an account in live mode.
    #[arg(long)]
    pub confirm_live: bool,
    /// Send it although the engine manages the symbol (a source weights it): the engine then
    /// trades the position back to its target at its next cycle, unless it is stopped or the
    /// kill switch is engaged.
    #[arg(long)]
    pub even_if_managed: bool,
}

#[derive(Debug, Args)]
pub struct OrderRefArgs {
    #[arg(long)]
    pub account: String,
    #[arg(long)]
    pub symbol: String,
    #[arg(long)]
    pub client_id: String,
    /// Required to cancel on an account in live mode.
    #[arg(long)]
    pub confirm_live: bool,
}

#[derive(Debug, Subcommand)]
pub enum CredentialsCommand {
    /// Store (or replace) an account's keys. Prompts with echo off at a terminal; otherwise
    /// reads the API key, secret and optional passphrase one per line from standard input.
    Set(CredentialsSetArgs),
    /// List the accounts the file holds keys for (names only).
    List(CredentialsFileArgs),
    /// Remove an account's keys.
    Remove(CredentialsAccountArgs),
}

#[derive(Debug, Args)]
pub struct CredentialsFileArgs {
    /// The encrypted credentials file (passphrase from TRADEENGINE_CREDENTIALS_PASSPHRASE or a
    /// prompt).
    #[arg(
        long,
        env = "TRADEENGINE_CREDENTIALS_FILE",
        default_value = "credentials.age"
    )]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct CredentialsAccountArgs {
    /// The account name, as in the configuration's [[accounts]] name.
    #[arg(long)]
    pub account: String,
    #[arg(
        long,
        env = "TRADEENGINE_CREDENTIALS_FILE",
        default_value = "credentials.age"
    )]
    pub file: PathBuf,
    /// scrypt cost of the rewritten file as log2(N), 10..=22. Default: about one second of work
    /// on this machine (age's own calibration).
    #[arg(long, value_parser = clap::value_parser!(u8).range(10..=22))]
    pub work_factor: Option<u8>,
}

#[derive(Debug, Args)]
pub struct CredentialsSetArgs {
    /// The account name, as in the configuration's [[accounts]] name.
    #[arg(long)]
    pub account: String,
    #[arg(
        long,
        env = "TRADEENGINE_CREDENTIALS_FILE",
        default_value = "credentials.age"
    )]
    pub file: PathBuf,
    /// Read PREFIX_API_KEY, PREFIX_API_SECRET and PREFIX_API_PASSPHRASE instead of prompting.
    #[arg(long, value_name = "PREFIX")]
    pub from_env: Option<String>,
    /// scrypt cost of the rewritten file as log2(N), 10..=22. Default: about one second of work
    /// on this machine (age's own calibration).
    #[arg(long, value_parser = clap::value_parser!(u8).range(10..=22))]
    pub work_factor: Option<u8>,
}

#[derive(Debug, Args)]
pub struct VenueCheckArgs {
    /// The account to check.
    #[arg(long)]
    pub account: String,
    /// Required to check an account on a production host (a real order is placed and
    /// cancelled).
    #[arg(long)]
    pub live: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Seconds the private stream may take to connect and authenticate.
    #[arg(long = "stream-wait", default_value_t = 10)]
    pub stream_wait_secs: u64,
}

/// What to do with a position the engine did not open.
#[derive(Debug, Subcommand)]
pub enum PositionsAction {
    /// Manage it from now on, keeping it as it is until a source sets a target for the symbol.
    Adopt(DecisionArgs),
    /// Manage it from now on and close it (unless a source sets a target for the symbol).
    Flatten(DecisionArgs),
}

#[derive(Debug, Args)]
pub struct DecisionArgs {
    /// The account holding the position.
    #[arg(long)]
    pub account: String,
    /// The symbol, e.g. BTCUSDT.
    #[arg(long)]
    pub symbol: String,
    /// Why (kept in the audit trail).
    #[arg(long, default_value = "operator decision")]
    pub reason: String,
}

/// How `tradeengine pnl` groups its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PnlBy {
    /// One line per signal source, then `unattributed`.
    Source,
    /// One line per symbol (the account's own P&L in it).
    Symbol,
}

#[derive(Debug, Args)]
pub struct PnlArgs {
    /// Only this account. Default: every account, summed.
    #[arg(long)]
    pub account: Option<String>,
    /// Group lines by source or by symbol.
    #[arg(long, value_enum, default_value_t = PnlBy::Source)]
    pub by: PnlBy,
    /// Only what changed after this time (RFC 3339, or a date `YYYY-MM-DD` meaning its start in
    /// UTC): each line now minus the same line then.
    #[arg(long)]
    pub since: Option<String>,
    /// Every amount to the last decimal, as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Recorded prices of a symbol: `SYMBOL=PATH` to a klines CSV (`open_time_ms,open,high,
    /// low,close,…`), optionally `SYMBOL=PATH@RESCALE` to multiply every close (an altcoin
    /// quoted in BTC × 3e7 looks like BTC in USDT). Repeatable; each cycle is one candle end.
    /// Default: the account's mark readings in this engine's store, one cycle per cycle the
    /// engine recorded, so a paper session replays to the same fills.
    #[arg(long = "prices", conflicts_with = "prices_from")]
    pub prices: Vec<String>,
    /// Prices from a venue's public klines endpoint, no keys: `bybit`, `binance`, … (its
    /// production host) or `VENUE:URL`, for every configured symbol over `--from`..`--to`.
    #[arg(long, requires_all = ["from", "to"])]
    pub prices_from: Option<String>,
    /// With --prices-from: the first candle's open time (RFC 3339).
    #[arg(long)]
    pub from: Option<String>,
    /// With --prices-from: the end of the range (RFC 3339, exclusive).
    #[arg(long)]
    pub to: Option<String>,
    /// With --prices-from: the candle length (`1m`, `5m`, `1h`, …).
    #[arg(long, default_value = "1m")]
    pub interval: String,
    /// Signals to replay: a file of canonical signals (a JSON array, or one per line, as
    /// `tradeengine signals --json` prints them). Default: every signal in this engine's store.
    #[arg(long)]
    pub signals: Option<std::path::PathBuf>,
    /// What the --signals file holds: `canonical` (default), `tradingview:SOURCE` (one
    /// `{"at": TIME, "body": ALERT}` a line, read with that source's settings) or `sn8:SOURCE`
    /// (one `{"at": TIME, "positions": …, "statistics": …, "eliminations": …}` a line, ranked as
    /// that source's poller ranks a poll).
    #[arg(long, requires = "signals", default_value = "canonical")]
    pub signals_format: String,
    /// The account whose settings (paper fees, balance, drift band, minimum order) are used.
    /// Default: the first configured account.
    #[arg(long)]
    pub account: Option<String>,
    /// Weights to use instead of the configured ones, for every symbol: `SRC=W,SRC=W`.
    #[arg(long, conflicts_with = "sweep")]
    pub weights: Option<String>,
    /// Run many weight sets on all cores: `SRC=FROM:TO:STEP` or `SRC=W|W|W` per source, comma
    /// separated (`fast=0:1:0.25,slow=0:1:0.25`); sets summing above 1 are skipped.
    #[arg(long)]
    pub sweep: Option<String>,
    /// With --sweep: write `sweep.csv` (one row per set) and `equity.svg` (the equity curves)
    /// into this directory.
    #[arg(long, requires = "sweep")]
    pub out: Option<std::path::PathBuf>,
    /// Every figure to the last decimal, as JSON.
    #[arg(long)]
    pub json: bool,
}
