//! The table of recorded replies: which conversion reads each file, what it must give, and
//! which fields the venue documents as always present (and the conversion reads).

mod binance;
mod blofin;
mod bybit;
mod kucoin;
mod mexc;

use serde_json::Value;
use tradeengine_model::{Instrument, OrderStatus, Position};
use tradeengine_venues::VenueError;

pub type Converted = Result<String, VenueError>;

pub struct Case {
    pub venue: &'static str,
    /// Under `crates/venues/testdata/<venue>/`.
    pub file: &'static str,
    /// As the errors name it (`GET /v5/market/instruments-info`).
    pub endpoint: &'static str,
    /// Reads the whole recorded reply the way the adapter does and summarises the result.
    pub convert: fn(&Value) -> Converted,
    pub expect: &'static str,
    /// Fields the venue documents as always present and the conversion reads: their JSON
    /// pointer in the file, and the name the error must carry when the field is dropped.
    pub required: &'static [(&'static str, &'static str)],
    /// Fields the conversion reads when present that the venue documents as optional: dropping
    /// one may change the result, but is no error.
    pub optional: &'static [&'static str],
}

pub fn cases() -> Vec<Case> {
    let mut all = bybit::cases();
    all.extend(binance::cases());
    all.extend(blofin::cases());
    all.extend(kucoin::cases());
    all.extend(mexc::cases());
    all
}

/// A recorded reply; MEXC's numbers are quoted first, as its adapter does.
pub fn load(venue: &str, file: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(venue)
        .join(file);
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let raw = if venue == "mexc" {
        tradeengine_venues::mexc::json::quote_numbers(&raw)
    } else {
        raw
    };
    serde_json::from_slice(&raw).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The part of a reply at `pointer` (`Null` when it is not there, as the envelopes hand it on).
pub fn at(v: &Value, pointer: &str) -> Value {
    v.pointer(pointer).cloned().unwrap_or(Value::Null)
}

pub fn instrument(i: &Instrument) -> String {
    format!(
        "{} ({}) step {} min {} max_mkt {:?} tick {} notional {} contract {} lev {}",
        i.symbol.as_str(),
        i.venue_symbol,
        i.qty_step,
        i.min_qty,
        i.max_market_qty.map(|d| d.to_string()),
        i.tick_size,
        i.min_notional,
        i.contract_size,
        i.max_leverage
    )
}

pub fn position(p: &Position) -> String {
    format!(
        "{} size {} entry {:?} lev {} {:?}",
        p.symbol.as_str(),
        p.size.get(),
        p.entry_price.map(|e| e.get().to_string()),
        p.leverage,
        p.margin_mode
    )
}

pub fn order(s: &OrderStatus) -> String {
    format!(
        "{} ({:?}) {} {:?} {:?} qty {} filled {} avg {:?} fee {} reduce {} at {}",
        s.client_order_id.as_str(),
        s.venue_order_id,
        s.symbol.as_str(),
        s.side,
        s.state,
        s.qty,
        s.filled_qty,
        s.avg_fill_price.map(|p| p.get().to_string()),
        s.fee,
        s.reduce_only,
        s.updated_at.timestamp_millis()
    )
}

/// Joins the summaries of a list of results, or gives its first error.
pub fn all<T>(
    items: impl IntoIterator<Item = Result<T, VenueError>>,
    show: impl Fn(T) -> String,
) -> Converted {
    let mut out = Vec::new();
    for item in items {
        out.push(show(item?));
    }
    Ok(out.join("; "))
}

/// `Some(x)` shown, `None` as "none".
pub fn opt<T>(v: Option<T>, show: impl Fn(T) -> String) -> String {
    v.map_or_else(|| "none".to_string(), show)
}

/// `fields` with `prefix` before each pointer (a list of rows shared by REST and stream).
pub fn under(
    prefix: &'static str,
    fields: &[(&'static str, &'static str)],
) -> &'static [(&'static str, &'static str)] {
    let v: Vec<(&'static str, &'static str)> = fields
        .iter()
        .map(|(p, n)| (&*Box::leak(format!("{prefix}{p}").into_boxed_str()), *n))
        .collect();
    Box::leak(v.into_boxed_slice())
}
