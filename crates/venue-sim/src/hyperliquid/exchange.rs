//! `POST /exchange`: signed actions
//! (<https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/exchange-endpoint>).
//! Each request is read, its signer recovered and checked against the approved agent, its
//! nonce checked, then the action is carried out and answered in the documented shape:
//! `{"status": "ok", "response": {"type": "order", "data": {"statuses": [...]}}}`, or
//! `{"status": "err", "response": "..."}` for a refused request.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};
use tradeengine_model::{MarginMode, Side};

use super::actions::{Action, Order};
use super::sig::{self, Signed, WireSignature};
use super::{
    fire_scheduled_cancel, instrument_of_asset, lock, refused, state, sz_decimals, unreadable,
};
use crate::Shared;
use crate::book::{NewOrder, OrderType, Reject, SimStatus};

/// The body of `POST /exchange`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    action: Action,
    nonce: u64,
    signature: WireSignature,
    #[serde(rename = "vaultAddress", default)]
    vault_address: Option<String>,
    #[serde(rename = "expiresAfter", default)]
    expires_after: Option<u64>,
}

fn ok(kind: &str, data: Option<Value>) -> Response {
    let response = match data {
        Some(d) => json!({"type": kind, "data": d}),
        None => json!({"type": kind}),
    };
    Json(json!({"status": "ok", "response": response})).into_response()
}

pub async fn exchange(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<Request>(&body) else {
        return unreadable();
    };
    let now = sh.now_ms();
    fire_scheduled_cancel(&sh, now);
    if let Err(r) = authorise(&sh, &req, now) {
        return r;
    }
    match req.action {
        Action::Order { orders, grouping } => {
            if grouping != "na" {
                return refused("The simulator takes grouping \"na\" only");
            }
            let statuses: Vec<Value> = orders.iter().map(|o| place(&sh, o, now)).collect();
            ok("order", Some(json!({"statuses": statuses})))
        }
        Action::Cancel { cancels } => {
            let statuses: Vec<Value> = cancels
                .iter()
                .map(|c| cancel(&sh, c.a, None, Some(c.o), now))
                .collect();
            ok("cancel", Some(json!({"statuses": statuses})))
        }
        Action::CancelByCloid { cancels } => {
            let statuses: Vec<Value> = cancels
                .iter()
                .map(|c| cancel(&sh, c.asset, Some(c.cloid.to_lowercase()), None, now))
                .collect();
            ok("cancel", Some(json!({"statuses": statuses})))
        }
        Action::ScheduleCancel { time } => schedule_cancel(&sh, time, now),
        Action::UpdateLeverage {
            asset,
            is_cross,
            leverage,
        } => update_leverage(&sh, asset, is_cross, leverage),
    }
}

/// Recovers the signer, checks it is the approved agent and spends the nonce.
fn authorise(sh: &Shared, req: &Request, now: i64) -> Result<(), Response> {
    let vault = match &req.vault_address {
        None => None,
        Some(v) => Some(sig::parse_address(&v.to_lowercase()).ok_or_else(unreadable)?),
    };
    if vault.is_some() {
        return Err(refused("Vault trading is not simulated"));
    }
    if let Some(expires) = req.expires_after
        && i64::try_from(expires).unwrap_or(i64::MAX) < now
    {
        return Err(refused(&format!("Action expired at {expires} (now {now})")));
    }
    let msgpack = req.action.msgpack().map_err(|_| unreadable())?;
    let signed = Signed {
        action_msgpack: &msgpack,
        nonce: req.nonce,
        vault,
        expires_after: req.expires_after,
        mainnet: false,
    };
    let signer = sig::recover(&signed, &req.signature).map_err(|_| unreadable())?;
    let agent = sig::address_of_private_key(&sh.options.api_secret);
    if agent != Some(signer) {
        // What the exchange answers when the recovered address is no account and no agent.
        return Err(refused(&format!(
            "User or API Wallet {} does not exist.",
            sig::address_text(&signer)
        )));
    }
    lock(state(sh))
        .nonces
        .use_nonce(signer, req.nonce, now)
        .map_err(|e| refused(&e))
}

