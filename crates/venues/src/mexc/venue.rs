//! [`MexcVenue`]: the [`Venue`] for one MEXC Futures account, USDT perpetuals, one-way mode.
//!
//! ## Account value
//!
//! `V = equity` of `GET /api/v1/private/account/asset/USDT`, which MEXC defines as the USDT
//! wallet plus unrealised profit: the same "equity" the other adapters and the paper venue use.
//!
//! ## Sizes, sides, leverage and margin mode
//!
//! Orders go out in contracts (`vol = qty / contractSize`, exact: the engine sizes on the
//! contract grid) with the side codes of [`super::sides`]. MEXC has no per-symbol leverage or
//! margin-mode setting for a flat symbol: both travel **with each opening order** (`leverage`,
//! `openType`) and stick to the position it opens. So [`Venue::set_leverage`] changes an open
//! position's leverage (`change_leverage` by `positionId`, only when it differs: MEXC has no
//! "not modified" code) and otherwise remembers the value for the next opening order;
//! [`Venue::set_margin_mode`] remembers the mode per symbol and refuses to change an open
//! position's (MEXC fixes it at opening). Without a remembered mode, orders use the open
//! position's mode as last read, else cross.
//!
//! ## Requests per call
//!
//! `account_value`, `positions` and `prices` one each (`prices`: every ticker at once);
//! `instruments` from a cache refreshed hourly (`contract/detail` allows 1 request per 5 s);
//! `place_order` one when the private stream is up (the fill is pushed), plus one query by
//! `externalOid` when it is not.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use tokio::time::Instant;
use tradeengine_model::{
    ClientOrderId, Instrument, MarginMode, OrderKind, OrderRequest, OrderState, OrderStatus,
    Position, Price, Symbol,
};

use super::auth::sorted_query;
use super::codes;
use super::contracts::{ContractBook, Contracts, DETAIL_INTERVAL, INSTRUMENT_TTL, unknown};
use super::http::{MexcHttp, scope};
use super::json::{json_str, parse, rows};
use super::models::{
    ASSET, AssetRow, OPEN_ORDERS, OPEN_POSITIONS, ORDER_EXTERNAL, OrderRow, PositionRow, TICKER,
    TickerRow, open_type,
};
use super::sides::SideCode;
use super::{VENUE, unified_symbol};
use crate::http::Query;
use crate::http::envelope::order_reply;
use crate::parse::{bad_reply, dec, dec_opt, format_dec, in_reply, price};
use crate::tracker::OrderTracker;
use crate::ws::StreamHandle;
use crate::{AccountBalance, Venue, VenueError, VenueErrorKind};

mod batch;
mod positions;
mod submit;

use positions::{Held, Setting, Snapshot, hedge};

/// One MEXC account. Cheap to share as `Arc<dyn Venue>`.
#[derive(Debug)]
pub struct MexcVenue {
    http: Arc<MexcHttp>,
    tracker: Arc<OrderTracker>,
    contracts: Arc<ContractBook>,
    stream: Option<StreamHandle>,
    settings: Mutex<HashMap<Symbol, Setting>>,
    /// The last positions read.
    snapshot: Mutex<Snapshot>,
    fill_wait: Duration,
    /// The venue refused the batch endpoint itself (it is "not available for all users"): orders
    /// go one by one for the rest of this connection (see `batch`).
    batch_refused: std::sync::atomic::AtomicBool,
}

