//! [`KucoinVenue`]: the [`Venue`] for one KuCoin Futures account, USDT-margined perpetuals,
//! one-way positions.
//!
//! ## Account value
//!
//! `V = accountEquity` of `GET /api/v1/account-overview?currency=USDT` (margin balance plus
//! unrealised profit, USDT), the figure the other adapters use too.
//!
//! ## Sizes
//!
//! Orders and positions are in integer lots of `multiplier` base units. An order's base
//! quantity becomes lots with [`to_venue_units`]: divided by the multiplier and rounded **toward
//! zero** to the lot size; [`crate::checks::check_order`] has already refused quantities that
//! would need rounding. KuCoin takes `size` as a JSON integer.
//!
//! ## Leverage and margin mode
//!
//! KuCoin takes `leverage` **on every order** and the margin mode **per symbol**:
//! - cross margin: `POST /api/v2/changeCrossUserLeverage` changes a symbol's leverage, open
//!   position included — no close and reopen (closing and reopening to
//!   change leverage would trade nobody asked for, and is not done);
//! - isolated margin: KuCoin has **no leverage setter**. The new leverage is recorded and sent
//!   with the next orders; an open isolated position keeps the margin it was opened with (its
//!   effective leverage only changes as margin is added or removed), and this adapter never
//!   closes a position to change it. The position keeps reporting its old leverage, so the
//!   engine asks again each cycle; that costs no request;
//! - the margin mode is compared first (`getMarginMode`) and changed only when it differs;
//!   KuCoin refuses the change while the symbol has a position or orders, and the refusal is
//!   passed on.
//!
//! ## Fees
//!
//! Orders and the order stream carry no fee; a finished order's fee is the sum over its fills
//! (`GET /api/v1/fills?orderId=`), read before its status is reported (`venue/fees.rs`).
//!
//! ## Idempotency
//!
//! KuCoin requires a `clientOid` but documents no duplicate-id error. So the adapter remembers
//! the ids it has sent, and before re-sending one it asks KuCoin for it: an order that landed is
//! answered with its status instead of being placed twice.

mod batch;
mod fees;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};
use tradeengine_model::{
    ClientOrderId, Instrument, MarginMode, OrderKind, OrderRequest, OrderState, OrderStatus,
    Position, Price, Side, Symbol,
};

use super::VENUE;
use super::codes;
use super::http::{KucoinHttp, weight};
use super::models::{
    ACCOUNT_OVERVIEW, AccountOverview, CONTRACTS, ContractRow, ORDER_BY_CLIENT_OID, ORDERS,
    OrderRow, POSITIONS, PositionRow, margin_mode, margin_mode_text, num, required,
};
use super::stream::BySymbol;
use crate::http::Query;
use crate::http::envelope::order_reply;
use crate::instruments::InstrumentCache;
use crate::parse::{bad_reply, format_dec, in_reply};
use crate::tracker::OrderTracker;
use crate::ws::StreamHandle;
use crate::{AccountBalance, Venue, VenueError, VenueErrorKind};

const INSTRUMENT_TTL: Duration = Duration::from_secs(3600);
/// How many sent client ids are remembered for the duplicate check.
const SENT_MEMORY: usize = 10_000;

#[derive(Debug, Default)]
struct Sent {
    ids: HashSet<String>,
    order: VecDeque<String>,
}

/// One KuCoin Futures account. Cheap to share as `Arc<dyn Venue>`.
#[derive(Debug)]
pub struct KucoinVenue {
    http: Arc<KucoinHttp>,
    tracker: Arc<OrderTracker>,
    stream: Option<StreamHandle>,
    instruments: InstrumentCache,
    /// Per-symbol margin mode as last read or set.
    modes: Mutex<HashMap<Symbol, MarginMode>>,
    /// Per-symbol leverage to send with orders, as last read or set.
    leverage: Mutex<HashMap<Symbol, Decimal>>,
    sent: Mutex<Sent>,
    fill_wait: Duration,
}

