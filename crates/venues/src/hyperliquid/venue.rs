//! [`HyperliquidVenue`]: the [`Venue`] for one Hyperliquid perpetuals account.
//!
//! - Unified symbols are the coin and `USDT` (`BTCUSDT` is Hyperliquid's `BTC`): the engine's
//!   symbols are USDT-quoted, and Hyperliquid's perpetuals settle in USDC, which this adapter
//!   counts one for one.
//! - Reads name the **master** address (the account); actions are signed by the **API
//!   wallet** (agent) key ([`super::connect`]).
//! - Account value is `marginSummary.accountValue` of `clearinghouseState`; free margin is
//!   that less `totalMarginUsed`.
//! - Instruments come from `meta`: the asset id is the coin's index in `universe`, the size
//!   step is 10^−szDecimals, the price tick 10^−(6 − szDecimals) (prices are further held to
//!   5 significant figures when sent), the minimum order value $10.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde_json::json;
use tokio::time::Instant;
use tradeengine_model::{
    ClientOrderId, Instrument, MarginMode, OrderRequest, OrderStatus, Position, Price, Quantity,
    Symbol,
};

use super::VENUE;
use super::http::HyperliquidHttp;
use super::models::{AssetCtx, ClearinghouseState, Meta, UserRateLimit};
use super::signing::Address;
use super::wire;
use crate::parse::{dec, in_reply, price_opt, reply};
use crate::{AccountBalance, Venue, VenueError, VenueErrorKind};

/// Instrument rules change rarely; an hour bounds how long a change can go unseen.
pub use crate::adapters::HyperliquidOptions;

/// Orders per `order` action sent by [`Venue::place_orders`]: the documentation states no
/// largest batch; 50 keeps one action's IP weight at 2 (1 + ⌊n/40⌋) and its answer small.
pub(crate) const BATCH_MAX: usize = 50;

const META_TTL: Duration = Duration::from_secs(3600);
/// Hyperliquid's minimum order value, USDC
/// (<https://hyperliquid.gitbook.io/hyperliquid-docs/trading/contract-specifications>).
pub const MIN_ORDER_VALUE: Decimal = Decimal::from_parts(10, 0, 0, false, 0);
/// How often the address's action budget is re-read (one `userRateLimit`, weight 20).
const BUDGET_TTL: Duration = Duration::from_secs(300);
/// Default distance of a market order's IOC limit from the mark: the SDK's 5 %.
pub const DEFAULT_SLIPPAGE: Decimal = HyperliquidOptions::DEFAULT_SLIPPAGE;

pub(crate) const META: &str = "POST /info meta";
pub(crate) const STATE: &str = "POST /info clearinghouseState";
pub(crate) const CTXS: &str = "POST /info metaAndAssetCtxs";

/// One coin of the universe.
#[derive(Debug, Clone)]
pub struct Asset {
    pub id: u32,
    pub coin: String,
    pub sz_decimals: u32,
    pub instrument: Instrument,
}

/// One Hyperliquid account. Cheap to share as `Arc<dyn Venue>`.
#[derive(Debug)]
pub struct HyperliquidVenue {
    pub(crate) http: Arc<HyperliquidHttp>,
    /// The account read from (the master address); `None` for public data only.
    pub(crate) user: Option<Address>,
    pub(crate) options: HyperliquidOptions,
    /// The universe by unified symbol, and when it was read.
    meta: tokio::sync::Mutex<Option<(HashMap<Symbol, Asset>, Instant)>>,
    /// cloid → our client order id, for orders this process sent.
    pub(crate) cloids: Mutex<HashMap<String, ClientOrderId>>,
    /// Margin mode asked for per symbol (Hyperliquid sets it with the leverage).
    pub(crate) modes: Mutex<HashMap<Symbol, MarginMode>>,
    /// Leverage last set per symbol, sent again when only the margin mode changes.
    pub(crate) leverages: Mutex<HashMap<Symbol, Decimal>>,
    /// The address's action budget (used, cap) as last read, and when: shown in the
    /// rate-limit headroom metric as `address_budget`.
    budget: Mutex<Option<((u64, u64), Instant)>>,
    /// The dead-man switch's task, once armed ([`HyperliquidVenue::arm_dead_man`]).
    pub(crate) dead_man: Mutex<Option<tokio_util::sync::CancellationToken>>,
    /// The user streams and what they pushed ([`super::stream`]).
    pub(crate) live: super::stream::Live,
}

