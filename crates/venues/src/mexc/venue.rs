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
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde_json::Value;
use tokio::time::Instant;
use tradeengine_model::{
    ClientOrderId, Instrument, MarginMode, OrderKind, OrderRequest, OrderState, OrderStatus,
    Position, Price, Symbol,
};

use super::auth::sorted_query;
use super::codes;
use super::http::{MexcHttp, scope};
use super::models::{AssetRow, ContractRow, OrderRow, PositionRow, TickerRow, open_type};
use super::sides::SideCode;
use super::{VENUE, unified_symbol};
use crate::http::Query;
use crate::parse::{bad_reply, dec_or_zero, format_dec, price};
use crate::tracker::OrderTracker;
use crate::ws::StreamHandle;
use crate::{Venue, VenueError, VenueErrorKind};

/// Contract rules change rarely; an hour bounds how long a change can go unseen.
const INSTRUMENT_TTL: Duration = Duration::from_secs(3600);
/// `contract/detail` allows one request per 5 s: an unknown symbol is refetched only when the
/// cache is older than that, instead of waiting on the budget.
const DETAIL_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Debug, Default, Clone)]
struct Contracts {
    by_symbol: HashMap<Symbol, Instrument>,
    /// Contract size by MEXC symbol, for stream pushes.
    size_by_venue: HashMap<String, Decimal>,
    /// Contracts whose detail says `apiAllowed = false`.
    api_disallowed: BTreeSet<Symbol>,
    fetched_at: Option<Instant>,
}

/// The cached contract details, shared with the private stream (which converts pushed
/// contracts to base units synchronously).
#[derive(Debug, Default)]
pub struct ContractBook {
    inner: RwLock<Contracts>,
}

impl ContractBook {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Contracts> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Base units per contract of a MEXC symbol (`BTC_USDT`), if known.
    pub fn contract_size(&self, venue_symbol: &str) -> Option<Decimal> {
        self.read().size_by_venue.get(venue_symbol).copied()
    }
}

/// An open position as last read: what an order adding to it must carry, and the id that
/// changes its leverage.
#[derive(Debug, Clone, Copy)]
struct Held {
    mode: MarginMode,
    leverage: Decimal,
    position_id: u64,
}

/// The positions of the last [`Venue::positions`] read. The engine reads positions at the start
/// of every cycle and sets leverage right after, so a fresh snapshot spares one position query
/// per symbol (50 in an opening round, against MEXC's 20 per 2 s). A symbol this adapter sent an
/// order for since is no longer known from it.
#[derive(Debug, Default)]
struct Snapshot {
    taken_at: Option<Instant>,
    held: HashMap<Symbol, Held>,
    touched: BTreeSet<Symbol>,
}

/// How long a positions read stands in for a per-symbol query.
const SNAPSHOT_TTL: Duration = Duration::from_secs(10);

/// What the engine asked for a symbol, sent with its next opening order.
#[derive(Debug, Default, Clone, Copy)]
struct Setting {
    leverage: Option<Decimal>,
    mode: Option<MarginMode>,
}

/// One MEXC account. Cheap to share as `Arc<dyn Venue>`.
#[derive(Debug)]
pub struct MexcVenue {
    http: Arc<MexcHttp>,
    tracker: Arc<OrderTracker>,
    contracts: Arc<ContractBook>,
    /// Serialises detail fetches (one at a time, within the 1-per-5 s budget).
    fetching: tokio::sync::Mutex<()>,
    stream: Option<StreamHandle>,
    settings: Mutex<HashMap<Symbol, Setting>>,
    /// The last positions read.
    snapshot: Mutex<Snapshot>,
    fill_wait: Duration,
}

fn rejected(code: &str, message: String) -> VenueError {
    VenueError::new(VENUE, VenueErrorKind::Rejected, message).with_code(code)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn parse<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> Result<T, VenueError> {
    serde_json::from_value(v).map_err(|e| bad_reply(VENUE, what, &e.to_string()))
}

/// `data` as a list: MEXC answers a list, a single object (when asked for one symbol), a page
/// `{resultList: [...]}`, or null.
fn rows<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> Result<Vec<T>, VenueError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(_) => parse(v, what),
        Value::Object(ref o) if o.contains_key("resultList") => {
            parse(o.get("resultList").cloned().unwrap_or(Value::Null), what)
        }
        one => Ok(vec![parse(one, what)?]),
    }
}

