//! `tradeengine run`: start the engine and the HTTP server, print what runs where, and on
//! SIGINT/SIGTERM stop taking signals, finish in-flight requests, persist and print the session
//! summary.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use tradeengine_engine::sources::tradingview::generate_secret;
use tradeengine_server::api::auth::ApiAuth;

use tokio_util::sync::CancellationToken;
use tradeengine_engine::config::{Config, ConfigError, Mode, Origin, Overrides};
use tradeengine_engine::{RunningEngine, StartOptions};
use tradeengine_model::SystemClock;
use tradeengine_server::AppState;

use super::{load_config, open_or_create_store, redact_url};
use crate::args::{Global, RunArgs};

pub async fn run(global: &Global, args: RunArgs) -> anyhow::Result<ExitCode> {
    let (config, origin) = load_config(
        global,
        Overrides {
            bind: args.bind,
            mode: args.mode,
            database_url: args.database_url,
            data_dir: None,
        },
    )?;
    let mut fresh_dir = FreshDataDir::create(&config)?;
    let store = open_or_create_store(&config).await?;
    // Installed before the engine starts so its first cycles are counted.
    let metrics_handle = install_metrics();
    let (mut env_overrides, demo_secrets) = demo_webhook_secret(&config, &origin)?;
    let demo_tokens = demo_api_tokens(&config, &origin, &mut env_overrides)?;
    env_overrides.extend(super::credentials::passphrase_override(&config)?);
    let options = StartOptions {
        clock: Arc::new(SystemClock),
        live_confirmed: args.live,
        config_path: match &origin {
            Origin::File(p) => Some(p.clone()),
            Origin::EmbeddedDemo => None,
        },
        env_overrides: env_overrides.clone(),
    };
    let engine = match start_engine(&config, &store, &origin, options).await? {
        Ok(engine) => engine,
        Err(code) => return Ok(code),
    };
    fresh_dir.keep();
    let stop_http = CancellationToken::new();
    let lookup = |var: &str| api_token(var, &env_overrides);
    let auth = ApiAuth {
        read: lookup(config.api.read_var()),
        control: lookup(config.api.control_var()),
        loopback: config.engine.bind.ip().is_loopback(),
    };
    let app = AppState {
        engine: engine.state.clone(),
        intake: engine.intake.clone(),
        store: store.clone(),
        auth,
        started_at: engine.started_at(),
        metrics: metrics_handle,
    };
    warn_unset_api_tokens(&config, &env_overrides);
    let (addr, http) =
        match tradeengine_server::serve(config.engine.bind, app, stop_http.clone()).await {
            Ok(x) => x,
            Err(e) => {
                engine.shutdown().await;
                anyhow::bail!("cannot listen on {}: {e}", config.engine.bind);
            }
        };
    let demo_price = demo_btc_price(&engine).await;
    eprintln!(
        "{}",
        banner(
            &config,
            &origin,
            addr,
            &demo_secrets,
            demo_tokens.as_ref(),
            demo_price
        )
    );

    wait_for_signal().await;
    eprintln!("stopping: no new signals; finishing in-flight work…");
    stop_http.cancel();
    let summary = engine.shutdown().await;
    let _ = http.await;
    outln!("{}", summary.render());
    Ok(ExitCode::SUCCESS)
}

/// Starts the engine. Another engine trading this data dir or account is exit code 2, naming it
/// (the inner `Err`); any other failure is the error `start_error` explains.
async fn start_engine(
    config: &Config,
    store: &Arc<dyn tradeengine_store::Store>,
    origin: &Origin,
    options: StartOptions,
) -> anyhow::Result<Result<RunningEngine, ExitCode>> {
    match RunningEngine::start(config.clone(), store.clone(), options).await {
        Ok(engine) => Ok(Ok(engine)),
        Err(tradeengine_engine::StartError::Ownership(
            tradeengine_engine::ownership::ClaimError::AlreadyRunning(e),
        )) => {
            eprintln!("error: {e}");
            Ok(Err(ExitCode::from(2)))
        }
        Err(e) => Err(start_error(e, origin)),
    }
}

/// The data dir, created by `run` (every other command refuses a missing one) and removed
/// again when this run made it and the engine then failed to start: a `run` refused for a
/// missing secret left an empty store behind, and a later `kill` from that folder reported
/// `kill switch ENGAGED` on a store no engine had ever used.
struct FreshDataDir {
    /// The directory this run created, until the engine started.
    created: Option<std::path::PathBuf>,
}

impl FreshDataDir {
    fn create(config: &Config) -> anyhow::Result<Self> {
        let dir = &config.engine.data_dir;
        let existed = dir.exists();
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create data dir {}: {e}", dir.display()))?;
        Ok(Self {
            created: (!existed).then(|| dir.clone()),
        })
    }