impl Drop for HyperliquidVenue {
    fn drop(&mut self) {
        if let Some(t) = self
            .dead_man
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            t.cancel();
        }
    }
}

pub(crate) fn rejected(code: &str, message: String) -> VenueError {
    VenueError::new(VENUE, VenueErrorKind::Rejected, message).with_code(code)
}

pub use super::wire::symbol_of_coin;

/// Our client order id for a cloid: the one we mapped it from, else (an order not placed by
/// this process) the cloid's 32 hex digits, which [`cloid_of`] maps back unchanged.
pub(crate) fn client_id_of(
    known: &HashMap<String, ClientOrderId>,
    cloid: &str,
) -> Option<ClientOrderId> {
    let cloid = cloid.to_ascii_lowercase();
    known
        .get(&cloid)
        .cloned()
        .or_else(|| ClientOrderId::new(cloid.strip_prefix("0x")?).ok())
}

/// The cloid of one of our client order ids ([`wire::cloid_for`]), or of a raw cloid shown by
/// [`client_id_of`].
pub fn cloid_of(id: &ClientOrderId) -> String {
    let text = id.as_str();
    let raw = format!("0x{text}");
    if wire::is_cloid(&raw) {
        raw.to_ascii_lowercase()
    } else {
        wire::cloid_for(text)
    }
}

impl HyperliquidVenue {
    pub(crate) fn new(
        http: Arc<HyperliquidHttp>,
        user: Option<Address>,
        options: HyperliquidOptions,
    ) -> Self {
        Self {
            http,
            user,
            options,
            meta: tokio::sync::Mutex::new(None),
            cloids: Mutex::new(HashMap::new()),
            modes: Mutex::new(HashMap::new()),
            leverages: Mutex::new(HashMap::new()),
            budget: Mutex::new(None),
            dead_man: Mutex::new(None),
            live: super::stream::Live::default(),
        }
    }

    pub fn http(&self) -> &HyperliquidHttp {
        &self.http
    }

    /// Starts the dead-man switch (`scheduleCancel` pushed forward while this venue lives),
    /// once, when configured. Called before the first order this process places, so an
    /// account that never places one (dry-run, a self-test that only reads) schedules nothing.
    pub(crate) fn arm_dead_man(&self) {
        let Some(every) = self.options.dead_man_every else {
            return;
        };
        let mut armed = self.dead_man.lock().unwrap_or_else(|p| p.into_inner());
        if armed.is_none() && self.http.signer().is_some() {
            let token = tokio_util::sync::CancellationToken::new();
            tokio::spawn(super::dead_man::keep_scheduled(
                self.http.clone(),
                every,
                self.options.dead_man_after,
                token.clone(),
            ));
            *armed = Some(token);
        }
    }

    /// The master address, for reads that need one.
    pub(crate) fn user(&self) -> Result<String, VenueError> {
        self.user.map(|a| a.to_string()).ok_or_else(|| {
            VenueError::new(
                VENUE,
                VenueErrorKind::Auth,
                "no account address configured: private reads need PREFIX_API_KEY (the master address)",
            )
        })
    }

