//! The arguments of `tradeengine config …`: checking, importing and the setup wizards.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and everything `run` checks at start (credential and secret
    /// variables, venue hosts, the live confirmation); exit code 2 listing every key and reason.
    Check(CheckArgs),
    /// Print the effective configuration (file + environment + flags) as TOML.
    Show,
    /// Import the seed system's JSON files (asset_mapping_config.json, signal_weight_config.json,
    /// bittensor_processor_config.json, credentials.json) into a TOML configuration; keys go
    /// to the encrypted credentials file. Prints its choices, what it left out and what remains
    /// to set.
    Import(ImportArgs),
    /// Change the weights of sources per symbol (interactive in a terminal, or with --set).
    Weights(WeightsArgs),
    /// Change a source's symbol mapping (interactive in a terminal, or with --map/--remove).
    Mapping(MappingArgs),
    /// Where each exchange account's keys are kept (encrypted file or environment variables),
    /// and the keys themselves for the encrypted file (interactive in a terminal, or with
    /// --account and --file/--env). Secrets are never echoed nor written into the TOML.
    Credentials(CredentialsSetupArgs),
    /// The Bittensor SN8 source's settings: validator URLs, key variable, poll interval,
    /// ranking and sirouk/trade-engine's parameters (interactive in a terminal, or with
    /// --set/--unset).
    Sn8(Sn8SetupArgs),
    /// Add, change or remove exchange accounts: venue, mode, where the keys are, base URL
    /// (interactive in a terminal, or with --add/--modify/--remove and their flags).
    Accounts(AccountsSetupArgs),
    /// Add or change a traded pair in one flow: its symbol per source (mapping), leverage and
    /// source weights (interactive in a terminal, or with --symbol and flags).
    Symbols(SymbolsSetupArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Also ask each exchange account's venue (public endpoints, no keys) whether it lists every
    /// configured symbol.
    #[arg(long)]
    pub online: bool,
    /// Check as `run --mode MODE` would start (dry-run, paper, testnet or live).
    #[arg(long)]
    pub mode: Option<String>,
    /// Check as `run --live` would start (accounts in live mode need it).
    #[arg(long)]
    pub live: bool,
}

