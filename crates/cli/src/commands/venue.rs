//! `tradeengine venue-sim` and `tradeengine order place|cancel|status`.

use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context;
use rust_decimal::Decimal;
use tradeengine_engine::StartOptions;
use tradeengine_engine::config::{Mode, Overrides};
use tradeengine_model::{
    AccountName, ClientOrderId, Fill, OrderKind, OrderRequest, OrderStatus, Price, Side, Symbol,
    SystemClock,
};
use tradeengine_store::Store;
use tradeengine_venue_sim::{FaultSpec, SimOptions, VenueId};
use tradeengine_venues::Venue;

use super::{load_config, open_store};
use crate::args::{Global, OrderCommand, OrderPlaceArgs, VenueSimArgs};

pub async fn sim(args: VenueSimArgs) -> anyhow::Result<ExitCode> {
    let name = args.venue.to_ascii_lowercase();
    let Some(venue) = VenueId::parse(&name) else {
        anyhow::bail!("no simulator for {name:?}");
    };
    // Every spec is checked before the simulator starts: a typo must not start a rehearsal
    // without its fault.
    let faults = args
        .faults
        .iter()
        .map(|s| FaultSpec::parse(venue, s))
        .collect::<Result<Vec<_>, _>>()?;
    let handle = tradeengine_venue_sim::serve(
        venue,
        ([127, 0, 0, 1], args.port).into(),
        SimOptions::new(venue).with_synthetic(usize::from(args.instruments)),
    )
    .await
    .context("cannot start the simulator")?;
    for f in faults {
        eprintln!("fault: {}", f.describe());
        handle.faults().inject(&f.path, f.times, f.fault);
    }
    eprintln!("{}", handle.banner());
    eprintln!(
        "faults while running: curl -X POST --data-binary 'order:status-after-accept:503' {}/__sim/faults (GET shows pending, DELETE clears)",
        handle.base_url()
    );
    eprintln!("stop: Ctrl-C");
    let _ = tokio::signal::ctrl_c().await;
    handle.shutdown();
    Ok(ExitCode::SUCCESS)
}