/// Whether `price` is a valid perpetual price: an integer, or at most 5 significant figures
/// and `6 − szDecimals` decimals
/// (<https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/tick-and-lot-size>).
fn valid_price(price: Decimal, sz_decimals: u32) -> bool {
    let p = price.normalize();
    if p <= Decimal::ZERO {
        return false;
    }
    if p.scale() == 0 {
        return true;
    }
    let digits = p.mantissa().unsigned_abs().to_string().len();
    p.scale() <= 6u32.saturating_sub(sz_decimals) && digits <= 5
}

/// An order as the book takes it, checked by the exchange's rules for prices, sizes, time in
/// force and cloids; `Err` is the per-order error.
struct Checked {
    symbol: String,
    price: Decimal,
    size: Decimal,
    tif: String,
    cloid: String,
}

fn check(sh: &Shared, o: &Order) -> Result<Checked, String> {
    let inst = instrument_of_asset(sh, o.a).ok_or_else(|| format!("Invalid asset {}", o.a))?;
    let szd = sz_decimals(&inst);
    let (Ok(price), Ok(size)) = (o.p.parse::<Decimal>(), o.s.parse::<Decimal>()) else {
        return Err("Order has invalid price or size.".into());
    };
    // The wire form has no trailing zeros (the SDK's float_to_wire): the hash would differ.
    if price.normalize().to_string() != o.p || size.normalize().to_string() != o.s {
        return Err("Order has invalid price or size.".into());
    }
    if !valid_price(price, szd) {
        return Err("Order has invalid price.".into());
    }
    if size <= Decimal::ZERO || size.normalize().scale() > szd {
        return Err("Order has invalid size.".into());
    }
    let limit =
        o.t.limit
            .as_ref()
            .ok_or("Trigger orders are not simulated.")?;
    if !matches!(limit.tif.as_str(), "Gtc" | "Ioc" | "Alo") {
        return Err(format!("Invalid tif {}", limit.tif));
    }
    let cloid = match &o.c {
        None => String::new(),
        Some(c) if c.len() == 34 && c.starts_with("0x") => c.to_lowercase(),
        Some(_) => return Err("Invalid cloid.".into()),
    };
    Ok(Checked {
        symbol: inst.symbol,
        price,
        size,
        tif: limit.tif.clone(),
        cloid,
    })
}

fn place(sh: &Shared, o: &Order, now: i64) -> Value {
    let err = |m: String| json!({"error": m});
    let Checked {
        symbol,
        price,
        size,
        tif,
        cloid,
    } = match check(sh, o) {
        Ok(c) => c,
        Err(m) => return err(m),
    };
    let tif = tif.as_str();
    let side = if o.b { Side::Buy } else { Side::Sell };
    let mark = sh.exchange().price(&symbol).unwrap_or_default();
    let crosses = (o.b && price >= mark) || (!o.b && price <= mark);
    if tif == "Alo" && crosses {
        return err(format!(
            "Post only order would have immediately matched, bbo was {mark}@{mark}. asset={}",
            o.a
        ));
    }
    let req = NewOrder {
        symbol,
        side,
        order_type: OrderType::Limit,
        qty: size,
        price: Some(price),
        client_id: cloid.clone(),
        reduce_only: o.r,
    };
    let partial = sh.faults.take_partial();
    let mut ex = sh.exchange();
    ex.partial_next = partial;
    let placed = ex.place(req, now);
    ex.partial_next = None;
    let placed = match placed {
        Ok(p) => p,
        Err(r) => return err(reject_text(&r, o.a)),
    };
    let with_cloid = |mut v: Value| {
        if !cloid.is_empty() {
            v["cloid"] = json!(cloid);
        }
        v
    };
    match placed.status {
        SimStatus::Filled | SimStatus::PartiallyFilledCancelled | SimStatus::PartiallyFilled
            if !placed.filled.is_zero() =>
        {
            if tif == "Ioc" && placed.status.is_open() {
                let _ = ex.cancel(&placed.symbol, None, Some(placed.order_id), now);
            }
            json!({"filled": with_cloid(json!({
                "totalSz": placed.filled.normalize().to_string(),
                "avgPx": placed.avg_price.unwrap_or_default().normalize().to_string(),
                "oid": placed.order_id,
            }))})
        }
        _ if tif == "Ioc" => {
            let _ = ex.cancel(&placed.symbol, None, Some(placed.order_id), now);
            err(format!(
                "Order could not immediately match against any resting orders. asset={}",
                o.a
            ))
        }
        _ => json!({"resting": with_cloid(json!({"oid": placed.order_id}))}),
    }
}

