//! `tradeengine status [--watch]`: what the trade-engine status display shows, per account: equity and
//! unrealised P&L, positions with entry and current prices and their unrealised P&L, trade
//! counts and the most recent orders, plus how long the engine has been up. Prices come from
//! the running engine's API when it answers (at `--bind`, else `[engine] bind`), else the last
//! fill (and say so). Read from the store, so it works from a second terminal while the engine
//! runs and after it stopped. Prices show at the instrument's tick, money at 2 dp
//! ([`tradeengine_engine::display`]).

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use rust_decimal::Decimal;
use tradeengine_engine::config::{Config, Mode, Overrides};
use tradeengine_engine::display;
use tradeengine_model::{AccountName, OrderState};
use tradeengine_store::{AuditKind, OrderFilter, Store};

use super::{load_config, open_store};
use crate::args::{Global, StatusArgs};
use crate::output::Table;

pub async fn run(global: &Global, args: StatusArgs) -> anyhow::Result<ExitCode> {
    // `--bind` goes through the same override as `run --bind`, so a bad address is the same
    // configuration error (exit 2).
    let (config, _) = load_config(
        global,
        Overrides {
            bind: args.bind.clone(),
            ..Overrides::default()
        },
    )?;
    let store = open_store(&config).await?;
    loop {
        let text = render(&config, &*store).await?;
        if args.watch {
            // Clear the screen and home the cursor, like `watch`.
            out!("\x1b[2J\x1b[H{text}");
        } else {
            out!("{text}");
            return Ok(ExitCode::SUCCESS);
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
            _ = tokio::time::sleep(Duration::from_secs(args.interval.max(1))) => {}
        }
    }
}

/// Where a shown price comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PriceSource {
    /// The running engine's current prices (its API).
    Live,
    /// The last fill in the store: what is known without the engine.
    LastFill,
}

/// A `GET` of `path` on the running engine's API (its `[engine] bind`, loopback when it binds
/// every address), with a 2 s timeout; `None` when no client can be built.
fn engine_get(config: &Config, path: &str) -> Option<reqwest::RequestBuilder> {
    let mut addr = config.engine.bind;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .ok()?;
    Some(client.get(format!("http://{addr}{path}")))
}

/// What the running engine's API said when asked for its prices.
enum LiveAnswer {
    Prices(BTreeMap<String, Decimal>),
    /// The engine using this store is not running: whatever answers at the address is not it.
    NotAsked,
    Unauthorized,
    NoAnswer,
}

/// The running engine's prices per symbol from `GET /api/v1/symbols` (with the read token from
/// the variable `[api] read_token_env` names, or its default, if set).
async fn live_prices(config: &Config) -> LiveAnswer {
    let Some(mut req) = engine_get(config, "/api/v1/symbols") else {
        return LiveAnswer::NoAnswer;
    };
    if let Ok(token) = std::env::var(config.api.read_var()) {
        req = req.bearer_auth(token);
    }
    let Ok(resp) = req.send().await else {
        return LiveAnswer::NoAnswer;
    };
    if matches!(resp.status().as_u16(), 401 | 403) {
        return LiveAnswer::Unauthorized;
    }
    if !resp.status().is_success() {
        return LiveAnswer::NoAnswer;
    }
    let rows: Vec<serde_json::Value> = resp.json().await.unwrap_or_default();
    LiveAnswer::Prices(
        rows.iter()
            .filter_map(|r| {
                let symbol = r.get("symbol")?.as_str()?.to_string();
                let price = match r.get("price")? {
                    serde_json::Value::String(s) => s.parse().ok()?,
                    serde_json::Value::Number(n) => n.to_string().parse().ok()?,
                    _ => return None,
                };
                Some((symbol, price))
            })
            .collect(),
    )
}

/// The running engine's `/ready` answer, as lines: accounts not reconciled and why (a failing
/// venue read, failing order entry). Empty when the engine does not answer.
async fn readiness_lines(config: &Config) -> String {
    let Some(req) = engine_get(config, "/ready") else {
        return String::new();
    };
    let Ok(resp) = req.send().await else {
        return String::new();
    };
    let Ok(body) = resp.json::<serde_json::Value>().await else {
        return String::new();
    };
    let problems = symbol_problem_lines(&body);
    if body["ready"].as_bool() == Some(true) {
        return format!("ready: yes (every account reconciled)\n{problems}");
    }
    let mut out = String::from("ready: NO\n");
    out.push_str(&problems);
    if body["store"].as_bool() == Some(false) {
        let fault = body["store_fault"]
            .as_str()
            .unwrap_or("the store does not answer");
        out.push_str(&format!("  store: {fault}\n"));
    }
    let errors = &body["account_errors"];
    for name in body["accounts_not_reconciled"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = name.as_str().unwrap_or_default();
        let why = errors[name].as_str().unwrap_or("not reconciled yet");
        out.push_str(&format!("  {name}: {why}\n"));
    }
    out
}