    /// The engine started: the data dir is its own from now on.
    fn keep(&mut self) {
        self.created = None;
    }
}

impl Drop for FreshDataDir {
    fn drop(&mut self) {
        if let Some(dir) = self.created.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The Prometheus recorder, or none (metrics off, said in the log) when it cannot be installed.
fn install_metrics() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    match tradeengine_server::metrics::install() {
        Ok(h) => Some(h),
        Err(e) => {
            tracing::warn!(error = %e, "metrics disabled");
            None
        }
    }
}

/// An API token from its variable, else from this run's generated demo values. A variable
/// `[api]` does not name is the default one; a variable not set closes its scope (never opens
/// it).
fn api_token(var: &str, env_overrides: &BTreeMap<String, String>) -> Option<SecretString> {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| env_overrides.get(var).cloned())
        .map(SecretString::from)
}

/// Warns of each API scope that stays closed because its token variable is not set.
fn warn_unset_api_tokens(config: &Config, env_overrides: &BTreeMap<String, String>) {
    for (key, v) in [
        ("read", config.api.read_var()),
        ("control", config.api.control_var()),
    ] {
        if api_token(v, env_overrides).is_none() {
            if looks_like_env_name(v) {
                tracing::warn!(
                    "API {key} token variable {v} is not set: every {key} request is refused"
                );
            } else {
                // Not echoed: a value that is no variable name may be the token itself.
                tracing::warn!(
                    "[api] {key}_token_env is not an environment variable name (A-Z, 0-9, _); \
                     put the token in a variable and name the variable: every {key} request is refused"
                );
            }
        }
    }
}

/// The demo's ready-made order signal carries the feed's current price: the `/trade` API
/// (petrosa-tradeengine's shape) refuses a price of zero, and a made-up one would misplace the
/// sleeve's stop levels.
async fn demo_btc_price(engine: &RunningEngine) -> Option<rust_decimal::Decimal> {
    let btc = tradeengine_model::Symbol::new("BTCUSDT").ok()?;
    for venue in engine.venues.values() {
        if let Ok(prices) = venue.prices(std::slice::from_ref(&btc)).await
            && let Some(p) = prices.get(&btc)
        {
            return Some(p.get().round_dp(2));
        }
    }
    None
}

/// The embedded demo's sources read their secrets (`secret_env`, `token_env`) from
/// `TRADEENGINE_…` variables; each one not set is generated for this run and printed in the
/// banner, so a newcomer can send signals at once and nobody else can. Returns the overrides and
/// the generated (variable, value) pairs.
/// (variable, value) pairs generated for this run.
type GeneratedSecrets = Vec<(String, String)>;

fn demo_webhook_secret(
    config: &Config,
    origin: &Origin,
) -> anyhow::Result<(BTreeMap<String, String>, GeneratedSecrets)> {
    let mut overrides = BTreeMap::new();
    let mut generated = Vec::new();
    if *origin != Origin::EmbeddedDemo {
        return Ok((overrides, generated));
    }
    for s in config.sources.values() {
        for key in ["secret_env", "token_env"] {
            let Some(var) = s.settings.get(key).and_then(|v| v.as_str()) else {
                continue;
            };
            if !var.starts_with("TRADEENGINE_")
                || std::env::var(var).is_ok()
                || overrides.contains_key(var)
            {
                continue;
            }
            let value = generate_secret()
                .map_err(anyhow::Error::msg)?
                .expose_secret()
                .to_string();
            overrides.insert(var.to_string(), value.clone());
            generated.push((var.to_string(), value));
        }
    }
    Ok((overrides, generated))
}

/// The demo's API tokens, generated per run like its webhook secret (unless the variables are
/// set), so the API is never open to whoever else can reach the port.
fn demo_api_tokens(
    config: &Config,
    origin: &Origin,
    overrides: &mut BTreeMap<String, String>,
) -> anyhow::Result<Option<(String, String)>> {
    if *origin != Origin::EmbeddedDemo {
        return Ok(None);
    }
    let (read_var, control_var) = (config.api.read_var(), config.api.control_var());
    if std::env::var(read_var).is_ok() || std::env::var(control_var).is_ok() {
        return Ok(None);
    }
    let read = generate_secret()
        .map_err(anyhow::Error::msg)?
        .expose_secret()
        .to_string();
    let control = generate_secret()
        .map_err(anyhow::Error::msg)?
        .expose_secret()
        .to_string();
    overrides.insert(read_var.to_string(), read.clone());
    overrides.insert(control_var.to_string(), control.clone());
    Ok(Some((read, control)))
}