    fn assets_of(meta: &Meta) -> Result<Vec<Asset>, VenueError> {
        let mut out = Vec::new();
        for (n, a) in meta.universe.iter().enumerate() {
            let id = u32::try_from(n).unwrap_or(u32::MAX);
            let max_decimals = wire::max_price_decimals(a.sz_decimals).map_err(|e| {
                VenueError::new(VENUE, VenueErrorKind::Internal, format!("{META}: {e}"))
            })?;
            if a.is_delisted {
                continue;
            }
            let step = Decimal::new(1, a.sz_decimals);
            let instrument = Instrument {
                symbol: symbol_of_coin(&a.name)?,
                venue_symbol: a.name.clone(),
                qty_step: step,
                min_qty: step,
                max_market_qty: None,
                tick_size: Decimal::new(1, max_decimals),
                min_notional: MIN_ORDER_VALUE,
                contract_size: Decimal::ONE,
                max_leverage: Decimal::from(a.max_leverage.max(1)),
            };
            out.push(Asset {
                id,
                coin: a.name.clone(),
                sz_decimals: a.sz_decimals,
                instrument,
            });
        }
        Ok(out)
    }

    /// The universe, from the cache or `meta`.
    pub(crate) async fn assets(&self) -> Result<HashMap<Symbol, Asset>, VenueError> {
        let mut cached = self.meta.lock().await;
        if let Some((map, at)) = cached.as_ref()
            && at.elapsed() < META_TTL
        {
            return Ok(map.clone());
        }
        let value = self.http.info(&json!({"type": "meta"})).await?;
        let meta: Meta = reply(VENUE, META, value)?;
        let list = Self::assets_of(&meta)?;
        let map: HashMap<Symbol, Asset> = list
            .iter()
            .map(|a| (a.instrument.symbol.clone(), a.clone()))
            .collect();
        *cached = Some((map.clone(), Instant::now()));
        Ok(map)
    }

    pub(crate) async fn asset(&self, symbol: &Symbol) -> Result<Asset, VenueError> {
        self.assets().await?.remove(symbol).ok_or_else(|| {
            rejected(
                "unknown_symbol",
                format!("{symbol} is not a trading perpetual on Hyperliquid"),
            )
        })
    }

    pub(crate) async fn state(&self) -> Result<ClearinghouseState, VenueError> {
        let user = self.user()?;
        let value = self
            .http
            .info(&json!({"type": "clearinghouseState", "user": user}))
            .await?;
        reply(VENUE, STATE, value)
    }

    /// The address's action budget: (used, cap). Past the cap the exchange allows one action
    /// per 10 s.
    pub async fn address_budget(&self) -> Result<(u64, u64), VenueError> {
        let user = self.user()?;
        let value = self
            .http
            .info(&json!({"type": "userRateLimit", "user": user}))
            .await?;
        let limit: UserRateLimit = reply(VENUE, "POST /info userRateLimit", value)?;
        Ok((limit.n_requests_used, limit.n_requests_cap))
    }

    /// Re-reads the address budget when the last reading is older than [`BUDGET_TTL`]; a
    /// failure only leaves the metric as it was.
    async fn refresh_budget(&self) {
        let stale = self
            .budget
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none_or(|(_, at)| at.elapsed() >= BUDGET_TTL);
        if !stale || self.http.signer().is_none() {
            return;
        }
        match self.address_budget().await {
            Ok((used, cap)) => {
                if used >= cap {
                    tracing::warn!(
                        venue = VENUE,
                        used,
                        cap,
                        "the address's action budget is spent: one action per 10 s until more volume is traded"
                    );
                }
                *self.budget.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(((used, cap), Instant::now()));
            }
            Err(e) => tracing::debug!(venue = VENUE, error = %e, "address budget not read"),
        }
    }