/// A JSON string literal (escaped), for bodies built by hand.
fn json_str(s: &str) -> String {
    Value::String(s.to_string()).to_string()
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
            fetching: tokio::sync::Mutex::new(()),
            stream,
            settings: Mutex::new(HashMap::new()),
            snapshot: Mutex::new(Snapshot::default()),
            fill_wait,
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
        self.contracts
            .inner
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .fetched_at = None;
    }

    /// The contract cache, fetched when older than `max_age`.
    async fn contracts(&self, max_age: Duration) -> Result<Contracts, VenueError> {
        let fresh = |c: &Contracts| c.fetched_at.is_some_and(|t| t.elapsed() < max_age);
        {
            let c = self.contracts.read();
            if fresh(&c) {
                return Ok(c.clone());
            }
        }
        let _one_at_a_time = self.fetching.lock().await;
        {
            let c = self.contracts.read();
            if fresh(&c) {
                return Ok(c.clone());
            }
        }
        let data = self
            .http
            .public_get("/api/v1/contract/detail", &Query::new(), scope::DETAIL)
            .await?;
        let mut next = Contracts::default();
        for row in rows::<ContractRow>(data, "contract/detail")? {
            if let Some((i, allowed)) = row.to_instrument()? {
                next.size_by_venue
                    .insert(i.venue_symbol.clone(), i.contract_size);
                if !allowed {
                    next.api_disallowed.insert(i.symbol.clone());
                }
                next.by_symbol.insert(i.symbol.clone(), i);
            }
        }
        next.fetched_at = Some(Instant::now());
        *self
            .contracts
            .inner
            .write()
            .unwrap_or_else(|p| p.into_inner()) = next.clone();
        Ok(next)
    }

    async fn instrument(&self, symbol: &Symbol) -> Result<Instrument, VenueError> {
        let mut c = self.contracts(INSTRUMENT_TTL).await?;
        if !c.by_symbol.contains_key(symbol) {
            c = self.contracts(DETAIL_INTERVAL).await?;
        }
        c.by_symbol.remove(symbol).ok_or_else(|| unknown(symbol))
    }

    async fn position_rows(&self, symbol: Option<&str>) -> Result<Vec<PositionRow>, VenueError> {
        let q = sorted_query(&[("symbol", symbol.unwrap_or_default())]);
        let data = self
            .http
            .get(
                "/api/v1/private/position/open_positions",
                &q,
                scope::POSITIONS,
            )
            .await?;
        rows(data, "open_positions")
    }

    /// The open position of one symbol: from a fresh snapshot when it has the symbol's last
    /// word, else asked for.
    async fn held(&self, instrument: &Instrument) -> Result<Option<Held>, VenueError> {
        {
            let snap = lock(&self.snapshot);
            if snap.taken_at.is_some_and(|t| t.elapsed() < SNAPSHOT_TTL)
                && !snap.touched.contains(&instrument.symbol)
            {
                return Ok(snap.held.get(&instrument.symbol).copied());
            }
        }
        let Some(row) = self.open_row(instrument).await? else {
            return Ok(None);
        };
        let position_id = row
            .position_id
            .trim()
            .parse::<u64>()
            .map_err(|_| bad_reply(VENUE, "positionId", &row.position_id))?;
        Ok(Some(Held {
            mode: row.margin_mode(),
            leverage: dec_or_zero(VENUE, "leverage", &row.leverage)?,
            position_id,
        }))
    }

    /// The open (non-zero) position row of one symbol, refusing hedge-mode pairs.
    async fn open_row(&self, instrument: &Instrument) -> Result<Option<PositionRow>, VenueError> {
        let rows = self.position_rows(Some(&instrument.venue_symbol)).await?;
        let mut open = rows.into_iter().filter(|r| {
            r.symbol == instrument.venue_symbol
                && r.state.trim() != "3"
                && dec_or_zero(VENUE, "holdVol", &r.hold_vol).is_ok_and(|v| v > Decimal::ZERO)
        });
        let first = open.next();
        if open.next().is_some() {
            return Err(hedge(&instrument.venue_symbol));
        }
        Ok(first)
    }

    fn setting(&self, symbol: &Symbol) -> Setting {
        lock(&self.settings)
            .get(symbol)
            .copied()
            .unwrap_or_default()
    }

    /// Status of an order just acknowledged: the pushed fill if the stream has it within the
    /// wait, else a query by `externalOid`.
    async fn status_after_ack(&self, order: &OrderRequest) -> Result<OrderStatus, VenueError> {
        let id = order.client_order_id.as_str();
        let market = matches!(order.kind, OrderKind::Market);
        if self.stream_ready()
            && let Some(s) = self
                .tracker
                .wait_for(id, self.fill_wait, |s| !market || s.state.is_terminal())
                .await
        {
            return Ok(s);
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

    /// The JSON body of `order/submit`, built by hand so decimals are written exactly (MEXC
    /// takes numbers, and `serde_json` would go through `f64`).
    fn submit_body(&self, order: &OrderRequest, instrument: &Instrument, vol: Decimal) -> String {
        let code = SideCode::for_order(order.side, order.reduce_only);
        let setting = self.setting(&order.symbol);
        // Without a setting made in this process (after a restart), an order adding to a
        // position carries the position's own mode and leverage, as MEXC requires.
        let held = lock(&self.snapshot).held.get(&order.symbol).copied();
        let mode = setting
            .mode
            .or(held.map(|h| h.mode))
            .unwrap_or(MarginMode::Cross);
        let leverage = setting.leverage.or(held.map(|h| h.leverage));
        let mut body = format!(
            "{{\"symbol\":{},\"vol\":{},\"side\":{}",
            json_str(&instrument.venue_symbol),
            format_dec(vol),
            code.code()
        );
        match order.kind {
            // Type 5: market. (The seed sent 2, which is post-only.)
            OrderKind::Market => body.push_str(",\"type\":5"),
            // Type 1: limit, good till cancelled.
            OrderKind::Limit { price } => {
                body.push_str(&format!(
                    ",\"price\":{},\"type\":1",
                    format_dec(price.get())
                ));
            }
        }
        body.push_str(&format!(",\"openType\":{}", open_type(mode)));
        if let (false, Some(lev)) = (code.reduces(), leverage) {
            body.push_str(&format!(",\"leverage\":{}", format_dec(lev)));
        }
        body.push_str(&format!(
            ",\"externalOid\":{}}}",
            json_str(order.client_order_id.as_str())
        ));
        body
    }
}

fn unknown(symbol: &Symbol) -> VenueError {
    rejected(
        "unknown_symbol",
        format!("{symbol} is not an enabled USDT perpetual on MEXC"),
    )
}

fn hedge(venue_symbol: &str) -> VenueError {
    rejected(
        "hedge_mode",
        format!(
            "{venue_symbol}: long and short positions at once (hedge mode); tradeengine needs one-way mode"
        ),
    )
}

#[async_trait]
impl Venue for MexcVenue {
    fn kind(&self) -> &'static str {
        VENUE
    }

    async fn account_value(&self) -> Result<Decimal, VenueError> {
        let data = self
            .http
            .get(
                "/api/v1/private/account/asset/USDT",
                &Query::new(),
                scope::ASSETS,
            )
            .await?;
        if data.is_null() {
            return Ok(Decimal::ZERO);
        }
        let asset: AssetRow = parse(data, "account/asset")?;
        dec_or_zero(VENUE, "equity", &asset.equity)
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
            let p = r.to_position(cs)?;
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
        for t in rows::<TickerRow>(data, "contract/ticker")? {
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
                price(VENUE, "fairPrice", field)?,
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
        let instrument = self.instrument(&order.symbol).await?;
        crate::checks::check_order(VENUE, &instrument, order)?;
        if self.contracts.read().api_disallowed.contains(&order.symbol) {
            return Err(codes::restricted_locally(&instrument.venue_symbol));
        }
        let vol = instrument
            .base_to_venue(order.qty)
            .ok_or_else(|| rejected("bad_qty", format!("{}: quantity overflow", order.symbol)))?;
        let body = self.submit_body(order, &instrument, vol);
        // From here the snapshot no longer has this symbol's last word.
        lock(&self.snapshot).touched.insert(order.symbol.clone());
        match self
            .http
            .post("/api/v1/private/order/submit", body, scope::SUBMIT)
            .await
        {
            Ok(_order_id) => self.status_after_ack(order).await,
            Err(e) => {
                if code_of(&e).is_some_and(codes::suggests_stale_instrument) {
                    self.invalidate_instruments();
                }
                Err(e)
            }
        }
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
        let row: OrderRow = parse(data, "order/external")?;
        if row.external_oid != client_order_id.as_str() {
            return Ok(None);
        }
        row.to_status(instrument.contract_size)
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
            let batch: Vec<OrderRow> = rows(data, "open_orders")?;
            let full = batch.len() >= PAGE;
            for row in batch {
                let Some(cs) = contracts.size_by_venue.get(&row.symbol).copied() else {
                    continue;
                };
                if let Some(s) = row.to_status(cs)?
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