/// Symbols the engine cannot bring to their target (refused by the pre-trade gate or the
/// venue, cycle after cycle), from `/ready`'s `symbol_problems`: reconciled is not at target.
fn symbol_problem_lines(ready: &serde_json::Value) -> String {
    let Some(accounts) = ready["symbol_problems"].as_object() else {
        return String::new();
    };
    let mut out = String::new();
    for (account, problems) in accounts {
        for p in problems.as_array().into_iter().flatten() {
            out.push_str(&format!(
                "  OFF TARGET {account}: {}\n",
                p.as_str().unwrap_or_default()
            ));
        }
    }
    out
}

/// The whole status view: the engine's state, then one section per account.
async fn render(config: &Config, store: &dyn Store) -> anyhow::Result<String> {
    let now = chrono::Utc::now();
    let (engine_line, running_mode, engine_accounts) = uptime_line(store, now).await?;
    // The running engine's mode, not the file's: an edit of `mode` applies only at a restart,
    // and a file edited to dry-run while the engine still trades must not read "nothing sent".
    let mut shown = config.clone();
    let mode_note = match running_mode {
        Some(running) if running != config.engine.mode => {
            shown.engine.mode = running;
            format!(
                "WARNING: the running engine runs in mode {}; the configuration file now says {} \
                 (a mode change applies only when the engine restarts)\n",
                running.as_str(),
                config.engine.mode.as_str()
            )
        }
        _ => String::new(),
    };
    let config = &shown;
    // Accounts the store's engine trades that this configuration lacks (`status --data-dir`
    // with no or another configuration showed the demo's account, "positions: none", while
    // the engine's own account held positions).
    let missing: Vec<&str> = engine_accounts
        .iter()
        .map(String::as_str)
        .filter(|a| config.account(a).is_none())
        .collect();
    let accounts_note = if missing.is_empty() {
        String::new()
    } else {
        format!(
            "WARNING: the engine on this store trades account(s) {}, which this configuration \
             does not have: they are not shown below; pass that engine's --config\n",
            missing.join(", ")
        )
    };
    let mut out = format!(
        "tradeengine status — {} (mode {})\n{mode_note}{accounts_note}",
        now.format("%Y-%m-%d %H:%M:%S UTC"),
        config.engine.mode.as_str()
    );
    // Only the engine this store says is running is asked: another engine answering at the
    // same address (a second one started with another data dir) is not this one.
    let running = running_mode.is_some();
    let answer = if running {
        live_prices(config).await
    } else {
        LiveAnswer::NotAsked
    };
    out.push_str(&match &answer {
        LiveAnswer::Prices(_) => "prices: live from the running engine\n".to_string(),
        LiveAnswer::NotAsked => {
            "prices: last fill (the engine using this store is not running)\n".to_string()
        }
        LiveAnswer::Unauthorized => format!(
            "prices: last fill (the engine's API refused the read token: set {} to its read \
             token for live prices)\n",
            config.api.read_var()
        ),
        LiveAnswer::NoAnswer => format!(
            "prices: last fill (the engine's API did not answer at {})\n",
            config.engine.bind
        ),
    });
    let prices = Prices::read(answer, store).await?;
    out.push_str(&engine_line);
    if running {
        out.push_str(&readiness_lines(config).await);
    }
    let kill = tradeengine_engine::killswitch::KillState {
        stored: tradeengine_engine::killswitch::read_stored(store).await?,
        file: tradeengine_engine::killswitch::read_file(&config.engine.data_dir),
    };
    out.push_str(&super::kill::status_line(&kill, config));
    out.push('\n');
    for p in tradeengine_engine::killswitch::read_pending_freezes(store).await? {
        out.push_str(&format!(
            "  FROZEN by the engine: {} since {} ({}); stored as a freeze once the switch above is released\n",
            p.account,
            p.since.format("%Y-%m-%d %H:%M:%S UTC"),
            p.reason
        ));
    }
    out.push_str(&format!("store: {}\n", super::resolve::acted_on(config)));
    out.push_str(&super::status_sources::lines(config, store).await?);
    for a in &config.accounts {
        let name = AccountName::new(&a.name)?;
        out.push_str(&format!(
            "\n== {} ({})\n",
            a.name,
            tradeengine_engine::config::modes::describe(config, a)
        ));
        out.push_str(&super::positions::status_lines(store, &name).await?);
        out.push_str(&equity_line(store, &name, now).await?);
        out.push_str(&positions_table(store, &name, &prices).await?);
        out.push_str(&trade_lines(store, &name).await?);
        out.push_str(&recent_orders(store, &name, &prices).await?);
    }
    Ok(out)
}

