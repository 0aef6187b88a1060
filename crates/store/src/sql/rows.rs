//! Row decoding, written once against [`ColReader`] so it does not depend on the backend.
//!
//! Each decoder reads columns in the order of the `*_columns!` list next to it; the SELECTs
//! splice in the same macro (with `concat!`), so the two cannot disagree.

macro_rules! order_columns {
    () => {
        "client_order_id, plan_id, leg, account, symbol, side, qty, kind, limit_price, \
         reduce_only, state, venue_order_id, filled_qty, avg_fill_price, fee, error, \
         created_at_ms, updated_at_ms"
    };
}

use tradeengine_model::{Fill, OrderKind, Position, Quantity, Signal, Sleeve, SleeveOrigin};

use crate::codec::{
    dec, from_json, from_name, id, leg, opt_dec, opt_id, opt_price, opt_time, price, time,
};
use crate::{EquitySnapshot, StoreError, StoredOrder, TargetRecord};

/// Reads the next column of a row, naming it in any error.
pub(crate) trait ColReader {
    fn text(&mut self, col: &'static str) -> Result<String, StoreError>;
    fn opt_text(&mut self, col: &'static str) -> Result<Option<String>, StoreError>;
    fn int(&mut self, col: &'static str) -> Result<i64, StoreError>;
    fn opt_int(&mut self, col: &'static str) -> Result<Option<i64>, StoreError>;
    fn boolean(&mut self, col: &'static str) -> Result<bool, StoreError>;
}

macro_rules! signal_columns {
    () => {
        "id, source, symbol, intent, emitted_at_ms, received_at_ms, idempotency_key, raw"
    };
}

pub(crate) fn signal(r: &mut impl ColReader) -> Result<Signal, StoreError> {
    Ok(Signal {
        id: id("signals.id", r.text("signals.id")?)?,
        source: id("signals.source", r.text("signals.source")?)?,
        symbol: id("signals.symbol", r.text("signals.symbol")?)?,
        intent: from_json("signals.intent", &r.text("signals.intent")?)?,
        emitted_at: opt_time("signals.emitted_at_ms", r.opt_int("signals.emitted_at_ms")?)?,
        received_at: time("signals.received_at_ms", r.int("signals.received_at_ms")?)?,
        idempotency_key: r.text("signals.idempotency_key")?,
        raw: from_json("signals.raw", &r.text("signals.raw")?)?,
    })
}

macro_rules! sleeve_columns {
    () => {
        "source, symbol, state, exposure_unit, exposure, leverage, \
     entry_price, stop_loss, take_profit, opened_at_ms, closed_at_ms, updated_at_ms, last_signal"
    };
}

pub(crate) fn sleeve(r: &mut impl ColReader) -> Result<Sleeve, StoreError> {
    let source = id("sleeves.source", r.text("sleeves.source")?)?;
    let symbol = id("sleeves.symbol", r.text("sleeves.symbol")?)?;
    let state = from_name("sleeves.state", &r.text("sleeves.state")?)?;
    let unit = r.text("sleeves.exposure_unit")?;
    let amount = dec("sleeves.exposure", &r.text("sleeves.exposure")?)?;
    let exposure = match unit.as_str() {
        "depth" => SleeveOrigin::Depth(amount),
        "base" => SleeveOrigin::Base(amount),
        other => {
            return Err(StoreError::corrupt(
                "sleeves.exposure_unit",
                format!("unknown unit {other:?}"),
            ));
        }
    };
    Ok(Sleeve {
        source,
        symbol,
        state,
        exposure,
        leverage: opt_dec(
            "sleeves.leverage",
            r.opt_text("sleeves.leverage")?.as_deref(),
        )?,
        entry_price: opt_price(
            "sleeves.entry_price",
            r.opt_text("sleeves.entry_price")?.as_deref(),
        )?,
        stop_loss: opt_price(
            "sleeves.stop_loss",
            r.opt_text("sleeves.stop_loss")?.as_deref(),
        )?,
        take_profit: opt_price(
            "sleeves.take_profit",
            r.opt_text("sleeves.take_profit")?.as_deref(),
        )?,
        opened_at: opt_time("sleeves.opened_at_ms", r.opt_int("sleeves.opened_at_ms")?)?,
        closed_at: opt_time("sleeves.closed_at_ms", r.opt_int("sleeves.closed_at_ms")?)?,
        updated_at: time("sleeves.updated_at_ms", r.int("sleeves.updated_at_ms")?)?,
        last_signal: opt_id("sleeves.last_signal", r.opt_text("sleeves.last_signal")?)?,
    })
}

/// The stored unit and amount of a sleeve's exposure.
pub(crate) fn exposure_columns(e: &SleeveOrigin) -> (&'static str, String) {
    match e {
        SleeveOrigin::Depth(d) => ("depth", d.to_string()),
        SleeveOrigin::Base(d) => ("base", d.to_string()),
    }
}

macro_rules! target_columns {
    () => {
        "account, symbol, depth, leverage, quantity, decided_at_ms"
    };
}

pub(crate) fn target(r: &mut impl ColReader) -> Result<TargetRecord, StoreError> {
    Ok(TargetRecord {
        account: id("targets.account", r.text("targets.account")?)?,
        symbol: id("targets.symbol", r.text("targets.symbol")?)?,
        depth: dec("targets.depth", &r.text("targets.depth")?)?,
        leverage: dec("targets.leverage", &r.text("targets.leverage")?)?,
        quantity: dec("targets.quantity", &r.text("targets.quantity")?)?,
        decided_at: time("targets.decided_at_ms", r.int("targets.decided_at_ms")?)?,
    })
}

pub(crate) fn order(r: &mut impl ColReader) -> Result<StoredOrder, StoreError> {
    let client_order_id = id("orders.client_order_id", r.text("orders.client_order_id")?)?;
    let plan_id = id("orders.plan_id", r.text("orders.plan_id")?)?;
    let leg = leg("orders.leg", r.int("orders.leg")?)?;
    let account = id("orders.account", r.text("orders.account")?)?;
    let symbol = id("orders.symbol", r.text("orders.symbol")?)?;
    let side = from_name("orders.side", &r.text("orders.side")?)?;
    let qty = dec("orders.qty", &r.text("orders.qty")?)?;
    let kind_name = r.text("orders.kind")?;
    let limit_price = r.opt_text("orders.limit_price")?;
    let kind = match (kind_name.as_str(), limit_price) {
        ("market", None) => OrderKind::Market,
        ("limit", Some(p)) => OrderKind::Limit {
            price: price("orders.limit_price", &p)?,
        },
        (k, p) => {
            return Err(StoreError::corrupt(
                "orders.kind",
                format!("kind {k:?} with limit price {p:?}"),
            ));
        }
    };
    let reduce_only = r.boolean("orders.reduce_only")?;
    let state_name = r.text("orders.state")?;
    let state = tradeengine_model::OrderState::parse(&state_name).ok_or_else(|| {
        StoreError::corrupt("orders.state", format!("unknown state {state_name:?}"))
    })?;
    Ok(StoredOrder {
        client_order_id,
        plan_id,
        leg,
        account,
        symbol,
        side,
        qty,
        kind,
        reduce_only,
        state,
        venue_order_id: r.opt_text("orders.venue_order_id")?,
        filled_qty: dec("orders.filled_qty", &r.text("orders.filled_qty")?)?,
        avg_fill_price: opt_dec(
            "orders.avg_fill_price",
            r.opt_text("orders.avg_fill_price")?.as_deref(),
        )?,
        fee: dec("orders.fee", &r.text("orders.fee")?)?,
        error: r.opt_text("orders.error")?,
        created_at: time("orders.created_at_ms", r.int("orders.created_at_ms")?)?,
        updated_at: time("orders.updated_at_ms", r.int("orders.updated_at_ms")?)?,
    })
}

/// The stored kind name and limit price of an order.
pub(crate) fn kind_columns(kind: &OrderKind) -> (&'static str, Option<String>) {
    match kind {
        OrderKind::Market => ("market", None),
        OrderKind::Limit { price } => ("limit", Some(price.get().to_string())),
    }
}

macro_rules! fill_columns {
    () => {
        "client_order_id, venue_order_id, symbol, side, qty, price, fee, filled_at_ms"
    };
}

pub(crate) fn fill(r: &mut impl ColReader) -> Result<Fill, StoreError> {
    Ok(Fill {
        client_order_id: id("fills.client_order_id", r.text("fills.client_order_id")?)?,
        venue_order_id: r.opt_text("fills.venue_order_id")?,
        symbol: id("fills.symbol", r.text("fills.symbol")?)?,
        side: from_name("fills.side", &r.text("fills.side")?)?,
        qty: dec("fills.qty", &r.text("fills.qty")?)?,
        price: price("fills.price", &r.text("fills.price")?)?,
        fee: dec("fills.fee", &r.text("fills.fee")?)?,
        filled_at: time("fills.filled_at_ms", r.int("fills.filled_at_ms")?)?,
    })
}

macro_rules! position_columns {
    () => {
        "account, symbol, size, entry_price, leverage, margin_mode"
    };
}

pub(crate) fn position(
    r: &mut impl ColReader,
) -> Result<(tradeengine_model::AccountName, Position), StoreError> {
    let account = id("positions.account", r.text("positions.account")?)?;
    Ok((
        account,
        Position {
            symbol: id("positions.symbol", r.text("positions.symbol")?)?,
            size: Quantity::new(dec("positions.size", &r.text("positions.size")?)?),
            entry_price: opt_price(
                "positions.entry_price",
                r.opt_text("positions.entry_price")?.as_deref(),
            )?,
            leverage: dec("positions.leverage", &r.text("positions.leverage")?)?,
            margin_mode: from_name("positions.margin_mode", &r.text("positions.margin_mode")?)?,
        },
    ))
}

macro_rules! equity_columns {
    () => {
        "account, value, unrealised_pnl, at_ms"
    };
}

pub(crate) fn equity(r: &mut impl ColReader) -> Result<EquitySnapshot, StoreError> {
    Ok(EquitySnapshot {
        account: id("equity.account", r.text("equity.account")?)?,
        value: dec("equity.value", &r.text("equity.value")?)?,
        unrealised_pnl: dec("equity.unrealised_pnl", &r.text("equity.unrealised_pnl")?)?,
        at: time("equity.at_ms", r.int("equity.at_ms")?)?,
    })
}

macro_rules! audit_columns {
    () => {
        "seq, at_ms, kind, account, symbol, payload, prev_hash, hash"
    };
}

pub(crate) fn chain_row(r: &mut impl ColReader) -> Result<crate::audit::ChainRow, StoreError> {
    Ok(crate::audit::ChainRow {
        seq: r.int("audit_events.seq")?,
        at_ms: r.int("audit_events.at_ms")?,
        kind: r.text("audit_events.kind")?,
        account: r.opt_text("audit_events.account")?,
        symbol: r.opt_text("audit_events.symbol")?,
        payload: r.text("audit_events.payload")?,
        prev_hash: r.text("audit_events.prev_hash")?,
        hash: r.text("audit_events.hash")?,
    })
}

pub(crate) fn audit_event(r: &mut impl ColReader) -> Result<crate::AuditEvent, StoreError> {
    let row = chain_row(r)?;
    let kind = crate::AuditKind::parse(&row.kind).ok_or_else(|| {
        StoreError::corrupt("audit_events.kind", format!("unknown kind {:?}", row.kind))
    })?;
    Ok(crate::AuditEvent {
        seq: row.seq,
        at: time("audit_events.at_ms", row.at_ms)?,
        kind,
        account: row.account,
        symbol: row.symbol,
        payload: from_json("audit_events.payload", &row.payload)?,
        hash: row.hash,
    })
}