fn banner(
    config: &Config,
    origin: &Origin,
    addr: std::net::SocketAddr,
    demo_secrets: &[(String, String)],
    demo_tokens: Option<&(String, String)>,
    demo_price: Option<rust_decimal::Decimal>,
) -> String {
    let mut lines = setup_lines(config, origin);
    lines.push(format!(
        "http: http://{addr}  (GET /health, GET /api/v1/positions)"
    ));
    lines.push(api_tokens_line(config, demo_tokens.is_some()));
    for (name, s) in &config.sources {
        if s.kind == tradeengine_engine::config::SourceKind::Tradingview {
            lines.push(format!("webhook {name}: POST http://{addr}/webhook/{name}"));
        }
    }
    // Lines too long for the box go under it.
    let mut after = Vec::new();
    demo_lines(
        addr,
        demo_secrets,
        demo_tokens,
        demo_price,
        &mut lines,
        &mut after,
    );
    lines.push("inspect: `tradeengine positions`, `tradeengine orders`, `tradeengine signals` from another terminal".into());
    lines
        .push("stop: Ctrl-C (or SIGTERM); open orders are settled and a summary is printed".into());
    boxed(lines, after)
}

/// The banner's first lines: version and configuration origin, mode, accounts, sources,
/// symbols and store.
fn setup_lines(config: &Config, origin: &Origin) -> Vec<String> {
    let mut lines = Vec::new();
    // The most far-reaching mode any account runs in: an account's own `mode` may go further
    // than `[engine] mode`, and the headline must never understate it.
    let mode = config
        .accounts
        .iter()
        .map(|a| config.account_mode(a))
        .max_by_key(|m| reach(*m))
        .unwrap_or(config.engine.mode);
    lines.push(format!(
        "tradeengine {} — {}",
        env!("CARGO_PKG_VERSION"),
        origin
    ));
    match mode {
        Mode::Paper => lines
            .push("mode: PAPER — simulated fills, no real orders, no private venue request".into()),
        Mode::DryRun => lines.push(
            "mode: DRY-RUN — private reads only; no order, leverage or margin change is sent"
                .into(),
        ),
        Mode::Testnet => lines.push("mode: TESTNET — venue test networks".into()),
        Mode::Live => lines.push("mode: LIVE — REAL ORDERS WITH REAL MONEY".into()),
    }
    for a in &config.accounts {
        lines.push(format!(
            "account {}: {} ({})",
            a.name,
            tradeengine_engine::config::modes::describe(config, a),
            match a.state {
                tradeengine_engine::config::AccountState::Enabled => "enabled",
                tradeengine_engine::config::AccountState::CloseOnly => "close-only",
                tradeengine_engine::config::AccountState::Disabled => "disabled",
            }
        ));
    }
    let sources: Vec<String> = config
        .sources
        .iter()
        .map(|(n, s)| format!("{n} ({})", s.kind.as_str()))
        .collect();
    lines.push(format!("sources: {}", sources.join(", ")));
    let symbols: Vec<&str> = config.symbols.iter().map(|s| s.symbol.as_str()).collect();
    lines.push(format!("symbols: {}", symbols.join(", ")));
    lines.push(format!("store: {}", redact_url(&config.database_url())));
    lines
}

/// The embedded demo's generated tokens and secrets (this run only) in the box, and ready-made
/// requests that use them under it.
fn demo_lines(
    addr: std::net::SocketAddr,
    demo_secrets: &[(String, String)],
    demo_tokens: Option<&(String, String)>,
    demo_price: Option<rust_decimal::Decimal>,
    lines: &mut Vec<String>,
    after: &mut Vec<String>,
) {
    if let Some((read, control)) = demo_tokens {
        lines.push(format!("API read token (this run only): {read}"));
        lines.push(format!("API control token (this run only): {control}"));
        after.push(format!(
            "read the API: curl -s -H 'Authorization: Bearer {read}' http://{addr}/api/v1/positions"
        ));
    }
    for (var, value) in demo_secrets {
        match var.as_str() {
            "TRADEENGINE_TV_SECRET" => {
                lines.push(format!("demo TradingView secret (this run only): {value}"));
                after.push(format!(
                    "send an alert: curl -s -X POST http://{addr}/webhook/tradingview -H 'Content-Type: text/plain' -d '{{\"secret\":\"{value}\",\"symbol\":\"BTCUSDT\",\"direction\":\"long\",\"action\":\"buy\",\"size\":\"50/100\",\"leverage\":\"3\"}}'"
                ));
            }
            "TRADEENGINE_REST_TOKEN" => {
                lines.push(format!("demo REST signal token (this run only): {value}"));
                let price = demo_price.unwrap_or(rust_decimal::Decimal::new(60_000, 0));
                after.push(format!(
                    "send an order signal: curl -s -H 'Authorization: Bearer {value}' -H 'Content-Type: application/json' -d '{{\"signals\":[{{\"strategy_id\":\"demo\",\"symbol\":\"BTCUSDT\",\"action\":\"buy\",\"confidence\":0.9,\"price\":{price},\"quantity\":0.001,\"current_price\":{price},\"source\":\"cli\",\"strategy\":\"demo\"}}]}}' http://{addr}/trade"
                ));
            }
            other => lines.push(format!("{other} (this run only): {value}")),
        }
    }
}

