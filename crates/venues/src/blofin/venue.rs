//! [`BlofinVenue`]: the [`Venue`] for one BloFin futures account, USDT perpetuals, one-way
//! (`net`) position mode.
//!
//! ## Account value
//!
//! `V = equity` of the USDT row of `GET /api/v1/account/balance` (balance plus unrealised
//! profit of that currency, in USDT): the same figure the Bybit adapter and the paper venue use.
//! `available + Σ margin` would leave out unrealised profit; equity does not.
//!
//! ## Sizes
//!
//! Orders and positions are in contracts of `contractValue` base units. An order's base
//! quantity is converted with [`to_venue_units`] — divided by the contract value and rounded
//! **toward zero** to the lot size, so the venue never receives more than the engine asked
//! for; [`crate::checks::check_order`] has already refused quantities that would need rounding.
//!
//! ## Settings
//!
//! - margin mode is **account-wide** on BloFin: setting it for one symbol sets it for all, and
//!   BloFin refuses it while positions or orders are open (110006/110019, passed on as
//!   rejections: closing and reopening positions to change it would trade nobody asked for);
//!   there is no "not modified" code, so the mode is compared first and only changed when it
//!   differs;
//! - leverage is per instrument and margin mode, and BloFin changes it on an open position
//!   (margin permitting), so it is simply set.

mod batch;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::time::Instant;
use tradeengine_model::{
    ClientOrderId, Instrument, MarginMode, OrderKind, OrderRequest, OrderState, OrderStatus,
    Position, Price, Side, Symbol,
};

use super::VENUE;
use super::codes;
use super::http::{BlofinHttp, scope};
use super::models::{
    BALANCE, Balance, INSTRUMENTS, InstrumentRow, MARGIN_MODE, ORDER_DETAIL, ORDERS_PENDING,
    OrderRow, POSITIONS, PositionRow, TICKERS, TickerRow, margin_mode, margin_mode_text,
};
use super::stream::ByInstId;
use crate::http::Query;
use crate::http::envelope::order_reply;
use crate::instruments::InstrumentCache;
use crate::parse::{bad_reply, dec, dec_opt, format_dec, in_reply, missing, price};
use crate::tracker::OrderTracker;
use crate::ws::StreamHandle;
use crate::{AccountBalance, Venue, VenueError, VenueErrorKind};

/// Instrument rules change rarely; an hour bounds how long a change can go unseen.
const INSTRUMENT_TTL: Duration = Duration::from_secs(3600);
/// The account-wide margin mode is re-read at most this often.
const ACCOUNT_TTL: Duration = Duration::from_secs(60);

/// One BloFin account. Cheap to share as `Arc<dyn Venue>`.
#[derive(Debug)]
pub struct BlofinVenue {
    http: Arc<BlofinHttp>,
    tracker: Arc<OrderTracker>,
    stream: Option<StreamHandle>,
    instruments: InstrumentCache,
    account: Mutex<Option<(MarginMode, Instant)>>,
    /// How long to wait for a pushed fill before asking REST.
    fill_wait: Duration,
}

fn rejected(code: &str, message: String) -> VenueError {
    VenueError::new(VENUE, VenueErrorKind::Rejected, message).with_code(code)
}

fn unknown_symbol(symbol: &Symbol) -> VenueError {
    rejected(
        "unknown_symbol",
        format!("{symbol} is not a live USDT perpetual on BloFin"),
    )
}

/// The id as BloFin carries it (see [`super::venue_client_id`]).
pub(super) fn wire_id(id: &ClientOrderId) -> Result<String, VenueError> {
    super::venue_client_id(id.as_str()).ok_or_else(|| {
        rejected(
            "bad_client_id",
            format!("client order id {id}: BloFin ids cannot hold '_' (it stands for '-')"),
        )
    })
}