/// The prices the view shows: live from the engine when it answers, else the last fill, each
/// at its instrument's tick.
struct Prices {
    live: BTreeMap<String, Decimal>,
    last_fill: BTreeMap<String, Decimal>,
    ticks: BTreeMap<String, Decimal>,
}

impl Prices {
    async fn read(answer: LiveAnswer, store: &dyn Store) -> anyhow::Result<Self> {
        let live = match answer {
            LiveAnswer::Prices(p) => p,
            _ => BTreeMap::new(),
        };
        let ticks = display::stored_ticks(store).await;
        let mut last_fill: BTreeMap<String, Decimal> = BTreeMap::new();
        for fill in store.fills(None, 1000).await? {
            last_fill
                .entry(fill.symbol.to_string())
                .or_insert(fill.price.get());
        }
        Ok(Self {
            live,
            last_fill,
            ticks,
        })
    }

    fn price_of(&self, symbol: &str) -> Option<(Decimal, PriceSource)> {
        self.live
            .get(symbol)
            .map(|p| (*p, PriceSource::Live))
            .or_else(|| {
                self.last_fill
                    .get(symbol)
                    .map(|p| (*p, PriceSource::LastFill))
            })
    }

    fn shown(&self, symbol: &str, v: Decimal) -> Decimal {
        display::price(v, self.ticks.get(symbol).copied())
    }
}

