//! The Hyperliquid perpetuals simulator: `POST /info` for reads and `POST /exchange` for signed
//! actions (<https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api>).
//!
//! The account is the master address in [`crate::SimOptions::api_key`]; the API wallet (agent)
//! approved for it is the address of the private key in [`crate::SimOptions::api_secret`]
//! (test keys only). `/exchange` recovers the signer of each action from its EIP-712 signature
//! ([`sig`]) and accepts only the approved agent, then checks the nonce as the exchange does
//! ([`nonces`]). The simulator acts as testnet: the phantom agent's source must be `"b"`.
//! Coins are the book's symbols without `USDT` (`BTCUSDT` is `BTC`); asset ids are the
//! instruments' positions in `meta.universe`; sizes have `szDecimals` = the decimals of the
//! instrument's quantity step. `GET /ws` serves the `orderUpdates` and `userFills`
//! subscriptions ([`ws`]), with the fills kept in [`fills`].

pub mod actions;
pub mod exchange;
pub mod fills;
pub mod info;
pub mod nonces;
pub mod sig;
pub mod ws;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

use crate::Shared;
use crate::instruments::SimInstrument;

/// What the Hyperliquid simulator keeps besides the shared book.
#[derive(Debug, Default)]
pub struct HlState {
    pub nonces: nonces::NonceBook,
    /// `scheduleCancel` time (ms) still to come.
    pub scheduled_cancel: Option<i64>,
    /// How many scheduled cancels have fired.
    pub scheduled_cancels_fired: u32,
    /// The account's executions, as `userFills` shows them (REST and stream).
    pub fills: fills::FillLog,
}

/// The Hyperliquid state of one simulator.
pub fn state(shared: &Shared) -> &Mutex<HlState> {
    &shared.hyperliquid
}

pub fn lock(state: &Mutex<HlState>) -> MutexGuard<'_, HlState> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/info", post(info::info))
        .route("/exchange", post(exchange::exchange))
        .route("/ws", axum::routing::get(ws::upgrade))
        .with_state(shared)
}

/// The coin of a book symbol (`BTCUSDT` → `BTC`).
pub fn coin_of(symbol: &str) -> &str {
    symbol.strip_suffix("USDT").unwrap_or(symbol)
}

/// `szDecimals` of an instrument: the decimals of its quantity step.
pub fn sz_decimals(i: &SimInstrument) -> u32 {
    i.qty_step.normalize().scale()
}

/// The instrument of asset id `asset` (its index in the universe).
pub fn instrument_of_asset(shared: &Shared, asset: u32) -> Option<SimInstrument> {
    shared
        .exchange()
        .instruments()
        .nth(usize::try_from(asset).ok()?)
        .cloned()
}

/// The instrument and asset id of a coin name.
pub fn asset_of_coin(shared: &Shared, coin: &str) -> Option<(u32, SimInstrument)> {
    let ex = shared.exchange();
    ex.instruments()
        .enumerate()
        .find(|(_, i)| coin_of(&i.symbol) == coin)
        .and_then(|(n, i)| Some((u32::try_from(n).ok()?, i.clone())))
}

/// The master address, lowercase.
pub fn master(shared: &Shared) -> String {
    shared.options.api_key.to_lowercase()
}

/// A body the exchange cannot read: HTTP 422 with its plain-text message.
pub fn unreadable() -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        "Failed to deserialize the JSON body into the target type",
    )
        .into_response()
}

/// A refused action: `{"status": "err", "response": message}` (HTTP 200).
pub fn refused(message: &str) -> Response {
    axum::Json(json!({"status": "err", "response": message})).into_response()
}

/// The rate-limit fault: HTTP 429 (the exchange answers a spent IP or address budget so).
pub fn rate_limited() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(json!({"status": "err", "response": "Too many requests"})),
    )
        .into_response()
}

/// Fires a scheduled cancel whose time has come: every open order is cancelled.
pub fn fire_scheduled_cancel(shared: &Shared, now_ms: i64) {
    let mut hl = lock(state(shared));
    if hl.scheduled_cancel.is_some_and(|t| t <= now_ms) {
        hl.scheduled_cancel = None;
        hl.scheduled_cancels_fired += 1;
        drop(hl);
        let mut ex = shared.exchange();
        for o in ex.open_orders(None) {
            let _ = ex.cancel(&o.symbol, None, Some(o.order_id), now_ms);
        }
    }
}
