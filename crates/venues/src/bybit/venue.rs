//! [`BybitVenue`]: the [`Venue`] for one Bybit v5 unified account, USDT linear perpetuals,
//! one-way mode.
//!
//! ## Account value
//!
//! `V = equity` of the USDT coin in `GET /v5/account/wallet-balance?accountType=UNIFIED&coin=USDT`,
//! which Bybit defines as `walletBalance + unrealisedPnl` for that coin, in USDT. It is the
//! same figure the paper venue calls equity. The account-level `totalEquity` is not used: it is
//! in USD and counts every coin (with haircuts), while targets here are USDT positions.
//!
//! ## Requests per call
//!
//! `account_value`, `positions` and `prices` are one request each (positions add
//! `GET /v5/account/info` at most once a minute, for the account-wide margin mode); the engine
//! sends the three together. `instruments` is served from a cache refreshed hourly and whenever
//! Bybit answers with a code that says our rules may be stale. `place_order` is one request when
//! the private stream is up (the fill comes back on the stream), plus one status query when
//! it is not.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::time::Instant;
use tradeengine_model::{
    ClientOrderId, Instrument, MarginMode, OrderKind, OrderRequest, OrderState, OrderStatus,
    Position, Price, Symbol,
};

use super::VENUE;
use super::codes;
use super::http::{BybitHttp, has_code, scope};
use super::models::{
    ACCOUNT_INFO, AccountInfo, INSTRUMENTS, InstrumentRow, List, OPEN_ORDERS, ORDER_HISTORY,
    OrderRow, POSITIONS, Page, PositionRow, TICKERS, TickerRow, WALLET, WalletAccount,
};
use crate::http::Query;
use crate::instruments::InstrumentCache;
use crate::parse::{dec, dec_opt, format_dec, in_reply, price};
use crate::tracker::OrderTracker;
use crate::ws::StreamHandle;
use crate::{AccountBalance, Venue, VenueError, VenueErrorKind};

/// Instrument rules change rarely; an hour bounds how long a change can go unseen.
const INSTRUMENT_TTL: Duration = Duration::from_secs(3600);
/// The account-wide margin mode is re-read at most this often.
const ACCOUNT_TTL: Duration = Duration::from_secs(60);