/// The exchange's words for a refusal (per-order `error` strings).
fn reject_text(r: &Reject, asset: u32) -> String {
    match r {
        Reject::DuplicateClientId(_) => "Duplicate cloid.".into(),
        Reject::ReduceOnlyRefused(_) => {
            format!("Reduce only order would increase position. asset={asset}")
        }
        Reject::InsufficientMargin(_) => {
            format!("Insufficient margin to place order. asset={asset}")
        }
        Reject::NotionalBelowMin { .. } => {
            format!("Order must have minimum value of $10. asset={asset}")
        }
        Reject::BadQty(_) | Reject::QtyAboveMax(_) => "Order has invalid size.".into(),
        Reject::BadPrice(_) => "Order has invalid price.".into(),
        other => format!("{other:?}"),
    }
}

fn cancel(sh: &Shared, asset: u32, cloid: Option<String>, oid: Option<u64>, now: i64) -> Value {
    let missing = || json!({"error": format!("Order was never placed, already canceled, or filled. asset={asset}")});
    let Some(inst) = instrument_of_asset(sh, asset) else {
        return missing();
    };
    match sh
        .exchange()
        .cancel(&inst.symbol, cloid.as_deref(), oid, now)
    {
        Ok(_) => json!("success"),
        Err(_) => missing(),
    }
}

/// The dead-man switch: at `time` (at least 5 s ahead) every open order is cancelled; no time
/// removes it.
fn schedule_cancel(sh: &Shared, time: Option<u64>, now: i64) -> Response {
    let mut hl = lock(state(sh));
    match time {
        None => hl.scheduled_cancel = None,
        Some(t) => {
            let t = i64::try_from(t).unwrap_or(i64::MAX);
            if t < now + 5_000 {
                return refused(
                    "Scheduled cancel time too early, must be at least 5 seconds from now.",
                );
            }
            hl.scheduled_cancel = Some(t);
        }
    }
    ok("default", None)
}

fn update_leverage(sh: &Shared, asset: u32, is_cross: bool, leverage: u32) -> Response {
    let Some(inst) = instrument_of_asset(sh, asset) else {
        return refused(&format!("Invalid asset {asset}"));
    };
    let mut ex = sh.exchange();
    let mode = if is_cross {
        MarginMode::Cross
    } else {
        MarginMode::Isolated
    };
    match ex.set_symbol_margin(&inst.symbol, mode) {
        Ok(()) | Err(Reject::NotModified) => {}
        Err(_) => return refused("Cannot switch leverage type with open position."),
    }
    match ex.set_leverage(&inst.symbol, Decimal::from(leverage)) {
        Ok(()) | Err(Reject::NotModified) => ok("default", None),
        Err(_) => refused(&format!("Invalid leverage value {leverage}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_follow_the_tick_and_lot_rule() {
        let d = |s: &str| s.parse::<Decimal>().unwrap_or_default();
        assert!(valid_price(d("1234.5"), 4));
        assert!(!valid_price(d("1234.56"), 4), "6 figures");
        assert!(valid_price(d("123456"), 5), "integers always");
        assert!(!valid_price(d("0.0012345"), 2), "5 decimals > 6 - 2");
        assert!(valid_price(d("0.001234"), 0));
        assert!(!valid_price(d("0.001234"), 2), "6 decimals > 6 - 2");
        assert!(valid_price(d("0.0012"), 2));
        assert!(!valid_price(d("0"), 2));
    }
}