/// `lines` in a box, then `after` under it.
fn boxed(lines: Vec<String>, after: Vec<String>) -> String {
    let width = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let rule = "─".repeat(width + 2);
    let mut out = format!("┌{rule}┐\n");
    for l in lines {
        let pad = width - l.chars().count();
        out.push_str(&format!("│ {l}{} │\n", " ".repeat(pad)));
    }
    out.push_str(&format!("└{rule}┘"));
    for l in after {
        out.push('\n');
        out.push_str(&l);
    }
    out
}

/// Which API tokens are in force, by variable name (never a value): a scope whose variable is
/// not set refuses every request.
fn api_tokens_line(config: &Config, generated: bool) -> String {
    let scope = |key: &str, var: &str| {
        let set = generated || std::env::var(var).is_ok_and(|v| !v.is_empty());
        let name = if looks_like_env_name(var) {
            var
        } else {
            "[api] value that is not a variable name"
        };
        if set {
            format!("{key} {name}")
        } else {
            format!("{key} {name} NOT SET (refused)")
        }
    };
    format!(
        "API tokens: {}, {}",
        scope("read", config.api.read_var()),
        scope("control", config.api.control_var())
    )
}

/// How far a mode reaches, for the banner's headline.
fn reach(mode: Mode) -> u8 {
    match mode {
        Mode::Paper => 0,
        Mode::DryRun => 1,
        Mode::Testnet => 2,
        Mode::Live => 3,
    }
}

/// A start failure; configuration problems become [`ConfigError`]s so the binary exits 2.
fn start_error(e: tradeengine_engine::StartError, origin: &Origin) -> anyhow::Error {
    if !e.is_config() {
        return e.into();
    }
    let file = match origin {
        Origin::File(p) => Some(p.clone()),
        Origin::EmbeddedDemo => None,
    };
    let key = match &e {
        tradeengine_engine::StartError::AccountConfig { account, .. } => {
            format!("accounts.{account}")
        }
        _ => String::new(),
    };
    let reason = match &e {
        tradeengine_engine::StartError::AccountConfig { reason, .. } => reason.clone(),
        other => other.to_string(),
    };
    anyhow::Error::new(ConfigError { file, key, reason })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Whether `s` can be an environment variable's name as people write them (`TRADEENGINE_READ`).
fn looks_like_env_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::looks_like_env_name;

    #[test]
    fn the_banner_says_what_each_account_trades_on_and_never_understates_the_mode() {
        use tradeengine_engine::config::{Origin, Overrides, load_str};
        let text = "[engine]\nmode = \"paper\"\n[[accounts]]\nname = \"by\"\nvenue = \"bybit\"\nbase_url = \"http://127.0.0.1:9001\"\ncredentials = \"env:BY\"\n";
        let config =
            load_str(text, None, &[], &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 8080));
        let b = super::banner(&config, &Origin::EmbeddedDemo, addr, &[], None, None);
        assert!(b.contains("mode: PAPER"), "{b}");
        assert!(
            b.contains("account by: paper on bybit public data (127.0.0.1;"),
            "{b}"
        );
        // One account going further than [engine] mode sets the headline.
        let text = text.replace(
            "venue = \"bybit\"\n",
            "venue = \"bybit\"\nmode = \"testnet\"\n",
        );
        let config =
            load_str(&text, None, &[], &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
        let b = super::banner(&config, &Origin::EmbeddedDemo, addr, &[], None, None);
        assert!(b.contains("mode: TESTNET"), "{b}");
        assert!(!b.contains("mode: PAPER"), "{b}");
    }

    #[test]
    fn only_variable_names_are_echoed_in_the_missing_token_warning() {
        assert!(looks_like_env_name("TRADEENGINE_READ_TOKEN"));
        assert!(!looks_like_env_name("sk-live-4f9a8b7c6d5e"));
        assert!(!looks_like_env_name("9TOKEN"));
        assert!(!looks_like_env_name(""));
    }
}
