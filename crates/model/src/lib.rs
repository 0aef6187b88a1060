//! The vocabulary of tradeengine: plain, serialisable data with no behaviour beyond validation.
//!
//! Every other crate speaks in these types, so they stay free of I/O, clocks and async. Money is
//! always [`rust_decimal::Decimal`]; an `f64` never carries a price, a quantity or a balance.
//!
//! Units, everywhere in the engine:
//! - **base units**: quantities of the base asset (BTC in `BTCUSDT`), signed (+ long, − short);
//! - **venue units**: what an exchange counts in (contracts, lots); `base = venue × contract_size`;
//! - **quote units**: USDT, for prices, notionals and account value.

mod ascii;
pub mod clock;
pub mod error;
pub mod grid;
pub mod ids;
pub mod instrument;
pub mod money;
pub mod order;
pub mod plan;
pub mod position;
pub mod signal;
pub mod sleeve;
pub mod venue_id;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::ModelError;
pub use grid::GridViolation;
pub use ids::{AccountName, ClientOrderId, PlanId, SignalId, SourceId, Symbol};
pub use instrument::Instrument;
pub use money::{Price, Quantity};
pub use order::{Fill, OrderKind, OrderRequest, OrderState, OrderStatus, Side};
pub use plan::{OrderLeg, Plan, PlanSkip, PlanStep};
pub use position::{AccountSnapshot, MarginMode, Position};
pub use signal::{
    Intent, OrderAction, OrderIntent, OrderSize, ProtectiveLevel, Signal, TargetIntent,
};
pub use sleeve::{Sleeve, SleeveOrigin, SleeveState};
pub use venue_id::{UnknownVenue, VenueId};

/// Re-exported so callers name one `Decimal` type.
pub use rust_decimal::Decimal;
/// Timestamps are always UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