/// Uptime: the newest start in the audit trail, unless a stop came after it; with the mode
/// that start recorded while the engine runs, and the accounts it started with.
async fn uptime_line(
    store: &dyn Store,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<(String, Option<Mode>, Vec<String>)> {
    let mut last_start = None;
    let mut mode = None;
    let mut accounts: Vec<String> = Vec::new();
    let mut stopped = false;
    let mut after = 0;
    loop {
        let events = store.audit_events(after, 1000).await?;
        let Some(last) = events.last() else { break };
        after = last.seq;
        for e in &events {
            match e.kind {
                AuditKind::EngineStarted => {
                    last_start = Some(e.at);
                    mode = serde_json::from_value::<Mode>(e.payload["mode"].clone()).ok();
                    accounts =
                        serde_json::from_value(e.payload["accounts"].clone()).unwrap_or_default();
                    stopped = false;
                }
                AuditKind::EngineStopped => stopped = true,
                _ => {}
            }
        }
    }
    Ok(match (last_start, stopped) {
        (Some(t), false) => {
            let up = (now - t).num_seconds().max(0);
            let line = format!(
                "engine: running for {}h {:02}m {:02}s\n",
                up / 3600,
                (up / 60) % 60,
                up % 60
            );
            (line, mode, accounts)
        }
        (Some(_), true) => ("engine: stopped\n".to_string(), None, accounts),
        (None, _) => (
            "engine: never started with this store\n".to_string(),
            None,
            accounts,
        ),
    })
}

async fn equity_line(
    store: &dyn Store,
    name: &AccountName,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<String> {
    let equity = store
        .equity(name, now - chrono::Duration::days(3650))
        .await?;
    Ok(match (equity.first(), equity.last()) {
        (Some(first), Some(last)) => format!(
            "equity {} (unrealised P&L {}), {} since {}\n",
            display::money(last.value),
            display::money(last.unrealised_pnl),
            display::money(last.value - first.value),
            first.at.format("%Y-%m-%d %H:%M")
        ),
        _ => "equity: no reading yet\n".to_string(),
    })
}

async fn positions_table(
    store: &dyn Store,
    name: &AccountName,
    prices: &Prices,
) -> anyhow::Result<String> {
    let positions = store.positions(Some(name)).await?;
    let mut t = Table::new(&[
        ("symbol", false),
        ("size", true),
        ("entry", true),
        ("price", true),
        ("unrealised P&L", true),
        ("leverage", true),
    ]);
    for (_, p) in &positions {
        let symbol = p.symbol.as_str();
        let price = prices.price_of(symbol);
        let pnl = price.and_then(|(mark, _)| {
            tradeengine_model::Price::new(mark)
                .ok()
                .and_then(|m| p.unrealised_pnl(m))
        });
        t.row(vec![
            p.symbol.to_string(),
            p.size.to_string(),
            display::or_dash(p.entry_price.map(|e| prices.shown(symbol, e.get()))),
            match price {
                Some((v, PriceSource::Live)) => prices.shown(symbol, v).to_string(),
                Some((v, PriceSource::LastFill)) => {
                    format!("{} (last fill)", prices.shown(symbol, v))
                }
                None => "-".into(),
            },
            display::or_dash(pnl.map(display::money)),
            p.leverage.to_string(),
        ]);
    }
    Ok(if t.is_empty() {
        "positions: none\n".to_string()
    } else {
        t.render()
    })
}

/// Trade counts, the risk state, and the symbols the venue keeps refusing.
async fn trade_lines(store: &dyn Store, name: &AccountName) -> anyhow::Result<String> {
    let filled = count_orders(store, name, OrderState::Filled).await?;
    let rejected = count_orders(store, name, OrderState::Rejected).await?;
    // Counted over the whole store (every session); the summary printed at stop counts one.
    let mut out = format!("trades (all sessions): {filled} filled, {rejected} rejected\n");
    let risk = tradeengine_engine::risk::load(store, name).await?;
    out.push_str(&format!(
        "risk: {}{}\n",
        risk.state.as_str().to_ascii_uppercase(),
        match (&risk.rule, &risk.detail) {
            (Some(rule), Some(detail)) => format!(
                " ({rule}: {detail}; reset with `tradeengine risk reset --account {name}`)"
            ),
            _ => String::new(),
        }
    ));
    // Symbols the venue keeps refusing, backed off (written by the running engine).
    let episodes: BTreeMap<String, tradeengine_engine::worker::rejections::RejectionView> = store
        .get_state(&tradeengine_engine::worker::rejections::state_key(name))
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    for (symbol, e) in &episodes {
        out.push_str(&format!(
            "venue refuses {symbol}: {} (×{} since {}; next try {})\n",
            e.reason,
            e.attempts,
            e.since.format("%H:%M:%S"),
            e.retry_at.format("%H:%M:%S")
        ));
    }
    Ok(out)
}

/// How many of the account's orders are in `state` (up to 10 000).
async fn count_orders(
    store: &dyn Store,
    name: &AccountName,
    state: OrderState,
) -> anyhow::Result<usize> {
    let filter = OrderFilter {
        account: Some(name.clone()),
        state: Some(state),
        limit: Some(10_000),
        ..OrderFilter::default()
    };
    Ok(store.orders(&filter).await?.len())
}

/// The account's five newest orders.
async fn recent_orders(
    store: &dyn Store,
    name: &AccountName,
    prices: &Prices,
) -> anyhow::Result<String> {
    let recent = store
        .orders(&OrderFilter {
            account: Some(name.clone()),
            limit: Some(5),
            ..OrderFilter::default()
        })
        .await?;
    let mut out = String::new();
    for o in recent {
        out.push_str(&format!(
            "  {} {} {} {} {} → {}\n",
            o.created_at.format("%H:%M:%S"),
            o.symbol,
            o.side.as_str(),
            o.qty,
            o.avg_fill_price
                .map(|p| format!("@ {}", prices.shown(o.symbol.as_str(), p)))
                .unwrap_or_default(),
            o.state.as_str()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod off_target_tests {
    #[test]
    fn each_symbol_kept_off_target_gets_a_line() {
        let ready = serde_json::json!({
            "ready": true,
            "symbol_problems": {"paper": ["BTCUSDT: risk: max_gross_exposure", "ETHUSDT: venue refused"]}
        });
        let lines = super::symbol_problem_lines(&ready);
        assert_eq!(
            lines,
            "  OFF TARGET paper: BTCUSDT: risk: max_gross_exposure\n  OFF TARGET paper: ETHUSDT: venue refused\n"
        );
        assert_eq!(
            super::symbol_problem_lines(&serde_json::json!({"ready": true})),
            ""
        );
    }
}