    /// Mark prices by coin, from `metaAndAssetCtxs` (its two lists share the universe's order).
    pub(crate) async fn marks(&self) -> Result<HashMap<String, Decimal>, VenueError> {
        let value = self.http.info(&json!({"type": "metaAndAssetCtxs"})).await?;
        let (meta, ctxs): (Meta, Vec<AssetCtx>) = reply(VENUE, CTXS, value)?;
        let mut out = HashMap::new();
        for (a, c) in meta.universe.iter().zip(ctxs) {
            let field = c.mark_px.or(c.mid_px).unwrap_or_default();
            if let Some(p) = price_opt(VENUE, "markPx", &field).map_err(in_reply(CTXS))? {
                out.insert(a.name.clone(), p.get());
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Venue for HyperliquidVenue {
    /// The IP weight's headroom, and the address's action budget left (`address_budget`).
    fn health(&self) -> crate::VenueHealth {
        let mut health = crate::VenueHealth::of(self.live.handle.as_ref(), &self.http.limits);
        let budget = *self.budget.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(((used, cap), _)) = budget
            && cap > 0
        {
            // A gauge, never on the order path.
            let left = 1.0 - (used.min(cap) as f64 / cap as f64);
            health.rate_limit_headroom.push(("address_budget", left));
        }
        health
    }

    fn kind(&self) -> &'static str {
        VENUE
    }

    async fn account_value(&self) -> Result<Decimal, VenueError> {
        Ok(self.account_balance().await?.value)
    }

    async fn account_balance(&self) -> Result<AccountBalance, VenueError> {
        self.refresh_budget().await;
        let s = self.state().await?;
        let value =
            dec(VENUE, "accountValue", &s.margin_summary.account_value).map_err(in_reply(STATE))?;
        let used = dec(
            VENUE,
            "totalMarginUsed",
            &s.margin_summary.total_margin_used,
        )
        .map_err(in_reply(STATE))?;
        Ok(AccountBalance {
            value,
            available_margin: Some((value - used).max(Decimal::ZERO)),
        })
    }

    async fn positions(&self) -> Result<Vec<Position>, VenueError> {
        let s = self.state().await?;
        let mut out = Vec::new();
        for row in s.asset_positions {
            let p = row.position;
            let size = dec(VENUE, "szi", &p.szi).map_err(in_reply(STATE))?;
            if size.is_zero() {
                continue;
            }
            let entry = match &p.entry_px {
                Some(e) => price_opt(VENUE, "entryPx", e).map_err(in_reply(STATE))?,
                None => None,
            };
            out.push(Position {
                symbol: symbol_of_coin(&p.coin)?,
                size: Quantity::new(size),
                entry_price: entry,
                leverage: Decimal::from(p.leverage.value.max(1)),
                margin_mode: if p.leverage.r#type == "isolated" {
                    MarginMode::Isolated
                } else {
                    MarginMode::Cross
                },
            });
        }
        Ok(out)
    }

    async fn instruments(&self, symbols: &[Symbol]) -> Result<Vec<Instrument>, VenueError> {
        let map = self.assets().await?;
        symbols
            .iter()
            .map(|s| {
                map.get(s).map(|a| a.instrument.clone()).ok_or_else(|| {
                    rejected(
                        "unknown_symbol",
                        format!("{s} is not a trading perpetual on Hyperliquid"),
                    )
                })
            })
            .collect()
    }

    async fn prices(&self, symbols: &[Symbol]) -> Result<BTreeMap<Symbol, Price>, VenueError> {
        // Coins keep their case on the exchange (`kPEPE`); unified symbols are upper case.
        let (marks, assets) = tokio::try_join!(self.marks(), self.assets())?;
        let mut out = BTreeMap::new();
        for s in symbols {
            let Some(asset) = assets.get(s) else { continue };
            if let Some(p) = marks.get(&asset.coin).and_then(|p| Price::new(*p).ok()) {
                out.insert(s.clone(), p);
            }
        }
        Ok(out)
    }

    /// `updateLeverage` with the margin mode last asked for (cross until told otherwise).
    /// Hyperliquid takes whole leverage only: a fraction is rounded down (at least 1).
    async fn set_leverage(&self, symbol: &Symbol, leverage: Decimal) -> Result<(), VenueError> {
        self.update_leverage(symbol, Some(leverage), None).await
    }

    /// Per symbol: sent as `updateLeverage` with the symbol's current leverage.
    async fn set_margin_mode(&self, symbol: &Symbol, mode: MarginMode) -> Result<(), VenueError> {
        self.update_leverage(symbol, None, Some(mode)).await
    }

    async fn place_order(&self, order: &OrderRequest) -> Result<OrderStatus, VenueError> {
        self.place(order).await
    }

    fn batch_limit(&self) -> usize {
        BATCH_MAX
    }

    async fn place_orders(&self, orders: &[OrderRequest]) -> crate::batch::Results {
        crate::batch::in_chunks(VENUE, orders, BATCH_MAX, |chunk| self.place_batch(chunk)).await
    }

    async fn cancel_order(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<OrderStatus, VenueError> {
        self.cancel(symbol, client_order_id).await
    }

    async fn order_by_client_id(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<Option<OrderStatus>, VenueError> {
        self.lookup(symbol, client_order_id).await
    }

    async fn open_orders(&self, symbol: Option<&Symbol>) -> Result<Vec<OrderStatus>, VenueError> {
        self.resting(symbol).await
    }
}

impl HyperliquidVenue {
    /// The user streams (see [`super::stream`]): streamed order statuses, keyed by cloid digits ([`tracker_key`]).
    pub fn tracker(&self) -> &crate::tracker::OrderTracker {
        &self.live.tracker
    }

    /// The user streams are connected and subscribed.
    pub fn stream_ready(&self) -> bool {
        self.live
            .handle
            .as_ref()
            .is_some_and(crate::ws::StreamHandle::is_ready)
    }

    /// Waits up to `timeout` for the user streams (tests, the self-test, startup).
    pub async fn wait_stream_ready(&self, timeout: Duration) -> bool {
        match &self.live.handle {
            Some(h) => h.wait_ready(timeout).await,
            None => false,
        }
    }

    /// Connections the stream has made (1 + reconnects); 0 without a stream.
    pub fn stream_connects(&self) -> u64 {
        self.live
            .handle
            .as_ref()
            .map_or(0, crate::ws::StreamHandle::connects)
    }

    /// The pushed status of order `id` once it satisfies `done`, within the fill wait; `None`
    /// when the stream is down or says nothing in time (the caller then asks REST).
    pub(crate) async fn pushed(
        &self,
        id: &ClientOrderId,
        done: impl Fn(&OrderStatus) -> bool,
    ) -> Option<OrderStatus> {
        if !self.stream_ready() {
            return None;
        }
        let key = super::stream_book::tracker_key(&cloid_of(id));
        let mut status = self
            .live
            .tracker
            .wait_for(&key, self.live.fill_wait, done)
            .await?;
        status.client_order_id = id.clone();
        Some(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_and_cloids_map_both_ways() {
        let ours =
            ClientOrderId::new("te3f9a0c1d2b4e5f60718293a4-0").unwrap_or_else(|e| panic!("{e}"));
        let cloid = cloid_of(&ours);
        assert_eq!(cloid, wire::cloid_for(ours.as_str()));
        let mut known = HashMap::new();
        assert_eq!(
            client_id_of(&known, &cloid).map(|c| c.as_str().to_string()),
            Some(cloid[2..].to_string()),
            "unknown cloids show as their hex"
        );
        known.insert(cloid.clone(), ours.clone());
        assert_eq!(
            client_id_of(&known, &cloid.to_uppercase().replace("0X", "0x")),
            Some(ours)
        );
        // A shown raw cloid maps back to itself.
        let raw = ClientOrderId::new("00000000000000000000000000000001")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cloid_of(&raw), "0x00000000000000000000000000000001");
        assert_eq!(MIN_ORDER_VALUE, Decimal::TEN);
        assert_eq!(DEFAULT_SLIPPAGE, Decimal::new(5, 2));
    }
}
