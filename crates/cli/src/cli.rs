//! The command line, declared with clap: the command tree. Every interactive choice has a flag;
//! each command's arguments are in [`crate::args`].

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::args::*;

#[derive(Debug, Parser)]
#[command(
    name = "tradeengine",
    version,
    about = "Turns trading signals from many sources into target positions on many exchange accounts.",
    long_about = "Turns trading signals (TradingView, Bittensor SN8, NATS, RabbitMQ, REST, strategies) \
into target positions, and keeps every configured exchange account at those targets, with risk \
limits, a kill switch and an audit trail.\n\nWith no configuration file, `tradeengine run` starts \
a paper-trading demo on this machine."
)]
pub struct Cli {
    /// Configuration file. Default: ./tradeengine.toml if it exists, else the embedded paper demo.
    #[arg(long, global = true, env = "TRADEENGINE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (SQLite database, paper venue state). Overrides [engine] data_dir.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Cli {
    pub fn global(&self) -> Global {
        Global {
            config: self.config.clone(),
            data_dir: self.data_dir.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the engine (the paper demo when no configuration file exists).
    Run(RunArgs),
    /// Check, show or import configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Positions as last read from each account's venue.
    Positions(PositionsArgs),
    /// Orders the engine planned and sent, newest first.
    Orders(OrdersArgs),
    /// Signals received, newest first.
    Signals(SignalsArgs),
    /// P&L by signal source (or by symbol): each source's sleeve marked to the last price seen,
    /// with fees, slippage, funding and netting saving; the sources plus `unattributed` equal
    /// the account's P&L from its fills.
    Pnl(PnlArgs),
    /// Replay recorded signals against recorded prices through the core and the paper venue
    /// (deterministic), with P&L by source; `--weights` tries other weights, `--sweep` many.
    Replay(ReplayArgs),
    /// Audit trail tools.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Equity, positions, trade counts and recent orders per account (the status view
    /// Single-Agent-Trader's users know).
    Status(StatusArgs),
    /// Run a local simulator of an exchange's protocol (for trying configurations and tests;
    /// no real exchange is involved).
    VenueSim(VenueSimArgs),
    /// Self-test an account against its venue before trusting it to the engine (the step
    /// between `config check` and `run`).
    #[command(subcommand)]
    Venue(VenueCommand),
    /// Place, cancel or inspect one order by hand through a configured account.
    #[command(subcommand)]
    Order(OrderCommand),
    /// Bittensor SN8 tools.
    #[command(subcommand)]
    Sn8(Sn8Command),
    /// Exchange API keys in an encrypted file (`credentials = "file:PATH"` in an account):
    /// add, list or remove an account's keys. Secrets are never printed.
    #[command(subcommand)]
    Credentials(CredentialsCommand),
    /// Strategy sources (VuManChu Cipher + LLM or fallback rules).
    #[command(subcommand)]
    Strategy(StrategyCommand),
    /// Kill switch: freeze (send nothing) or flatten (close everything) all or some accounts.
    /// It holds across restarts until `tradeengine kill --release`. A running engine picks it up
    /// within a second. Without a database, `touch <data_dir>/KILL` freezes too.
    Kill(KillArgs),
    /// Portfolio risk state per account (loss limits).
    #[command(subcommand)]
    Risk(RiskCommand),
    /// The processes sharing the accounts through PostgreSQL (`engine.cluster`).
    #[command(subcommand)]
    Cluster(ClusterCommand),
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Processes, their last heartbeat, and every account's lease (holder, fencing token,
    /// expiry), read from the database.
    Status(ClusterStatusArgs),
}

#[derive(Debug, clap::Args)]
pub struct ClusterStatusArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum RiskCommand {
    /// Put an account that loss limits moved to REDUCING or HALTED back to ACTIVE, with its
    /// loss periods and high-water mark counted from now. Audited.
    Reset(RiskResetArgs),
}

#[derive(Debug, Subcommand)]
pub enum StrategyCommand {
    /// Replay the paper account's feed through a strategy source and print its decisions,
    /// without trading (the LLM is asked when one is configured).
    Run(StrategyRunArgs),
}

#[derive(Debug, Subcommand)]
pub enum Sn8Command {
    /// Fetch the validator's miner positions once and print the ranking and per-asset depths.
    Rank(Sn8Args),
}

#[derive(Debug, Subcommand)]
pub enum VenueCommand {
    /// A safe, scripted round trip against the account's venue: clock skew, key permissions
    /// (trade yes, withdraw no), account mode, balance, positions, every configured symbol's
    /// rules, the private stream, and one minimum-size limit order far from the market that is
    /// placed, read back by client id and cancelled. Exit code 0 only when every check passes.
    /// Refuses to run while an engine holds the data dir.
    Check(VenueCheckArgs),
}
