//! [`BinanceVenue`]: the [`Venue`] for one Binance USDⓈ-M futures account, one-way mode.
//!
//! ## Account value
//!
//! `V = marginBalance` of the USDT asset in `GET /fapi/v3/account`, which Binance defines as
//! `walletBalance + unrealizedProfit` for that asset, in USDT — the same "equity" figure the
//! Bybit adapter and the paper venue use. The account-level `totalMarginBalance` is not used:
//! in multi-assets mode it is a USD sum over every collateral asset.
//!
//! ## Requests per call
//!
//! `account_value` one (weight 5); `positions` two at once (`/fapi/v3/positionRisk` has no
//! leverage or margin type since v3, so `/fapi/v1/symbolConfig` is read beside it, weight 5
//! each); `prices` one (`/fapi/v1/premiumIndex`, mark prices of every symbol); `instruments`
//! from a cache refreshed hourly (exchangeInfo, plus the leverage brackets with keys);
//! `place_order` one (`newOrderRespType=RESULT` returns the fill of a market order).
//!
//! Fees: REST order objects carry no commission. A finished order's fee is the sum of the
//! stream's `TRADE` commissions when they cover its filled quantity, else of its trades read by
//! REST (`venue/fees.rs`); an open order's fee so far is the stream's.

mod batch;
mod fees;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde_json::Value;
use tradeengine_model::{
    ClientOrderId, Instrument, MarginMode, OrderRequest, OrderStatus, Position, Price, Symbol,
};

use super::VENUE;
use super::codes;
use super::http::{Auth, BinanceHttp, has_code};
use super::models::{
    ACCOUNT, Account, EXCHANGE_INFO, ExchangeInfo, LEVERAGE_BRACKET, LeverageBrackets, MarkPrice,
    OPEN_ORDERS, ORDER, OrderObj, POSITION_RISK, PREMIUM_INDEX, PositionRisk, SYMBOL_CONFIG,
    SymbolConfig,
};
use super::stream::FeeBook;
use crate::http::{Method, Query};
use crate::instruments::InstrumentCache;
use crate::parse::{bad_reply, dec, format_dec, in_reply, price};
use crate::tracker::OrderTracker;
use crate::ws::StreamHandle;
use crate::{AccountBalance, Venue, VenueError, VenueErrorKind};

const INSTRUMENT_TTL: Duration = Duration::from_secs(3600);
/// Leverage assumed without keys (the brackets need a signature): low on purpose.
const UNKNOWN_MAX_LEVERAGE: i64 = 20;

#[derive(Debug)]
pub struct BinanceVenue {
    http: Arc<BinanceHttp>,
    tracker: Arc<OrderTracker>,
    fees: Arc<FeeBook>,
    stream: Option<StreamHandle>,
    instruments: InstrumentCache,
    fill_wait: Duration,
}

fn rejected(code: &str, message: String) -> VenueError {
    VenueError::new(VENUE, VenueErrorKind::Rejected, message).with_code(code)
}

pub(super) fn code_of(e: &VenueError) -> Option<i64> {
    (e.venue == VENUE)
        .then(|| e.code.as_deref().and_then(|c| c.parse().ok()))
        .flatten()
}

/// Reads a reply into its strict model; `endpoint` (`GET /fapi/...`) is named in errors.
fn parse<T: serde::de::DeserializeOwned>(v: Value, endpoint: &str) -> Result<T, VenueError> {
    crate::parse::reply(VENUE, endpoint, v)
}

impl BinanceVenue {
    pub(crate) fn new(
        http: Arc<BinanceHttp>,
        tracker: Arc<OrderTracker>,
        fees: Arc<FeeBook>,
        stream: Option<StreamHandle>,
        fill_wait: Duration,
    ) -> Self {
        Self {
            http,
            tracker,
            fees,
            stream,
            instruments: InstrumentCache::new(INSTRUMENT_TTL),
            fill_wait,
        }
    }

