//! P&L by source: which signal earned what, inside one netted position.
//!
//! The engine nets every source's sleeve into one position per account and symbol, so no fill
//! belongs to a source by itself. Attribution keeps, beside the account's books, a virtual
//! position per source (its *sleeve* in money terms: its contribution to the blend,
//! `w × depth × V × L / P`, or its base units) and one **unattributed** bucket, and shares every
//! fill, fee, slippage and funding payment among them by rules that make
//!
//! ```text
//! Σ sources' P&L + unattributed P&L = the account's P&L from fills        (exactly)
//! ```
//!
//! hold at every moment and at any mark. See [`book`] for the rules, [`desired_positions`] for
//! the sleeve sizes, [`report`] for marking and roll-ups.
//!
//! Everything is a fold over [`Event`]s, with no clock and no I/O: the engine stores the events
//! as they happen, so the books survive a restart and can be recomputed from the stored trail,
//! and a replay builds the very same books from the same events.

pub mod book;
mod bucket;
mod desired;
pub mod report;
mod split;

pub use book::{Event, PENDING_ORDERS, SymbolBook};
pub use bucket::{Bucket, BucketBook};
pub use desired::desired_positions;
pub use report::{GroupBy, Ledger, PnlLine, SymbolPnl};
pub use split::DP;