pub(super) fn rejected(code: &str, message: String) -> VenueError {
    VenueError::new(VENUE, VenueErrorKind::Rejected, message).with_code(code)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn code_of(e: &VenueError) -> Option<i64> {
    (e.venue == VENUE)
        .then(|| e.code.as_deref().and_then(|c| c.parse().ok()))
        .flatten()
}

impl MexcVenue {
    pub(crate) fn new(
        http: Arc<MexcHttp>,
        tracker: Arc<OrderTracker>,
        contracts: Arc<ContractBook>,
        stream: Option<StreamHandle>,
        fill_wait: Duration,
    ) -> Self {
        Self {
            http,
            tracker,
            contracts,
            stream,
            settings: Mutex::new(HashMap::new()),
            snapshot: Mutex::new(Snapshot::default()),
            fill_wait,
            batch_refused: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub fn tracker(&self) -> &OrderTracker {
        &self.tracker
    }

    pub fn http(&self) -> &MexcHttp {
        &self.http
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

    /// Refuses hedge mode (`positionMode` 1): the engine keeps one net position per symbol.
    pub(crate) async fn check_one_way(&self) -> Result<(), VenueError> {
        let data = self
            .http
            .get(
                "/api/v1/private/position/position_mode",
                &Query::new(),
                scope::POSITION_MODE,
            )
            .await?;
        if data.as_str().map(str::trim) == Some("1") {
            return Err(rejected(
                "hedge_mode",
                "the account is in hedge mode (positionMode 1); tradeengine needs one-way mode: POST /api/v1/private/position/change_position_mode positionMode=2 with no open positions or orders".into(),
            ));
        }
        Ok(())
    }

    pub fn invalidate_instruments(&self) {
        self.contracts.invalidate();
    }

    async fn contracts(&self, max_age: Duration) -> Result<Contracts, VenueError> {
        self.contracts.get(&self.http, max_age).await
    }

    async fn instrument(&self, symbol: &Symbol) -> Result<Instrument, VenueError> {
        self.contracts.instrument(&self.http, symbol).await
    }
}

#[async_trait]
impl Venue for MexcVenue {
    fn health(&self) -> crate::VenueHealth {
        crate::VenueHealth::of(self.stream.as_ref(), &self.http.limits)
    }

    fn kind(&self) -> &'static str {
        VENUE
    }

    async fn account_value(&self) -> Result<Decimal, VenueError> {
        Ok(self.account_balance().await?.value)
    }

    /// `GET /api/v1/private/account/asset/USDT`: value `equity`, free margin
    /// `availableBalance`.
    async fn account_balance(&self) -> Result<AccountBalance, VenueError> {
        let data = self
            .http
            .get(
                "/api/v1/private/account/asset/USDT",
                &Query::new(),
                scope::ASSETS,
            )
            .await?;
        if data.is_null() {
            return Ok(AccountBalance {
                value: Decimal::ZERO,
                available_margin: Some(Decimal::ZERO),
            });
        }
        let asset: AssetRow = parse(data, ASSET)?;
        Ok(AccountBalance {
            value: dec(VENUE, "equity", &asset.equity).map_err(in_reply(ASSET))?,
            available_margin: dec_opt(VENUE, "availableBalance", &asset.available_balance)
                .map_err(in_reply(ASSET))?,
        })
    }

    async fn positions(&self) -> Result<Vec<Position>, VenueError> {
        let (rows, contracts) =
            tokio::try_join!(self.position_rows(None), self.contracts(INSTRUMENT_TTL))?;
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut held = HashMap::new();
        for r in rows {
            let unified = unified_symbol(&r.symbol);
            let Some(cs) = contracts.size_by_venue.get(&r.symbol).copied() else {
                return Err(bad_reply(VENUE, "open_positions.symbol", &r.symbol));
            };
            let p = r.to_position(cs).map_err(in_reply(OPEN_POSITIONS))?;
            if p.size.is_zero() {
                continue;
            }
            if !seen.insert(unified) {
                return Err(hedge(&r.symbol));
            }
            held.insert(
                p.symbol.clone(),
                Held {
                    mode: p.margin_mode,
                    leverage: p.leverage,
                    position_id: r
                        .position_id
                        .trim()
                        .parse()
                        .map_err(|_| bad_reply(VENUE, "positionId", &r.position_id))?,
                },
            );
            out.push(p);
        }
        *lock(&self.snapshot) = Snapshot {
            taken_at: Some(Instant::now()),
            held,
            touched: BTreeSet::new(),
        };
        Ok(out)
    }

    async fn instruments(&self, symbols: &[Symbol]) -> Result<Vec<Instrument>, VenueError> {
        let mut c = self.contracts(INSTRUMENT_TTL).await?;
        if symbols.iter().any(|s| !c.by_symbol.contains_key(s)) {
            c = self.contracts(DETAIL_INTERVAL).await?;
        }
        symbols
            .iter()
            .map(|s| c.by_symbol.get(s).cloned().ok_or_else(|| unknown(s)))
            .collect()
    }

    async fn prices(&self, symbols: &[Symbol]) -> Result<BTreeMap<Symbol, Price>, VenueError> {
        let q = match symbols {
            [only] => match super::venue_symbol(only.as_str()) {
                Some(v) => Query::new().with("symbol", v),
                None => return Err(unknown(only)),
            },
            _ => Query::new(),
        };
        let data = self
            .http
            .public_get("/api/v1/contract/ticker", &q, scope::TICKER)
            .await?;
        let wanted: BTreeSet<&str> = symbols.iter().map(Symbol::as_str).collect();
        let mut out = BTreeMap::new();
        for t in rows::<TickerRow>(data, TICKER)? {
            let unified = unified_symbol(&t.symbol);
            if !wanted.contains(unified.as_str()) {
                continue;
            }
            let field = if t.fair_price.trim().is_empty() {
                &t.last_price
            } else {
                &t.fair_price
            };
            out.insert(
                crate::parse::symbol(VENUE, &unified)?,
                price(VENUE, "fairPrice", field).map_err(in_reply(TICKER))?,
            );
        }
        Ok(out)
    }

    /// MEXC leverage is a whole number. An open position's is changed at once (when it
    /// differs); a flat symbol's is sent with its next opening order.
    async fn set_leverage(&self, symbol: &Symbol, leverage: Decimal) -> Result<(), VenueError> {
        let instrument = self.instrument(symbol).await?;
        if leverage < Decimal::ONE
            || !leverage.fract().is_zero()
            || leverage > instrument.max_leverage
        {
            return Err(rejected(
                "bad_leverage",
                format!(
                    "{symbol}: MEXC leverage must be a whole number from 1 to {}, not {leverage}",
                    instrument.max_leverage
                ),
            ));
        }
        if let Some(held) = self.held(&instrument).await?
            && held.leverage != leverage
        {
            let body = format!(
                "{{\"positionId\":{},\"leverage\":{}}}",
                held.position_id,
                format_dec(leverage)
            );
            self.http
                .post(
                    "/api/v1/private/position/change_leverage",
                    body,
                    scope::LEVERAGE,
                )
                .await?;
            if let Some(h) = lock(&self.snapshot).held.get_mut(symbol) {
                h.leverage = leverage;
            }
        }
        lock(&self.settings)
            .entry(symbol.clone())
            .or_default()
            .leverage = Some(leverage);
        Ok(())
    }

    /// MEXC's margin mode is **per position** (`openType`, fixed when it opens): remembered
    /// for this symbol's next opening order; an open position in the other mode is refused.
    async fn set_margin_mode(&self, symbol: &Symbol, mode: MarginMode) -> Result<(), VenueError> {
        let instrument = self.instrument(symbol).await?;
        if let Some(held) = self.held(&instrument).await?
            && held.mode != mode
        {
            return Err(rejected(
                "position_open",
                format!(
                    "{symbol}: the open MEXC position is {}; its margin mode is fixed until it is closed",
                    held.mode.as_str()
                ),
            ));
        }
        lock(&self.settings).entry(symbol.clone()).or_default().mode = Some(mode);
        Ok(())
    }

    async fn place_order(&self, order: &OrderRequest) -> Result<OrderStatus, VenueError> {
        let body = self.checked_submit(order).await?;
        match self
            .http
            .post("/api/v1/private/order/submit", body, scope::SUBMIT)
            .await
        {
            Ok(order_id) => {
                order_reply(VENUE, "/api/v1/private/order/submit", order_id)?;
                self.status_after_ack(order).await
            }
            Err(e) => {
                if code_of(&e).is_some_and(codes::suggests_stale_instrument) {
                    self.invalidate_instruments();
                }
                Err(e)
            }
        }
    }

    fn batch_limit(&self) -> usize {
        if self.batch_refused() {
            1
        } else {
            batch::BATCH_MAX
        }
    }

    async fn place_orders(&self, orders: &[OrderRequest]) -> crate::batch::Results {
        if self.batch_refused() {
            let mut results = Vec::with_capacity(orders.len());
            for order in orders {
                results.push(self.place_order(order).await);
            }
            return results;
        }
        crate::batch::in_chunks(VENUE, orders, batch::BATCH_MAX, |chunk| {
            self.submit_batch(chunk)
        })
        .await
    }

    async fn cancel_order(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<OrderStatus, VenueError> {
        let instrument = self.instrument(symbol).await?;
        let body = format!(
            "{{\"symbol\":{},\"externalOid\":{}}}",
            json_str(&instrument.venue_symbol),
            json_str(client_order_id.as_str())
        );
        let sent = self
            .http
            .post(
                "/api/v1/private/order/cancel_with_external",
                body,
                scope::CANCEL,
            )
            .await;
        let refusal = match sent {
            Ok(_) => None,
            // Refused: most often the order is already done. Report what it became.
            Err(e) if e.kind == VenueErrorKind::Rejected => Some(e),
            Err(e) => return Err(e),
        };
        if refusal.is_none()
            && self.stream_ready()
            && let Some(s) = self
                .tracker
                .wait_for(client_order_id.as_str(), self.fill_wait, |s| {
                    s.state.is_terminal()
                })
                .await
        {
            return Ok(s);
        }
        match (
            self.order_by_client_id(symbol, client_order_id).await?,
            refusal,
        ) {
            (Some(s), None) => Ok(s),
            (Some(s), Some(_)) if s.state.is_terminal() => Ok(s),
            (Some(_), Some(e)) => Err(e),
            (None, _) => Err(rejected(
                "order_not_found",
                format!("order {client_order_id} does not exist on MEXC"),
            )),
        }
    }

    /// `GET /api/v1/private/order/external/{symbol}/{externalOid}` (path parameters are not
    /// signed). An empty `data` means MEXC never saw the id.
    async fn order_by_client_id(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<Option<OrderStatus>, VenueError> {
        let instrument = self.instrument(symbol).await?;
        let path = format!(
            "/api/v1/private/order/external/{}/{}",
            instrument.venue_symbol,
            client_order_id.as_str()
        );
        let data = self.http.get(&path, &Query::new(), scope::QUERY).await?;
        if data.is_null() {
            return Ok(None);
        }
        let row: OrderRow = parse(data, ORDER_EXTERNAL)?;
        if row.external_oid.as_deref() != Some(client_order_id.as_str()) {
            return Ok(None);
        }
        row.to_status(instrument.contract_size)
            .map_err(in_reply(ORDER_EXTERNAL))
    }

    async fn open_orders(&self, symbol: Option<&Symbol>) -> Result<Vec<OrderStatus>, VenueError> {
        let contracts = self.contracts(INSTRUMENT_TTL).await?;
        let path = match symbol {
            Some(s) => {
                let i = contracts.by_symbol.get(s).ok_or_else(|| unknown(s))?;
                format!("/api/v1/private/order/list/open_orders/{}", i.venue_symbol)
            }
            None => "/api/v1/private/order/list/open_orders".to_string(),
        };
        const PAGE: usize = 100;
        let mut out = Vec::new();
        for page in 1..=20 {
            let page_num = page.to_string();
            let q = sorted_query(&[("page_num", &page_num), ("page_size", "100")]);
            let data = self.http.get(&path, &q, scope::OPEN_ORDERS).await?;
            let batch: Vec<OrderRow> = rows(data, OPEN_ORDERS)?;
            let full = batch.len() >= PAGE;
            for row in batch {
                let Some(cs) = contracts.size_by_venue.get(&row.symbol).copied() else {
                    continue;
                };
                if let Some(s) = row.to_status(cs).map_err(in_reply(OPEN_ORDERS))?
                    && !s.state.is_terminal()
                    && s.state != OrderState::Unknown
                {
                    out.push(s);
                }
            }
            if !full {
                break;
            }
        }
        Ok(out)
    }
}