pub(super) fn side_text(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

/// A `data` list read strictly; `endpoint` (`GET /api/...`) is named in errors. BloFin sends
/// `null` for an empty list on some endpoints.
fn rows<T: serde::de::DeserializeOwned>(data: Value, endpoint: &str) -> Result<Vec<T>, VenueError> {
    match data {
        Value::Null => Ok(Vec::new()),
        other => crate::parse::reply(VENUE, endpoint, other),
    }
}

impl BlofinVenue {
    pub(crate) fn new(
        http: Arc<BlofinHttp>,
        tracker: Arc<OrderTracker>,
        by_inst_id: ByInstId,
        stream: Option<StreamHandle>,
        fill_wait: Duration,
    ) -> Self {
        Self {
            http,
            tracker,
            stream,
            instruments: InstrumentCache::with_index(INSTRUMENT_TTL, by_inst_id),
            account: Mutex::new(None),
            fill_wait,
        }
    }

    /// Streamed order and position updates.
    pub fn tracker(&self) -> &OrderTracker {
        &self.tracker
    }

    /// The private stream is connected and subscribed.
    pub fn stream_ready(&self) -> bool {
        self.stream.as_ref().is_some_and(StreamHandle::is_ready)
    }

    /// Waits up to `timeout` for the private stream (tests, startup).
    pub async fn wait_stream_ready(&self, timeout: Duration) -> bool {
        match &self.stream {
            Some(s) => s.wait_ready(timeout).await,
            None => false,
        }
    }

    /// Connections the private stream has made (1 + reconnects).
    pub fn stream_connects(&self) -> u64 {
        self.stream.as_ref().map_or(0, StreamHandle::connects)
    }

    pub fn http(&self) -> &BlofinHttp {
        &self.http
    }

    /// Refuses hedge (`long_short_mode`) mode: the engine thinks in one net position per symbol.
    pub(crate) async fn check_one_way(&self) -> Result<(), VenueError> {
        let data = self
            .http
            .get(
                "/api/v1/account/position-mode",
                &Query::new(),
                scope::ACCOUNT,
            )
            .await?;
        let mode = data
            .get("positionMode")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if mode != "net_mode" {
            return Err(rejected(
                "hedge_mode",
                format!(
                    "the account is in position mode {mode:?}; tradeengine needs one-way mode: POST /api/v1/account/set-position-mode positionMode=net_mode with no open positions"
                ),
            ));
        }
        Ok(())
    }

    /// Forgets the instrument cache; the next call refetches it.
    pub async fn invalidate_instruments(&self) {
        self.instruments.invalidate().await;
    }

    /// Every live USDT perpetual BloFin lists (one request).
    async fn fetch_instruments(&self) -> Result<Vec<Instrument>, VenueError> {
        let data = self
            .http
            .public_get("/api/v1/market/instruments", &Query::new())
            .await?;
        let mut listed = Vec::new();
        for row in rows::<InstrumentRow>(data, INSTRUMENTS)? {
            if let Some(i) = row.to_instrument().map_err(in_reply(INSTRUMENTS))? {
                listed.push(i);
            }
        }
        Ok(listed)
    }

    pub(super) async fn instrument(&self, symbol: &Symbol) -> Result<Instrument, VenueError> {
        self.instruments
            .get(symbol, self.fetch_instruments())
            .await?
            .ok_or_else(|| unknown_symbol(symbol))
    }

    async fn by_inst_id(&self, inst_id: &str) -> Result<Option<Instrument>, VenueError> {
        self.instruments
            .by_venue_symbol(inst_id, self.fetch_instruments())
            .await
    }

    /// The account-wide margin mode, re-read when older than a minute (or when `fresh`).
    pub(super) async fn margin_mode(&self, fresh: bool) -> Result<MarginMode, VenueError> {
        let cached = *self.account.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((mode, at)) = cached
            && at.elapsed() < ACCOUNT_TTL
            && !fresh
        {
            return Ok(mode);
        }
        let data = self
            .http
            .get("/api/v1/account/margin-mode", &Query::new(), scope::ACCOUNT)
            .await?;
        let mode = margin_mode(
            data.get("marginMode")
                .and_then(Value::as_str)
                .ok_or_else(|| missing(VENUE, "marginMode"))
                .map_err(in_reply(MARGIN_MODE))?,
        )
        .map_err(in_reply(MARGIN_MODE))?;
        *self.account.lock().unwrap_or_else(|p| p.into_inner()) = Some((mode, Instant::now()));
        Ok(mode)
    }

    /// After BloFin acknowledged an order: its status from the stream if it comes in time,
    /// else from REST.
    pub(super) async fn status_after_ack(
        &self,
        order: &OrderRequest,
    ) -> Result<OrderStatus, VenueError> {
        let id = order.client_order_id.as_str();
        if self.stream_ready() {
            let market = matches!(order.kind, OrderKind::Market);
            let pushed = self
                .tracker
                .wait_for(id, self.fill_wait, |s| !market || s.state.is_terminal())
                .await;
            if let Some(s) = pushed {
                return Ok(s);
            }
        }
        match self
            .order_by_client_id(&order.symbol, &order.client_order_id)
            .await?
        {
            Some(s) => Ok(s),
            None => Err(VenueError::new(
                VENUE,
                VenueErrorKind::Ambiguous,
                format!("order {id} was acknowledged but is not visible yet"),
            )
            .with_code("not_visible")),
        }
    }
}

#[async_trait]
impl Venue for BlofinVenue {
    fn health(&self) -> crate::VenueHealth {
        crate::VenueHealth::of(self.stream.as_ref(), &self.http.limits)
    }

    fn kind(&self) -> &'static str {
        VENUE
    }

    async fn account_value(&self) -> Result<Decimal, VenueError> {
        Ok(self.account_balance().await?.value)
    }

    /// Value: the USDT detail's `equity`; free margin: its `availableEquity`.
    async fn account_balance(&self) -> Result<AccountBalance, VenueError> {
        let data = self
            .http
            .get("/api/v1/account/balance", &Query::new(), scope::ACCOUNT)
            .await?;
        let balance: Balance = crate::parse::reply(VENUE, BALANCE, data)?;
        match balance.details.iter().find(|d| d.currency == "USDT") {
            Some(d) => Ok(AccountBalance {
                value: dec(VENUE, "details.equity", &d.equity).map_err(in_reply(BALANCE))?,
                available_margin: dec_opt(VENUE, "details.availableEquity", &d.available_equity)
                    .map_err(in_reply(BALANCE))?,
            }),
            None => Ok(AccountBalance {
                value: Decimal::ZERO,
                available_margin: Some(Decimal::ZERO),
            }),
        }
    }

    async fn positions(&self) -> Result<Vec<Position>, VenueError> {
        let data = self
            .http
            .get("/api/v1/account/positions", &Query::new(), scope::ACCOUNT)
            .await?;
        let mut out = Vec::new();
        for row in rows::<PositionRow>(data, POSITIONS)? {
            if row.position_side != "net" {
                return Err(rejected(
                    "hedge_mode",
                    format!(
                        "{}: hedge-mode position (positionSide {}); tradeengine needs net mode",
                        row.inst_id, row.position_side
                    ),
                ));
            }
            let Some(i) = self.by_inst_id(&row.inst_id).await? else {
                // Not a USDT perpetual this engine could trade (or delisted): say so loudly,
                // because its exposure is real.
                return Err(bad_reply(VENUE, "positions.instId", &row.inst_id));
            };
            let p = row.to_position(&i).map_err(in_reply(POSITIONS))?;
            if !p.size.is_zero() {
                out.push(p);
            }
        }
        Ok(out)
    }

    async fn instruments(&self, symbols: &[Symbol]) -> Result<Vec<Instrument>, VenueError> {
        let map = self
            .instruments
            .covering(symbols, || self.fetch_instruments())
            .await?;
        symbols
            .iter()
            .map(|s| map.get(s).cloned().ok_or_else(|| unknown_symbol(s)))
            .collect()
    }

    /// Last traded prices from `GET /api/v1/market/tickers`: all instruments in one request.
    async fn prices(&self, symbols: &[Symbol]) -> Result<BTreeMap<Symbol, Price>, VenueError> {
        let mut q = Query::new();
        if let [only] = symbols
            && let Some(inst) = super::venue_symbol(only.as_str())
        {
            q.push("instId", inst);
        }
        let data = self.http.public_get("/api/v1/market/tickers", &q).await?;
        let wanted: std::collections::BTreeSet<&str> = symbols.iter().map(Symbol::as_str).collect();
        let mut out = BTreeMap::new();
        for t in rows::<TickerRow>(data, TICKERS)? {
            let Some(name) = super::engine_symbol(&t.inst_id) else {
                continue;
            };
            if wanted.contains(name.as_str()) {
                out.insert(
                    crate::parse::symbol(VENUE, &name)?,
                    price(VENUE, "last", &t.last).map_err(in_reply(TICKERS))?,
                );
            }
        }
        Ok(out)
    }

    async fn set_leverage(&self, symbol: &Symbol, leverage: Decimal) -> Result<(), VenueError> {
        if leverage <= Decimal::ZERO {
            return Err(rejected(
                "bad_leverage",
                format!("{symbol}: leverage {leverage} must be positive"),
            ));
        }
        let i = self.instrument(symbol).await?;
        let mode = self.margin_mode(false).await?;
        let body = json!({
            "instId": i.venue_symbol,
            "leverage": format_dec(leverage),
            "marginMode": margin_mode_text(mode),
        });
        self.http
            .post("/api/v1/account/set-leverage", &body, scope::TRADE)
            .await
            .map(|_| ())
    }

    /// Account-wide on BloFin (see the module docs); compared first, because BloFin has no
    /// "not modified" answer.
    async fn set_margin_mode(&self, _symbol: &Symbol, mode: MarginMode) -> Result<(), VenueError> {
        if self.margin_mode(true).await? == mode {
            return Ok(());
        }
        let body = json!({"marginMode": margin_mode_text(mode)});
        self.http
            .post("/api/v1/account/set-margin-mode", &body, scope::TRADE)
            .await?;
        *self.account.lock().unwrap_or_else(|p| p.into_inner()) = Some((mode, Instant::now()));
        Ok(())
    }

    async fn place_order(&self, order: &OrderRequest) -> Result<OrderStatus, VenueError> {
        let body = self.order_body(order).await?;
        match self
            .http
            .post("/api/v1/trade/order", &body, scope::TRADE)
            .await
        {
            Ok(data) => {
                order_reply(VENUE, "/api/v1/trade/order", data)?;
                self.status_after_ack(order).await
            }
            Err(e) => self.refused(order, e).await,
        }
    }

    fn batch_limit(&self) -> usize {
        batch::BATCH_MAX
    }

    async fn place_orders(&self, orders: &[OrderRequest]) -> crate::batch::Results {
        self.place_many(orders).await
    }

    async fn cancel_order(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<OrderStatus, VenueError> {
        let i = self.instrument(symbol).await?;
        let body = json!({"instId": i.venue_symbol, "clientOrderId": wire_id(client_order_id)?});
        match self
            .http
            .post("/api/v1/trade/cancel-order", &body, scope::TRADE)
            .await
        {
            Ok(_) => {}
            // Filled, cancelled or unknown already: report what it became.
            Err(e) if codes::is(&e, &[codes::CANCEL_FAILED]) => {}
            Err(e) => return Err(e),
        }
        if self.stream_ready()
            && let Some(s) = self
                .tracker
                .wait_for(client_order_id.as_str(), self.fill_wait, |s| {
                    s.state.is_terminal()
                })
                .await
        {
            return Ok(s);
        }
        self.order_by_client_id(symbol, client_order_id)
            .await?
            .ok_or_else(|| {
                rejected(
                    codes::CANCEL_FAILED,
                    format!("order {client_order_id} does not exist on BloFin"),
                )
            })
    }

    async fn order_by_client_id(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<Option<OrderStatus>, VenueError> {
        let i = self.instrument(symbol).await?;
        let q = Query::new()
            .with("instId", &i.venue_symbol)
            .with("clientOrderId", wire_id(client_order_id)?);
        let data = match self
            .http
            .get("/api/v1/trade/order-detail", &q, scope::ACCOUNT)
            .await
        {
            Ok(d) => d,
            Err(e) if codes::is(&e, &[codes::NOT_FOUND]) => return Ok(None),
            Err(e) => return Err(e),
        };
        // An object, or a list of one.
        let row = match data {
            Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
            Value::Object(_) => data,
            _ => return Ok(None),
        };
        let row: OrderRow = crate::parse::reply(VENUE, ORDER_DETAIL, row)?;
        let Some(venue_id) = &row.client_order_id else {
            return Ok(None);
        };
        if super::engine_client_id(venue_id) != client_order_id.as_str() {
            return Ok(None);
        }
        row.to_status(&i).map_err(in_reply(ORDER_DETAIL))
    }

    async fn open_orders(&self, symbol: Option<&Symbol>) -> Result<Vec<OrderStatus>, VenueError> {
        let inst = match symbol {
            Some(s) => Some(self.instrument(s).await?.venue_symbol),
            None => None,
        };
        let mut out = Vec::new();
        let mut after = String::new();
        for _ in 0..20 {
            let mut q = Query::new();
            if let Some(inst) = &inst {
                q.push("instId", inst);
            }
            q.push("limit", "100");
            if !after.is_empty() {
                q.push("after", &after);
            }
            let data = self
                .http
                .get("/api/v1/trade/orders-pending", &q, scope::ACCOUNT)
                .await?;
            let page = rows::<OrderRow>(data, ORDERS_PENDING)?;
            let full = page.len() >= 100;
            for row in &page {
                let Some(i) = self.by_inst_id(&row.inst_id).await? else {
                    continue;
                };
                if let Some(s) = row.to_status(&i).map_err(in_reply(ORDERS_PENDING))?
                    && !s.state.is_terminal()
                    && s.state != OrderState::Unknown
                {
                    out.push(s);
                }
            }
            match page.last().map(|r| r.order_id.clone()) {
                Some(Value::String(id)) if full => after = id,
                Some(Value::Number(n)) if full => after = n.to_string(),
                _ => break,
            }
        }
        Ok(out)
    }
}