#[derive(Debug, Args)]
pub struct AccountsSetupArgs {
    /// Add this account (needs --venue).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["modify", "remove"])]
    pub add: Option<String>,
    /// Change this account.
    #[arg(long, value_name = "NAME", conflicts_with = "remove")]
    pub modify: Option<String>,
    /// Remove this account from the configuration (its keys stay in the credentials file).
    #[arg(long, value_name = "NAME")]
    pub remove: Option<String>,
    /// bybit, binance, blofin, kucoin, mexc, hyperliquid or paper.
    #[arg(long)]
    pub venue: Option<String>,
    /// This account's mode: dry-run, paper, testnet, live; `default` follows [engine] mode.
    #[arg(long)]
    pub mode: Option<String>,
    /// Keys from PREFIX_API_KEY, PREFIX_API_SECRET (and PREFIX_API_PASSPHRASE) at run time.
    #[arg(long, value_name = "PREFIX", conflicts_with = "credentials_file")]
    pub credentials_env: Option<String>,
    /// Keys from this encrypted file (store them with `tradeengine config credentials`).
    #[arg(long, value_name = "PATH")]
    pub credentials_file: Option<PathBuf>,
    /// REST base URL (a proxy, a simulator; needed for MEXC and KuCoin in testnet); `default`
    /// removes it.
    #[arg(long)]
    pub base_url: Option<String>,
    /// enabled, close_only or disabled.
    #[arg(long)]
    pub state: Option<String>,
    /// Leverage this account uses instead of the blended one; 0 removes it.
    #[arg(long)]
    pub leverage_override: Option<String>,
    /// Orders smaller than this (quote units) are skipped.
    #[arg(long)]
    pub min_order_notional: Option<String>,
    /// Write without asking for confirmation.
    #[arg(long, short)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct SymbolsSetupArgs {
    /// The unified symbol to add or change, e.g. TAOUSDT.
    #[arg(long)]
    pub symbol: Option<String>,
    /// SOURCE=RAW (repeatable): the source's own name for the pair, e.g. sn8=TAOUSD.
    #[arg(long)]
    pub map: Vec<String>,
    /// Leverage when no source supplies one.
    #[arg(long)]
    pub leverage: Option<String>,
    /// SOURCE=WEIGHT (repeatable); the weights of one symbol sum to at most 1.
    #[arg(long)]
    pub weight: Vec<String>,
    /// Write without asking for confirmation.
    #[arg(long, short)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct CredentialsSetupArgs {
    /// Only this account (required with --file / --env).
    #[arg(long)]
    pub account: Option<String>,
    /// Keep the account's keys in this encrypted file (`credentials = "file:PATH"`).
    #[arg(long, value_name = "PATH", conflicts_with = "env")]
    pub file: Option<PathBuf>,
    /// Read the account's keys from PREFIX_API_KEY, PREFIX_API_SECRET and
    /// PREFIX_API_PASSPHRASE at run time (`credentials = "env:PREFIX"`).
    #[arg(long, value_name = "PREFIX")]
    pub env: Option<String>,
    /// With --file: store the keys found in PREFIX_API_KEY / _SECRET / _PASSPHRASE now.
    #[arg(
        long,
        value_name = "PREFIX",
        requires = "file",
        conflicts_with = "keys_stdin"
    )]
    pub keys_from_env: Option<String>,
    /// With --file: read the API key, secret and passphrase (empty line if none) from
    /// standard input, one per line.
    #[arg(long, requires = "file")]
    pub keys_stdin: bool,
    /// scrypt cost of a rewritten credentials file as log2(N), 10..=22 (default: about one
    /// second of work on this machine).
    #[arg(long, value_parser = clap::value_parser!(u8).range(10..=22))]
    pub work_factor: Option<u8>,
    /// Write without asking for confirmation.
    #[arg(long, short)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct Sn8SetupArgs {
    /// The sn8 source to change (default: the only one configured).
    #[arg(long)]
    pub source: Option<String>,
    /// KEY=VALUE (repeatable), e.g. positions_url=https://…, interval_secs=15,
    /// seed.min_trades=10, ttl_secs=120, on_stale=flat. `tradeengine config sn8 --keys` lists
    /// the keys.
    #[arg(long)]
    pub set: Vec<String>,
    /// KEY (repeatable): back to its default.
    #[arg(long)]
    pub unset: Vec<String>,
    /// Start from no settings instead of the current ones.
    #[arg(long)]
    pub fresh: bool,
    /// List the keys --set accepts, with their defaults, and exit.
    #[arg(long)]
    pub keys: bool,
    /// Write without asking for confirmation.
    #[arg(long, short)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct WeightsArgs {
    /// Only this symbol (required with --set / --fresh).
    #[arg(long)]
    pub symbol: Option<String>,
    /// SOURCE=WEIGHT (repeatable); a weight of 0 removes the source from the symbol.
    #[arg(long)]
    pub set: Vec<String>,
    /// Start from no weights instead of the current ones.
    #[arg(long)]
    pub fresh: bool,
    /// The symbol's leverage (used when no source supplies one); needs --symbol.
    #[arg(long)]
    pub leverage: Option<String>,
    /// With --symbol: add the [[symbols]] entry when there is none (asked at a terminal).
    #[arg(long)]
    pub create: bool,
    /// Write without asking for confirmation.
    #[arg(long, short)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct MappingArgs {
    /// The source whose mapping changes.
    #[arg(long)]
    pub source: Option<String>,
    /// RAW=UNIFIED (repeatable); another source symbol already mapped to UNIFIED is replaced.
    #[arg(long)]
    pub map: Vec<String>,
    /// Source symbols to unmap (repeatable).
    #[arg(long)]
    pub remove: Vec<String>,
    /// Start from no mapping instead of the current one.
    #[arg(long)]
    pub fresh: bool,
    /// Write without asking for confirmation.
    #[arg(long, short)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Directory holding sirouk/trade-engine's JSON files.
    #[arg(long, default_value = ".")]
    pub from: PathBuf,
    /// Where to write the TOML; merged into it when it exists.
    #[arg(long, default_value = "tradeengine.toml")]
    pub out: PathBuf,
    /// The encrypted file (beside the TOML) that receives the keys of credentials.json
    /// (passphrase from TRADEENGINE_CREDENTIALS_PASSPHRASE or a prompt).
    #[arg(long, default_value = "credentials.age")]
    pub credentials_file: PathBuf,
    /// scrypt cost of the credentials file as log2(N), 10..=22 (default: about one second).
    #[arg(long, value_parser = clap::value_parser!(u8).range(10..=22))]
    pub work_factor: Option<u8>,
}