    pub fn tracker(&self) -> &OrderTracker {
        &self.tracker
    }

    /// How long a market order waits for its fill on the stream.
    pub(super) fn fill_wait(&self) -> Duration {
        self.fill_wait
    }

    pub fn http(&self) -> &BinanceHttp {
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

    /// Refuses hedge mode (`dualSidePosition`).
    pub(crate) async fn check_one_way(&self) -> Result<(), VenueError> {
        let v = self
            .http
            .request(
                Method::Get,
                "/fapi/v1/positionSide/dual",
                &Query::new(),
                Auth::Signed,
                30,
                false,
            )
            .await?;
        if v.get("dualSidePosition")
            .and_then(Value::as_bool)
            .unwrap_or(false)
        {
            return Err(rejected(
                "hedge_mode",
                "the account is in hedge mode (dualSidePosition = true); tradeengine needs one-way mode: POST /fapi/v1/positionSide/dual dualSidePosition=false with no open positions".into(),
            ));
        }
        Ok(())
    }

    pub async fn invalidate_instruments(&self) {
        self.instruments.invalidate().await;
    }

    /// Every trading USDT perpetual, with its leverage cap from the account's brackets when
    /// signed in (the cap is account-specific).
    async fn fetch_instruments(&self) -> Result<Vec<Instrument>, VenueError> {
        let none = Query::new();
        let info = self.http.request(
            Method::Get,
            "/fapi/v1/exchangeInfo",
            &none,
            Auth::Public,
            1,
            false,
        );
        let brackets = async {
            if self.http.credentials().is_some() {
                self.http
                    .request(
                        Method::Get,
                        "/fapi/v1/leverageBracket",
                        &none,
                        Auth::Signed,
                        1,
                        false,
                    )
                    .await
                    .map(Some)
            } else {
                Ok(None)
            }
        };
        let (info, brackets) = tokio::try_join!(info, brackets)?;
        let info: ExchangeInfo = parse(info, EXCHANGE_INFO)?;
        self.http.adopt_rate_limits(&info.rate_limits);
        let mut max_lev: HashMap<String, Decimal> = HashMap::new();
        let brackets: Vec<LeverageBrackets> = match brackets {
            Some(v) => parse(v, LEVERAGE_BRACKET)?,
            None => Vec::new(),
        };
        for b in &brackets {
            if let Some(l) = b.max_leverage() {
                max_lev.insert(b.symbol.clone(), l);
            }
        }
        let mut listed = Vec::new();
        for s in &info.symbols {
            let lev = max_lev
                .get(&s.symbol)
                .copied()
                .unwrap_or(Decimal::from(UNKNOWN_MAX_LEVERAGE));
            if let Some(i) = s.to_instrument(lev).map_err(in_reply(EXCHANGE_INFO))? {
                listed.push(i);
            }
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
                    format!("{symbol} is not a trading USDT perpetual on Binance"),
                )
            })
    }

    /// A REST order object as our status, with the stream's fee when it has one.
    pub(super) async fn status_of(&self, v: Value) -> Result<OrderStatus, VenueError> {
        let o: OrderObj = parse(v, ORDER)?;
        let mut s = o
            .to_status(self.fees.get(&o.client_order_id))
            .map_err(in_reply(ORDER))?
            .ok_or_else(|| bad_reply(VENUE, "clientOrderId", &o.client_order_id))?;
        if self.stream_ready() && s.fee.is_zero() && s.filled_qty > Decimal::ZERO {
            // The push with the commission is usually already here; wait briefly for it.
            let want = s.state;
            if let Some(p) = self
                .tracker
                .wait_for(
                    s.client_order_id.as_str(),
                    self.fill_wait.min(Duration::from_millis(200)),
                    |p| p.state == want,
                )
                .await
            {
                s.fee = p.fee;
            }
        }
        if s.state.is_terminal() && s.filled_qty > Decimal::ZERO {
            return self.with_fee(s).await;
        }
        Ok(s)
    }
}