/// One Bybit account. Cheap to share as `Arc<dyn Venue>`.
#[derive(Debug)]
pub struct BybitVenue {
    http: Arc<BybitHttp>,
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

impl BybitVenue {
    pub(crate) fn new(
        http: Arc<BybitHttp>,
        tracker: Arc<OrderTracker>,
        stream: Option<StreamHandle>,
        fill_wait: Duration,
    ) -> Self {
        Self {
            http,
            tracker,
            stream,
            instruments: InstrumentCache::new(INSTRUMENT_TTL),
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

    pub fn http(&self) -> &BybitHttp {
        &self.http
    }

    /// Refuses hedge mode: the engine thinks in one net position per symbol, and Bybit answers
    /// hedge-mode position rows with `positionIdx` 1 and 2.
    pub(crate) async fn check_one_way(&self) -> Result<(), VenueError> {
        let rows = self.position_rows().await?;
        if let Some(r) = rows.iter().find(|r| r.position_idx != 0) {
            return Err(VenueError::new(
                VENUE,
                VenueErrorKind::Rejected,
                format!(
                    "the account is in hedge mode ({} has positionIdx {}); tradeengine needs one-way mode: switch USDT perpetuals to one-way (POST /v5/position/switch-mode mode=0) with no open positions",
                    r.symbol, r.position_idx
                ),
            )
            .with_code("hedge_mode"));
        }
        Ok(())
    }

    /// Forgets the instrument cache; the next call refetches it.
    pub async fn invalidate_instruments(&self) {
        self.instruments.invalidate().await;
    }

    /// Every linear USDT contract Bybit lists.
    async fn fetch_instruments(&self) -> Result<Vec<Instrument>, VenueError> {
        let mut listed = Vec::new();
        let mut cursor = String::new();
        // Bybit lists >500 linear contracts; 1000 per page means one page today.
        for _ in 0..20 {
            let mut q = Query::new()
                .with("category", "linear")
                .with("limit", "1000");
            if !cursor.is_empty() {
                q.push("cursor", &cursor);
            }
            let result = self
                .http
                .public_get("/v5/market/instruments-info", &q)
                .await?;
            let page: Page<InstrumentRow> = from_result(result, INSTRUMENTS)?;
            for row in &page.list {
                if let Some(i) = row.to_instrument().map_err(in_reply(INSTRUMENTS))? {
                    listed.push(i);
                }
            }
            if page.next_page_cursor.is_empty() || page.list.is_empty() {
                break;
            }
            cursor = page.next_page_cursor;
        }
        Ok(listed)
    }

    pub(super) async fn instrument(&self, symbol: &Symbol) -> Result<Instrument, VenueError> {
        self.instruments
            .get(symbol, self.fetch_instruments())
            .await?
            .ok_or_else(|| {
                rejected(
                    "unknown_symbol",
                    format!("{symbol} is not a trading USDT perpetual on Bybit"),
                )
            })
    }

    async fn position_rows(&self) -> Result<Vec<PositionRow>, VenueError> {
        let mut rows = Vec::new();
        let mut cursor = String::new();
        for _ in 0..50 {
            let mut q = Query::new()
                .with("category", "linear")
                .with("settleCoin", "USDT")
                .with("limit", "200");
            if !cursor.is_empty() {
                q.push("cursor", &cursor);
            }
            let result = self
                .http
                .get("/v5/position/list", &q, scope::POSITION)
                .await?;
            let page: Page<PositionRow> = from_result(result, POSITIONS)?;
            let done = page.next_page_cursor.is_empty() || page.list.is_empty();
            rows.extend(page.list);
            if done {
                break;
            }
            cursor = page.next_page_cursor;
        }
        Ok(rows)
    }

    /// The account-wide margin mode last read or set, when under [`ACCOUNT_TTL`] old.
    fn fresh_margin_mode(&self) -> Option<MarginMode> {
        let cached = *self.account.lock().unwrap_or_else(|p| p.into_inner());
        cached.and_then(|(mode, at)| (at.elapsed() < ACCOUNT_TTL).then_some(mode))
    }

    /// Posts a setting; Bybit's "not modified" answer (the value is already set) is success.
    async fn post_setting(
        &self,
        path: &str,
        body: &serde_json::Value,
        scope: &'static str,
    ) -> Result<(), VenueError> {
        match self.http.post(path, body, scope).await {
            Ok(_) => Ok(()),
            Err(e)
                if e.code
                    .as_deref()
                    .and_then(|c| c.parse().ok())
                    .is_some_and(codes::is_not_modified) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// The account-wide margin mode, re-read when older than a minute.
    async fn margin_mode(&self) -> Result<MarginMode, VenueError> {
        if let Some(mode) = self.fresh_margin_mode() {
            return Ok(mode);
        }
        let result = self
            .http
            .get("/v5/account/info", &Query::new(), scope::WALLET)
            .await?;
        let info: AccountInfo = from_result(result, ACCOUNT_INFO)?;
        let mode = info.margin_mode();
        *self.account.lock().unwrap_or_else(|p| p.into_inner()) = Some((mode, Instant::now()));
        Ok(mode)
    }

    async fn query_orders(
        &self,
        path: &str,
        symbol: &Symbol,
        link_id: &ClientOrderId,
    ) -> Result<Option<OrderStatus>, VenueError> {
        let q = Query::new()
            .with("category", "linear")
            .with("symbol", symbol.as_str())
            .with("orderLinkId", link_id.as_str());
        let result = self.http.get(path, &q, scope::QUERY).await?;
        let endpoint = if path.ends_with("history") {
            ORDER_HISTORY
        } else {
            OPEN_ORDERS
        };
        let page: Page<OrderRow> = from_result(result, endpoint)?;
        for row in page.list {
            if row.order_link_id == link_id.as_str()
                && let Some(s) = row.to_status().map_err(in_reply(endpoint))?
            {
                return Ok(Some(s));
            }
        }
        Ok(None)
    }

    /// After Bybit acknowledged an order: its status from the stream if it comes in time, else
    /// from REST.
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

/// Reads a `result` into its strict model; `endpoint` (`GET /v5/...`) is named in errors.
pub(crate) fn from_result<T: serde::de::DeserializeOwned>(
    result: Value,
    endpoint: &str,
) -> Result<T, VenueError> {
    crate::parse::reply(VENUE, endpoint, result)
}

#[async_trait]
impl Venue for BybitVenue {
    fn health(&self) -> crate::VenueHealth {
        crate::VenueHealth::of(self.stream.as_ref(), &self.http.limits)
    }

    fn kind(&self) -> &'static str {
        VENUE
    }

    async fn account_value(&self) -> Result<Decimal, VenueError> {
        Ok(self.account_balance().await?.value)
    }

    /// Value: the USDT coin's `equity`; free margin: the unified account's
    /// `totalAvailableBalance` (USD, which the account's USDT collateral is valued in).
    async fn account_balance(&self) -> Result<AccountBalance, VenueError> {
        let q = Query::new()
            .with("accountType", "UNIFIED")
            .with("coin", "USDT");
        let result = self
            .http
            .get("/v5/account/wallet-balance", &q, scope::WALLET)
            .await?;
        let page: List<WalletAccount> = from_result(result, WALLET)?;
        let usdt = page
            .list
            .iter()
            .flat_map(|a| a.coin.iter())
            .find(|c| c.coin == "USDT");
        let value = match usdt {
            Some(c) => dec(VENUE, "coin.equity", &c.equity).map_err(in_reply(WALLET))?,
            None => Decimal::ZERO,
        };
        let available_margin = match page.list.first() {
            Some(a) => dec_opt(VENUE, "totalAvailableBalance", &a.total_available_balance)
                .map_err(in_reply(WALLET))?,
            None => None,
        };
        Ok(AccountBalance {
            value,
            available_margin,
        })
    }

    async fn positions(&self) -> Result<Vec<Position>, VenueError> {
        let (rows, mode) = tokio::try_join!(self.position_rows(), self.margin_mode())?;
        let mut out = Vec::new();
        for r in rows {
            if r.position_idx != 0 {
                return Err(VenueError::new(
                    VENUE,
                    VenueErrorKind::Rejected,
                    format!(
                        "{}: hedge-mode position (positionIdx {}); tradeengine needs one-way mode",
                        r.symbol, r.position_idx
                    ),
                )
                .with_code("hedge_mode"));
            }
            let p = r.to_position(mode).map_err(in_reply(POSITIONS))?;
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
            .map(|s| {
                map.get(s).cloned().ok_or_else(|| {
                    rejected(
                        "unknown_symbol",
                        format!("{s} is not a trading USDT perpetual on Bybit"),
                    )
                })
            })
            .collect()
    }

    async fn prices(&self, symbols: &[Symbol]) -> Result<BTreeMap<Symbol, Price>, VenueError> {
        let mut q = Query::new().with("category", "linear");
        if let [only] = symbols {
            q.push("symbol", only.as_str());
        }
        let result = self.http.public_get("/v5/market/tickers", &q).await?;
        let page: List<TickerRow> = from_result(result, TICKERS)?;
        let wanted: std::collections::BTreeSet<&str> = symbols.iter().map(Symbol::as_str).collect();
        let mut out = BTreeMap::new();
        for t in page
            .list
            .iter()
            .filter(|t| wanted.contains(t.symbol.as_str()))
        {
            let field = if t.mark_price.is_empty() {
                &t.last_price
            } else {
                &t.mark_price
            };
            let p = price(VENUE, "markPrice", field).map_err(in_reply(TICKERS))?;
            out.insert(crate::parse::symbol(VENUE, &t.symbol)?, p);
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
        let lev = format_dec(leverage);
        let body = json!({"category": "linear", "symbol": symbol.as_str(), "buyLeverage": lev, "sellLeverage": lev});
        self.post_setting("/v5/position/set-leverage", &body, scope::LEVERAGE)
            .await
    }

    /// Bybit UTA's margin mode is **account-wide**: setting it for one symbol sets it for all,
    /// so a cycle's plans for many symbols send it once. A mode set (or read) under a minute ago
    /// is not sent again: the other symbols' plans were made from the same read as the first's.
    async fn set_margin_mode(&self, _symbol: &Symbol, mode: MarginMode) -> Result<(), VenueError> {
        if self.fresh_margin_mode() == Some(mode) {
            return Ok(());
        }
        let value = match mode {
            MarginMode::Cross => "REGULAR_MARGIN",
            MarginMode::Isolated => "ISOLATED_MARGIN",
        };
        let body = json!({"setMarginMode": value});
        self.post_setting("/v5/account/set-margin-mode", &body, scope::MARGIN)
            .await?;
        *self.account.lock().unwrap_or_else(|p| p.into_inner()) = Some((mode, Instant::now()));
        Ok(())
    }

    async fn place_order(&self, order: &OrderRequest) -> Result<OrderStatus, VenueError> {
        let mut body = self.checked_order(order).await?;
        body["category"] = json!("linear");
        match self
            .http
            .post("/v5/order/create", &body, scope::ORDER)
            .await
        {
            Ok(_) => self.status_after_ack(order).await,
            Err(e) if has_code(&e, codes::DUPLICATE_LINK_ID) => {
                // An earlier attempt landed: answer with that order.
                match self
                    .order_by_client_id(&order.symbol, &order.client_order_id)
                    .await?
                {
                    Some(s) => Ok(s),
                    None => Err(VenueError::new(
                        VENUE,
                        VenueErrorKind::Ambiguous,
                        format!(
                            "order {} is a duplicate but cannot be found yet",
                            order.client_order_id
                        ),
                    )
                    .with_code("110072")),
                }
            }
            Err(e) => {
                if let Some(code) = e.code.as_deref().and_then(|c| c.parse::<i64>().ok())
                    && codes::suggests_stale_instrument(code)
                {
                    self.invalidate_instruments().await;
                }
                Err(e)
            }
        }
    }

    fn batch_limit(&self) -> usize {
        self.batch_size()
    }

    async fn place_orders(&self, orders: &[OrderRequest]) -> crate::batch::Results {
        self.place_many(orders).await
    }

    async fn cancel_order(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<OrderStatus, VenueError> {
        let body = json!({"category": "linear", "symbol": symbol.as_str(), "orderLinkId": client_order_id.as_str()});
        match self
            .http
            .post("/v5/order/cancel", &body, scope::ORDER)
            .await
        {
            Ok(_) => {}
            // Gone already (filled or cancelled): report what it became.
            Err(e) if has_code(&e, codes::ORDER_NOT_FOUND) => {}
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
                    "110001",
                    format!("order {client_order_id} does not exist on Bybit"),
                )
            })
    }

    async fn order_by_client_id(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<Option<OrderStatus>, VenueError> {
        // Open orders and finished ones live behind two endpoints; ask both at once.
        let (open, done) = tokio::try_join!(
            self.query_orders("/v5/order/realtime", symbol, client_order_id),
            self.query_orders("/v5/order/history", symbol, client_order_id),
        )?;
        Ok(match (open, done) {
            (Some(o), Some(d)) if d.state.is_terminal() && !o.state.is_terminal() => Some(d),
            (Some(o), _) => Some(o),
            (None, d) => d,
        })
    }

    async fn open_orders(&self, symbol: Option<&Symbol>) -> Result<Vec<OrderStatus>, VenueError> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        for _ in 0..50 {
            let mut q = Query::new().with("category", "linear");
            match symbol {
                Some(s) => q.push("symbol", s.as_str()),
                None => q.push("settleCoin", "USDT"),
            };
            q.push("limit", "50");
            if !cursor.is_empty() {
                q.push("cursor", &cursor);
            }
            let result = self
                .http
                .get("/v5/order/realtime", &q, scope::QUERY)
                .await?;
            let page: Page<OrderRow> = from_result(result, OPEN_ORDERS)?;
            let done = page.next_page_cursor.is_empty() || page.list.is_empty();
            for row in page.list {
                if let Some(s) = row.to_status().map_err(in_reply(OPEN_ORDERS))?
                    && !s.state.is_terminal()
                    && s.state != OrderState::Unknown
                {
                    out.push(s);
                }
            }
            if done {
                break;
            }
            cursor = page.next_page_cursor;
        }
        Ok(out)
    }
}
