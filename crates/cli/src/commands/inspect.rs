//! `tradeengine positions|orders|signals`: read the store directly, so they work from a second
//! terminal while the engine runs (SQLite WAL allows concurrent readers) and after it stopped.

use std::process::ExitCode;

use anyhow::Context;
use tradeengine_engine::config::Overrides;
use tradeengine_engine::display;
use tradeengine_model::{Intent, OrderState, Symbol};
use tradeengine_store::OrderFilter;

use super::{load_config, open_store_read_only};
use crate::args::{Global, OrdersArgs, PositionsArgs, SignalsArgs};
use crate::output::Table;

pub async fn positions(global: &Global, args: PositionsArgs) -> anyhow::Result<ExitCode> {
    let (config, _) = load_config(global, Overrides::default())?;
    let account = args
        .account
        .as_deref()
        .map(|a| super::configured_account(&config, a))
        .transpose()?;
    let store = open_store_read_only(&config).await?;
    let ticks = display::stored_ticks(&*store).await;
    let rows = store.positions(account.as_ref()).await?;
    if args.json {
        let items: Vec<_> = rows
            .iter()
            .map(|(a, p)| serde_json::json!({"account": a, "position": p}))
            .collect();
        outln!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(&[
        ("account", false),
        ("symbol", false),
        ("side", false),
        ("size", true),
        ("entry", true),
        ("leverage", true),
        ("margin", false),
    ]);
    for (account, p) in &rows {
        let side = if p.size.is_long() {
            "long"
        } else if p.size.is_short() {
            "short"
        } else {
            "flat"
        };
        t.row(vec![
            account.to_string(),
            p.symbol.to_string(),
            side.to_string(),
            p.size.to_string(),
            display::or_dash(
                p.entry_price
                    .map(|x| display::price(x.get(), ticks.get(p.symbol.as_str()).copied())),
            ),
            p.leverage.to_string(),
            p.margin_mode.as_str().to_string(),
        ]);
    }
    if t.is_empty() {
        outln!("no open positions recorded yet");
    } else {
        out!("{}", t.render());
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn orders(global: &Global, args: OrdersArgs) -> anyhow::Result<ExitCode> {
    let (config, _) = load_config(global, Overrides::default())?;
    let account = args
        .account
        .as_deref()
        .map(|a| super::configured_account(&config, a))
        .transpose()?;
    let store = open_store_read_only(&config).await?;
    let ticks = display::stored_ticks(&*store).await;
    let filter = OrderFilter {
        account,
        symbol: args.symbol.as_deref().map(Symbol::new).transpose()?,
        state: match args.state.as_deref() {
            Some(s) => {
                Some(OrderState::parse(s).with_context(|| format!("unknown order state {s:?}"))?)
            }
            None => None,
        },
        limit: Some(args.limit),
        offset: None,
    };
    let rows = store.orders(&filter).await?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(&[
        ("time", false),
        ("account", false),
        ("symbol", false),
        ("side", false),
        ("qty", true),
        ("filled", true),
        ("avg price", true),
        ("state", false),
        ("reduce", false),
        ("client id", false),
    ]);
    for o in &rows {
        t.row(vec![
            o.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            o.account.to_string(),
            o.symbol.to_string(),
            o.side.as_str().to_string(),
            o.qty.to_string(),
            o.filled_qty.to_string(),
            display::or_dash(
                o.avg_fill_price
                    .map(|p| display::price(p, ticks.get(o.symbol.as_str()).copied())),
            ),
            o.state.as_str().to_string(),
            if o.reduce_only { "yes" } else { "" }.to_string(),
            o.client_order_id.to_string(),
        ]);
    }
    if t.is_empty() {
        outln!("no orders recorded yet");
    } else {
        out!("{}", t.render());
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn signals(global: &Global, args: SignalsArgs) -> anyhow::Result<ExitCode> {
    let (config, _) = load_config(global, Overrides::default())?;
    let store = open_store_read_only(&config).await?;
    if args.refused {
        return refused(&*store, &args).await;
    }
    let rows = store.recent_signals(args.limit, 0).await?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(&[
        ("received", false),
        ("source", false),
        ("symbol", false),
        ("intent", false),
        ("id", false),
    ]);
    for s in &rows {
        let intent = match &s.intent {
            Intent::Target(t) => format!(
                "target depth {}{}",
                t.depth,
                t.leverage.map(|l| format!(" lev {l}")).unwrap_or_default()
            ),
            Intent::Order(o) => format!("order {:?}", o.action).to_lowercase(),
        };
        t.row(vec![
            s.received_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            s.source.to_string(),
            s.symbol.to_string(),
            intent,
            s.id.to_string(),
        ]);
    }
    if t.is_empty() {
        outln!("no signals recorded yet");
    } else {
        out!("{}", t.render());
    }
    Ok(ExitCode::SUCCESS)
}

/// Widest body shown in the table (`--json` shows the whole stored body).
const BODY_COLUMN: usize = 60;

/// `signals --refused`: what was refused, why and what was sent.
async fn refused(
    store: &dyn tradeengine_store::Store,
    args: &SignalsArgs,
) -> anyhow::Result<ExitCode> {
    let rows = store
        .refused_signals(args.source.as_deref(), args.limit)
        .await?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(&[
        ("refused", false),
        ("source", false),
        ("code", false),
        ("reason", false),
        ("body", false),
    ]);
    for r in &rows {
        let one_line = |s: &str, max: usize| -> String {
            let flat: String = s
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            if flat.chars().count() > max {
                format!("{}…", flat.chars().take(max).collect::<String>())
            } else {
                flat
            }
        };
        t.row(vec![
            r.refused_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            r.source.clone(),
            r.code.clone(),
            one_line(&r.reason, 80),
            r.body
                .as_deref()
                .map(|b| one_line(b, BODY_COLUMN))
                .unwrap_or_default(),
        ]);
    }
    if t.is_empty() {
        outln!("no refused signals recorded");
    } else {
        out!("{}", t.render());
    }
    Ok(ExitCode::SUCCESS)
}