#[async_trait]
impl Venue for BinanceVenue {
    fn health(&self) -> crate::VenueHealth {
        crate::VenueHealth::of(self.stream.as_ref(), &self.http.limits)
    }

    fn kind(&self) -> &'static str {
        VENUE
    }

    async fn account_value(&self) -> Result<Decimal, VenueError> {
        Ok(self.account_balance().await?.value)
    }

    /// Value: the USDT asset's `marginBalance`; free margin: its `availableBalance`.
    async fn account_balance(&self) -> Result<AccountBalance, VenueError> {
        let v = self
            .http
            .request(
                Method::Get,
                "/fapi/v3/account",
                &Query::new(),
                Auth::Signed,
                5,
                false,
            )
            .await?;
        let account: Account = parse(v, ACCOUNT)?;
        match account.assets.iter().find(|a| a.asset == "USDT") {
            Some(a) => Ok(AccountBalance {
                value: dec(VENUE, "assets.marginBalance", &a.margin_balance)
                    .map_err(in_reply(ACCOUNT))?,
                available_margin: Some(
                    dec(VENUE, "assets.availableBalance", &a.available_balance)
                        .map_err(in_reply(ACCOUNT))?,
                ),
            }),
            None => Ok(AccountBalance {
                value: Decimal::ZERO,
                available_margin: Some(Decimal::ZERO),
            }),
        }
    }

    async fn positions(&self) -> Result<Vec<Position>, VenueError> {
        let none = Query::new();
        let (risk, configs) = tokio::try_join!(
            self.http.request(
                Method::Get,
                "/fapi/v3/positionRisk",
                &none,
                Auth::Signed,
                5,
                false
            ),
            self.http.request(
                Method::Get,
                "/fapi/v1/symbolConfig",
                &none,
                Auth::Signed,
                5,
                false
            ),
        )?;
        let risk: Vec<PositionRisk> = parse(risk, POSITION_RISK)?;
        let configs: Vec<SymbolConfig> = parse(configs, SYMBOL_CONFIG)?;
        let by_symbol: HashMap<&str, &SymbolConfig> =
            configs.iter().map(|c| (c.symbol.as_str(), c)).collect();
        let mut out = Vec::new();
        for r in &risk {
            if !r.position_side.is_empty() && r.position_side != "BOTH" {
                return Err(rejected(
                    "hedge_mode",
                    format!(
                        "{}: hedge-mode position ({}); tradeengine needs one-way mode",
                        r.symbol, r.position_side
                    ),
                ));
            }
            let p = r
                .to_position(by_symbol.get(r.symbol.as_str()).copied())
                .map_err(in_reply(POSITION_RISK))?;
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
                        format!("{s} is not a trading USDT perpetual on Binance"),
                    )
                })
            })
            .collect()
    }

    async fn prices(&self, symbols: &[Symbol]) -> Result<BTreeMap<Symbol, Price>, VenueError> {
        let (q, weight) = match symbols {
            [only] => (Query::new().with("symbol", only.as_str()), 1),
            _ => (Query::new(), 10),
        };
        let v = self
            .http
            .request(
                Method::Get,
                "/fapi/v1/premiumIndex",
                &q,
                Auth::Public,
                weight,
                false,
            )
            .await?;
        let rows: Vec<MarkPrice> = match v {
            Value::Array(_) => parse(v, PREMIUM_INDEX)?,
            one => vec![parse(one, PREMIUM_INDEX)?],
        };
        let wanted: BTreeSet<&str> = symbols.iter().map(Symbol::as_str).collect();
        let mut out = BTreeMap::new();
        for r in rows {
            if wanted.contains(r.symbol.as_str()) {
                out.insert(
                    crate::parse::symbol(VENUE, &r.symbol)?,
                    price(VENUE, "markPrice", &r.mark_price).map_err(in_reply(PREMIUM_INDEX))?,
                );
            }
        }
        Ok(out)
    }

    /// Binance takes whole-number leverage only; a fraction is refused here rather than
    /// rounded, because rounding would change the exposure the engine computed.
    async fn set_leverage(&self, symbol: &Symbol, leverage: Decimal) -> Result<(), VenueError> {
        if leverage < Decimal::ONE || !leverage.fract().is_zero() {
            return Err(rejected(
                "bad_leverage",
                format!("{symbol}: Binance leverage must be a whole number ≥ 1, not {leverage}"),
            ));
        }
        let q = Query::new()
            .with("symbol", symbol.as_str())
            .with("leverage", format_dec(leverage));
        self.http
            .request(
                Method::Post,
                "/fapi/v1/leverage",
                &q,
                Auth::Signed,
                1,
                false,
            )
            .await
            .map(|_| ())
    }

    /// Binance's margin type is **per symbol**.
    async fn set_margin_mode(&self, symbol: &Symbol, mode: MarginMode) -> Result<(), VenueError> {
        let value = match mode {
            MarginMode::Cross => "CROSSED",
            MarginMode::Isolated => "ISOLATED",
        };
        let q = Query::new()
            .with("symbol", symbol.as_str())
            .with("marginType", value);
        match self
            .http
            .request(
                Method::Post,
                "/fapi/v1/marginType",
                &q,
                Auth::Signed,
                1,
                false,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if code_of(&e).is_some_and(codes::is_not_modified) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn place_order(&self, order: &OrderRequest) -> Result<OrderStatus, VenueError> {
        let instrument = self.instrument(&order.symbol).await?;
        crate::checks::check_order(VENUE, &instrument, order)?;
        let mut q = Query::new();
        for (k, v) in batch::order_fields(&instrument, order) {
            q.push(k, v);
        }
        match self
            .http
            .request(Method::Post, "/fapi/v1/order", &q, Auth::Signed, 0, true)
            .await
        {
            Ok(v) => self.accepted(order, v).await,
            Err(e) => self.refused(order, e).await,
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
        let q = Query::new()
            .with("symbol", symbol.as_str())
            .with("origClientOrderId", client_order_id.as_str());
        match self
            .http
            .request(Method::Delete, "/fapi/v1/order", &q, Auth::Signed, 1, false)
            .await
        {
            Ok(v) => self.status_of(v).await,
            Err(e)
                if has_code(&e, codes::UNKNOWN_ORDER_CANCEL)
                    || has_code(&e, codes::NO_SUCH_ORDER) =>
            {
                self.order_by_client_id(symbol, client_order_id)
                    .await?
                    .ok_or_else(|| {
                        rejected(
                            "-2011",
                            format!("order {client_order_id} does not exist on Binance"),
                        )
                    })
            }
            Err(e) => Err(e),
        }
    }

    async fn order_by_client_id(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<Option<OrderStatus>, VenueError> {
        let q = Query::new()
            .with("symbol", symbol.as_str())
            .with("origClientOrderId", client_order_id.as_str());
        match self
            .http
            .request(Method::Get, "/fapi/v1/order", &q, Auth::Signed, 1, false)
            .await
        {
            Ok(v) => self.status_of(v).await.map(Some),
            Err(e) if has_code(&e, codes::NO_SUCH_ORDER) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn open_orders(&self, symbol: Option<&Symbol>) -> Result<Vec<OrderStatus>, VenueError> {
        let (q, weight) = match symbol {
            Some(s) => (Query::new().with("symbol", s.as_str()), 1),
            None => (Query::new(), 40),
        };
        let v = self
            .http
            .request(
                Method::Get,
                "/fapi/v1/openOrders",
                &q,
                Auth::Signed,
                weight,
                false,
            )
            .await?;
        let rows: Vec<OrderObj> = parse(v, OPEN_ORDERS)?;
        let mut out = Vec::new();
        for o in rows {
            if let Some(s) = o.to_status(self.fees.get(&o.client_order_id))? {
                out.push(s);
            }
        }
        Ok(out)
    }
}