fn rejected(code: &str, message: String) -> VenueError {
    VenueError::new(VENUE, VenueErrorKind::Rejected, message).with_code(code)
}

fn unknown_symbol(symbol: &Symbol) -> VenueError {
    rejected(
        "unknown_symbol",
        format!("{symbol} is not an open USDT perpetual on KuCoin Futures"),
    )
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn side_text(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

/// A `data` list read strictly; `endpoint` (`GET /api/...`) is named in errors. KuCoin sends
/// `null` for an empty list on some endpoints.
fn rows<T: serde::de::DeserializeOwned>(data: Value, endpoint: &str) -> Result<Vec<T>, VenueError> {
    match data {
        Value::Null => Ok(Vec::new()),
        other => crate::parse::reply(VENUE, endpoint, other),
    }
}

/// A JSON number for a decimal that is a whole number (lots, leverage).
pub(super) fn whole(v: Decimal, what: &str) -> Result<Value, VenueError> {
    v.normalize()
        .to_i64()
        .filter(|n| Decimal::from(*n) == v)
        .map(Value::from)
        .ok_or_else(|| rejected("bad_qty", format!("{what} {v} must be a whole number")))
}

impl KucoinVenue {
    pub(crate) fn new(
        http: Arc<KucoinHttp>,
        tracker: Arc<OrderTracker>,
        by_symbol: BySymbol,
        stream: Option<StreamHandle>,
        fill_wait: Duration,
    ) -> Self {
        Self {
            http,
            tracker,
            stream,
            instruments: InstrumentCache::with_index(INSTRUMENT_TTL, by_symbol),
            modes: Mutex::new(HashMap::new()),
            leverage: Mutex::new(HashMap::new()),
            sent: Mutex::new(Sent::default()),
            fill_wait,
        }
    }

    pub fn tracker(&self) -> &OrderTracker {
        &self.tracker
    }

    pub fn stream_ready(&self) -> bool {
        self.stream.as_ref().is_some_and(StreamHandle::is_ready)
    }

    pub async fn wait_stream_ready(&self, timeout: Duration) -> bool {
        match &self.stream {
            Some(s) => s.wait_ready(timeout).await,
            None => false,
        }
    }

    pub fn stream_connects(&self) -> u64 {
        self.stream.as_ref().map_or(0, StreamHandle::connects)
    }

    pub fn http(&self) -> &KucoinHttp {
        &self.http
    }

    /// Checks the keys with a signed read (KuCoin Futures has one-way positions only).
    pub(crate) async fn check_keys(&self) -> Result<(), VenueError> {
        self.account_value().await.map(|_| ())
    }

    pub async fn invalidate_instruments(&self) {
        self.instruments.invalidate().await;
    }

    /// Every open USDT-margined perpetual KuCoin Futures lists (one request).
    async fn fetch_instruments(&self) -> Result<Vec<Instrument>, VenueError> {
        let data = self
            .http
            .public_get("/api/v1/contracts/active", &Query::new())
            .await?;
        let mut listed = Vec::new();
        for row in rows::<ContractRow>(data, CONTRACTS)? {
            if let Some(i) = row.to_instrument().map_err(in_reply(CONTRACTS))? {
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

    async fn by_venue_symbol(&self, name: &str) -> Result<Option<Instrument>, VenueError> {
        self.instruments
            .by_venue_symbol(name, self.fetch_instruments())
            .await
    }

    /// The symbol's margin mode: as last set or read, else asked (`getMarginMode`).
    pub(super) async fn symbol_margin(
        &self,
        i: &Instrument,
        fresh: bool,
    ) -> Result<MarginMode, VenueError> {
        if !fresh && let Some(m) = lock(&self.modes).get(&i.symbol).copied() {
            return Ok(m);
        }
        let q = Query::new().with("symbol", &i.venue_symbol);
        let data = self
            .http
            .get("/api/v2/position/getMarginMode", &q, weight::QUERY)
            .await?;
        let text = data
            .get("marginMode")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mode = margin_mode(text).ok_or_else(|| bad_reply(VENUE, "marginMode", text))?;
        lock(&self.modes).insert(i.symbol.clone(), mode);
        Ok(mode)
    }

    /// The leverage to send with an order: as last set, else the venue's cross leverage (cross)
    /// or 1 (isolated, where KuCoin keeps no per-symbol setting).
    pub(super) async fn order_leverage(
        &self,
        i: &Instrument,
        mode: MarginMode,
    ) -> Result<Decimal, VenueError> {
        if let Some(l) = lock(&self.leverage).get(&i.symbol).copied() {
            return Ok(l);
        }
        let lev = match mode {
            MarginMode::Isolated => Decimal::ONE,
            MarginMode::Cross => {
                let q = Query::new().with("symbol", &i.venue_symbol);
                let data = self
                    .http
                    .get("/api/v2/getCrossUserLeverage", &q, weight::QUERY)
                    .await?;
                data.get("leverage")
                    .and_then(num)
                    .filter(|l| *l > Decimal::ZERO)
                    .unwrap_or(Decimal::ONE)
            }
        };
        lock(&self.leverage).insert(i.symbol.clone(), lev);
        Ok(lev)
    }

    /// Records a client id as sent; `true` when it had been sent before.
    pub(super) fn mark_sent(&self, id: &str) -> bool {
        let mut sent = lock(&self.sent);
        if !sent.ids.insert(id.to_string()) {
            return true;
        }
        sent.order.push_back(id.to_string());
        while sent.order.len() > SENT_MEMORY {
            if let Some(old) = sent.order.pop_front() {
                sent.ids.remove(&old);
            }
        }
        false
    }

    pub(super) async fn status_after_ack(
        &self,
        order: &OrderRequest,
    ) -> Result<OrderStatus, VenueError> {
        let id = order.client_order_id.as_str();
        if self.stream_ready() {
            let market = matches!(order.kind, OrderKind::Market);
            if let Some(s) = self
                .tracker
                .wait_for(id, self.fill_wait, |s| !market || s.state.is_terminal())
                .await
            {
                return self.with_fee(s).await;
            }
        }
        self.order_by_client_id(&order.symbol, &order.client_order_id)
            .await?
            .ok_or_else(|| {
                VenueError::new(
                    VENUE,
                    VenueErrorKind::Ambiguous,
                    format!("order {id} was acknowledged but is not visible yet"),
                )
                .with_code("not_visible")
            })
    }
}

#[async_trait]
impl Venue for KucoinVenue {
    fn health(&self) -> crate::VenueHealth {
        crate::VenueHealth::of(self.stream.as_ref(), &self.http.limits)
    }

    fn kind(&self) -> &'static str {
        VENUE
    }

    async fn account_value(&self) -> Result<Decimal, VenueError> {
        Ok(self.account_balance().await?.value)
    }

    /// `GET /api/v1/account-overview?currency=USDT`: value `accountEquity`, free margin
    /// `availableBalance`.
    async fn account_balance(&self) -> Result<AccountBalance, VenueError> {
        let q = Query::new().with("currency", "USDT");
        let data = self
            .http
            .get("/api/v1/account-overview", &q, weight::ACCOUNT)
            .await?;
        let overview: AccountOverview = crate::parse::reply(VENUE, ACCOUNT_OVERVIEW, data)?;
        let value = required(&overview.account_equity, "accountEquity")
            .map_err(in_reply(ACCOUNT_OVERVIEW))?;
        let available_margin = Some(
            required(&overview.available_balance, "availableBalance")
                .map_err(in_reply(ACCOUNT_OVERVIEW))?,
        );
        Ok(AccountBalance {
            value,
            available_margin,
        })
    }

    async fn positions(&self) -> Result<Vec<Position>, VenueError> {
        let data = self
            .http
            .get("/api/v1/positions", &Query::new(), weight::QUERY)
            .await?;
        let mut out = Vec::new();
        for row in rows::<PositionRow>(data, POSITIONS)? {
            if let Some(side) = &row.position_side
                && side != "BOTH"
            {
                return Err(rejected(
                    "hedge_mode",
                    format!(
                        "{}: hedge-mode position (positionSide {side}); tradeengine needs one-way mode",
                        row.symbol
                    ),
                ));
            }
            let Some(i) = self.by_venue_symbol(&row.symbol).await? else {
                return Err(bad_reply(VENUE, "positions.symbol", &row.symbol));
            };
            let p = row.to_position(&i).map_err(in_reply(POSITIONS))?;
            lock(&self.modes).insert(p.symbol.clone(), p.margin_mode);
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

    /// Mark prices of every contract from `GET /api/v1/contracts/active`: one request.
    async fn prices(&self, symbols: &[Symbol]) -> Result<BTreeMap<Symbol, Price>, VenueError> {
        let data = self
            .http
            .public_get("/api/v1/contracts/active", &Query::new())
            .await?;
        let wanted: std::collections::BTreeSet<&str> = symbols.iter().map(Symbol::as_str).collect();
        let mut out = BTreeMap::new();
        for row in rows::<ContractRow>(data, CONTRACTS)? {
            let Some(name) = super::engine_symbol(&row.symbol) else {
                continue;
            };
            if !wanted.contains(name.as_str()) {
                continue;
            }
            let p = num(&row.mark_price)
                .and_then(|p| Price::new(p).ok())
                .ok_or_else(|| bad_reply(VENUE, "markPrice", &row.mark_price.to_string()))
                .map_err(in_reply(CONTRACTS))?;
            out.insert(crate::parse::symbol(VENUE, &name)?, p);
        }
        Ok(out)
    }

    /// Cross: set on the venue, open position included. Isolated: recorded for the next
    /// orders only (see the module docs: KuCoin has no isolated leverage setter).
    async fn set_leverage(&self, symbol: &Symbol, leverage: Decimal) -> Result<(), VenueError> {
        let i = self.instrument(symbol).await?;
        if leverage < Decimal::ONE || leverage > i.max_leverage {
            return Err(rejected(
                "bad_leverage",
                format!(
                    "{symbol}: leverage {leverage} outside 1..={}",
                    i.max_leverage
                ),
            ));
        }
        if self.symbol_margin(&i, false).await? == MarginMode::Cross {
            let body = json!({"symbol": i.venue_symbol, "leverage": format_dec(leverage)});
            let ok = self
                .http
                .post("/api/v2/changeCrossUserLeverage", &body, weight::ORDER)
                .await?;
            // KuCoin answers `true`, also when nothing changed.
            if ok == Value::Bool(false) {
                return Err(rejected(
                    "leverage_refused",
                    format!("{symbol}: KuCoin did not change the cross leverage"),
                ));
            }
        }
        lock(&self.leverage).insert(symbol.clone(), leverage);
        Ok(())
    }

    /// Per symbol on KuCoin; compared first.
    async fn set_margin_mode(&self, symbol: &Symbol, mode: MarginMode) -> Result<(), VenueError> {
        let i = self.instrument(symbol).await?;
        if self.symbol_margin(&i, true).await? == mode {
            return Ok(());
        }
        let body = json!({"symbol": i.venue_symbol, "marginMode": margin_mode_text(mode)});
        self.http
            .post("/api/v2/position/changeMarginMode", &body, weight::ORDER)
            .await?;
        lock(&self.modes).insert(symbol.clone(), mode);
        // The leverage to send in the new mode is read afresh.
        lock(&self.leverage).remove(symbol);
        Ok(())
    }

    async fn place_order(&self, order: &OrderRequest) -> Result<OrderStatus, VenueError> {
        let (i, lots) = self.checked_lots(order).await?;
        if self.mark_sent(order.client_order_id.as_str())
            && let Some(s) = self
                .order_by_client_id(&order.symbol, &order.client_order_id)
                .await?
        {
            // An earlier attempt landed: never place it twice.
            return Ok(s);
        }
        let body = self.order_body(&i, lots, order).await?;
        match self.http.post("/api/v1/orders", &body, weight::ORDER).await {
            Ok(data) => {
                order_reply(VENUE, "/api/v1/orders", data)?;
                self.status_after_ack(order).await
            }
            Err(e) => {
                if e.kind == VenueErrorKind::Rejected
                    && codes::is(&e, &["100001", "300000", "400100"])
                {
                    self.invalidate_instruments().await;
                }
                Err(e)
            }
        }
    }

    fn batch_limit(&self) -> usize {
        batch::BATCH_MAX
    }

    async fn place_orders(&self, orders: &[OrderRequest]) -> crate::batch::Results {
        crate::batch::in_chunks(VENUE, orders, batch::BATCH_MAX, |chunk| {
            self.place_batch(chunk)
        })
        .await
    }

    async fn cancel_order(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<OrderStatus, VenueError> {
        let i = self.instrument(symbol).await?;
        let path = format!(
            "/api/v1/orders/client-order/{}",
            crate::http::query::encode(client_order_id.as_str())
        );
        let q = Query::new().with("symbol", &i.venue_symbol);
        match self.http.delete(&path, &q, weight::ORDER).await {
            Ok(_) => {}
            // Done already (filled or cancelled): report what it became.
            Err(e) if codes::is(&e, &[codes::NOT_CANCELABLE]) => {}
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
            return self.with_fee(s).await;
        }
        self.order_by_client_id(symbol, client_order_id)
            .await?
            .ok_or_else(|| {
                rejected(
                    codes::NOT_CANCELABLE,
                    format!("order {client_order_id} does not exist on KuCoin"),
                )
            })
    }

    async fn order_by_client_id(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<Option<OrderStatus>, VenueError> {
        let i = self.instrument(symbol).await?;
        let q = Query::new().with("clientOid", client_order_id.as_str());
        let data = self
            .http
            .get("/api/v1/orders/byClientOid", &q, weight::QUERY)
            .await?;
        if data.is_null() {
            return Ok(None);
        }
        let row: OrderRow = crate::parse::reply(VENUE, ORDER_BY_CLIENT_OID, data)?;
        if row.client_oid.as_deref() != Some(client_order_id.as_str())
            || row.symbol != i.venue_symbol
        {
            return Ok(None);
        }
        match row.to_status(&i).map_err(in_reply(ORDER_BY_CLIENT_OID))? {
            Some(s) => self.with_fee(s).await.map(Some),
            None => Ok(None),
        }
    }

    async fn open_orders(&self, symbol: Option<&Symbol>) -> Result<Vec<OrderStatus>, VenueError> {
        let venue_symbol = match symbol {
            Some(s) => Some(self.instrument(s).await?.venue_symbol),
            None => None,
        };
        let mut out = Vec::new();
        for page in 1..=20u32 {
            let mut q = Query::new().with("status", "active");
            if let Some(s) = &venue_symbol {
                q.push("symbol", s);
            }
            q.push("currentPage", page.to_string());
            q.push("pageSize", "100");
            let data = self.http.get("/api/v1/orders", &q, weight::QUERY).await?;
            let total_pages = data.get("totalPage").and_then(Value::as_u64).unwrap_or(1);
            let items = data.get("items").cloned().unwrap_or(Value::Null);
            for row in rows::<OrderRow>(items, ORDERS)? {
                let Some(i) = self.by_venue_symbol(&row.symbol).await? else {
                    continue;
                };
                if let Some(s) = row.to_status(&i).map_err(in_reply(ORDERS))?
                    && !s.state.is_terminal()
                    && s.state != OrderState::Unknown
                {
                    out.push(s);
                }
            }
            if u64::from(page) >= total_pages {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "venue_tests.rs"]
mod tests;