pub async fn order(global: &Global, cmd: OrderCommand) -> anyhow::Result<ExitCode> {
    let (account_name, confirm_live) = match &cmd {
        OrderCommand::Place(a) => (a.account.clone(), a.confirm_live),
        OrderCommand::Cancel(a) | OrderCommand::Status(a) => (a.account.clone(), a.confirm_live),
    };
    let acting = !matches!(cmd, OrderCommand::Status(_));
    if let OrderCommand::Place(a) = &cmd
        && !a.even_if_managed
    {
        refuse_managed(global, a)?;
    }
    let (venue, store) = account_venue(global, &account_name, confirm_live, acting).await?;
    let status = match cmd {
        OrderCommand::Place(a) => place(&*venue, &order_request(&a)?).await?,
        OrderCommand::Cancel(a) => Some(
            venue
                .cancel_order(&Symbol::new(&a.symbol)?, &ClientOrderId::new(&a.client_id)?)
                .await?,
        ),
        OrderCommand::Status(a) => {
            venue
                .order_by_client_id(&Symbol::new(&a.symbol)?, &ClientOrderId::new(&a.client_id)?)
                .await?
        }
    };
    if let Some(s) = &status {
        record_hand_fill(&*store, &AccountName::new(&account_name)?, s).await;
    }
    match status {
        Some(s) => outln!("{}", serde_json::to_string_pretty(&s)?),
        None => outln!("the venue has no order with this client id"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Stores the fill of a finished order by hand, so the account's P&L from fills (and its fees)
/// counts it: its client id is in no plan, so the P&L books put it under `unattributed`. Without
/// it, `pnl` left out the position and the fees of every order placed here. Stored once (a fill
/// is keyed by client id, quantity, price and time), so `order status` of the same order adds
/// nothing; a resting order's fill is stored by the `order status` or `order cancel` that
/// finds it finished. A store that cannot take it is said, not fatal: the order stands.
async fn record_hand_fill(store: &dyn Store, account: &AccountName, s: &OrderStatus) {
    if !s.state.is_terminal() || s.filled_qty <= Decimal::ZERO {
        return;
    }
    let Some(price) = s.avg_fill_price else {
        eprintln!("the venue reports a filled quantity without a price: no fill stored");
        return;
    };
    let fill = Fill {
        client_order_id: s.client_order_id.clone(),
        venue_order_id: s.venue_order_id.clone(),
        symbol: s.symbol.clone(),
        side: s.side,
        qty: s.filled_qty,
        price,
        fee: s.fee,
        filled_at: s.updated_at,
    };
    if let Err(e) = store.record_fill(account, &fill).await {
        eprintln!(
            "the fill was not stored ({e}): `pnl` leaves this order out until `order status --client-id {}` stores it",
            s.client_order_id
        );
    }
}

/// An order by hand in a symbol the engine manages is undone at the engine's next cycle (it
/// trades the position back to its target), paying the fees twice: refused unless the operator
/// says so.
fn refuse_managed(global: &Global, a: &OrderPlaceArgs) -> anyhow::Result<()> {
    let (config, _) = load_config(global, Overrides::default())?;
    let managed = config
        .symbol(&a.symbol)
        .is_some_and(|s| s.weights.values().any(|w| !w.is_zero()));
    if managed {
        anyhow::bail!(
            "{} is managed by the engine on this configuration: a running engine trades the \
             position back to its target at its next cycle, so an order by hand is undone and \
             pays the fees twice. Change the target through a source instead (POST /trade, a \
             webhook), or engage the kill switch first; add --even-if-managed to send it anyway",
            a.symbol.to_ascii_uppercase()
        );
    }
    Ok(())
}

/// The account's venue, built exactly as the engine builds it (only this account, and no
/// sources). A live account is refused without `--confirm-live` when the command acts.
async fn account_venue(
    global: &Global,
    account_name: &str,
    confirm_live: bool,
    acting: bool,
) -> anyhow::Result<(Arc<dyn Venue>, Arc<dyn Store>)> {
    let (mut config, _) = load_config(global, Overrides::default())?;
    let account = config
        .account(account_name)
        .with_context(|| format!("no account named {account_name:?}"))?
        .clone();
    if config.account_mode(&account) == Mode::Live && acting && !confirm_live {
        anyhow::bail!("{account_name} is a live account: add --confirm-live to send a real order");
    }
    config.accounts.retain(|a| a.name == account_name);
    config.sources.clear();
    config.mapping.clear();
    for s in &mut config.symbols {
        s.weights.clear();
    }
    let store = open_store(&config).await?;
    let venues = tradeengine_engine::runtime::connect_venues(
        &config,
        &*store,
        &StartOptions {
            clock: Arc::new(SystemClock),
            live_confirmed: confirm_live,
            config_path: None,
            env_overrides: super::credentials::passphrase_override(&config)?,
        },
    )
    .await?;
    let venue = venues
        .values()
        .next()
        .context("the account's venue could not be built")?
        .clone();
    Ok((venue, store))
}

/// The order `order place` describes.
fn order_request(a: &OrderPlaceArgs) -> anyhow::Result<OrderRequest> {
    let side = match a.side.to_ascii_lowercase().as_str() {
        "buy" => Side::Buy,
        "sell" => Side::Sell,
        other => anyhow::bail!("side {other:?} must be buy or sell"),
    };
    let qty =
        Decimal::from_str(&a.qty).with_context(|| format!("qty {:?} is not a number", a.qty))?;
    if qty <= Decimal::ZERO {
        anyhow::bail!("qty must be greater than zero");
    }
    let kind = match &a.price {
        Some(p) => OrderKind::Limit {
            price: Price::new(
                Decimal::from_str(p).with_context(|| format!("price {p:?} is not a number"))?,
            )?,
        },
        None => OrderKind::Market,
    };
    let client_order_id = match &a.client_id {
        Some(id) => ClientOrderId::new(id)?,
        None => ClientOrderId::new(&format!("man-{}", chrono::Utc::now().timestamp_millis()))?,
    };
    Ok(OrderRequest {
        client_order_id,
        symbol: Symbol::new(&a.symbol)?,
        side,
        qty,
        kind,
        reduce_only: a.reduce_only,
    })
}

/// Places the order. The venue may have taken the order before the answer failed (5xx,
/// timeout, reset): it is asked by client id before the operator is told anything, or a retry
/// by hand doubles the position.
async fn place(venue: &dyn Venue, request: &OrderRequest) -> anyhow::Result<Option<OrderStatus>> {
    match venue.place_order(request).await {
        Ok(status) => Ok(Some(status)),
        Err(e) if e.may_have_acted() => {
            eprintln!(
                "the answer failed ({e}); asking the venue for order {}",
                request.client_order_id
            );
            match venue
                .order_by_client_id(&request.symbol, &request.client_order_id)
                .await
            {
                Ok(Some(status)) => Ok(Some(status)),
                Ok(None) => anyhow::bail!(
                    "{e}; the venue has no order {} (not placed). Check with `order status \
                     --client-id {}` before placing again",
                    request.client_order_id,
                    request.client_order_id
                ),
                Err(q) => anyhow::bail!(
                    "{e}; the order may have been placed and the venue could not be asked \
                     ({q}). Do NOT place it again before `order status --client-id {}` \
                     answers",
                    request.client_order_id
                ),
            }
        }
        Err(e) => Err(e.into()),
    }
}
