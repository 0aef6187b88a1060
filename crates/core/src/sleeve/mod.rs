//! Sleeves: the virtual position one source holds in one symbol (ARCHITECTURE.md).
//!
//! A signal never becomes an order directly. It moves its source's sleeve; the blend then nets
//! every sleeve of a symbol into one target. This module holds the rules that decide how a signal
//! moves a sleeve, and [`sleeve_exits`], which says which sleeves hit their stop-loss or
//! take-profit.
//!
//! ## Units of a sleeve's exposure
//!
//! - `SleeveOrigin::Depth(d)`: a signed fraction of account value (dimensionless). Set by target
//!   intents and by order intents sized `AccountFraction`. On each account it becomes
//!   `V × w × d × L / P` base units at sizing time, so it follows the account's value.
//! - `SleeveOrigin::Base(q)`: signed base units (BTC). Set by order intents sized in base units,
//!   or in quote units converted once, when the sleeve opens, as `q = amount / price` with the
//!   signal's reference price (else the mark price the engine passes). It adds `w × q` base units
//!   on *every* account, whatever its value.
//!
//! A sleeve holds one unit at a time. An order intent in the other unit can open a sleeve from
//! flat or close it, but cannot add to or reduce it (refused with [`Refusal::UnitMismatch`]):
//! converting would need an account value, and sleeves are shared by all accounts.
//!
//! ## State machine
//!
//! ```text
//!                     open: Buy/Sell that passes the rules
//!      ┌──────────┐ ───────────────────────────────────► ┌──────────┐ ◄──┐ add: same side (allow_add)
//!      │   Flat   │                                     │   Open   │ ───┘ reduce: opposite side < size
//!      └──────────┘ ◄──────────┐                        └──────────┘
//!                              │ cooling over:                │ close: Close · opposite side ≥ size
//!                              │ now ≥ closed_at + cooling    │ or without size · SL/TP exit
//!                              │                              ▼
//!                        ┌────────────────────────────────────────────┐
//!                        │ Cooling (closed_at): opens are refused     │
//!                        └────────────────────────────────────────────┘
//!
//!   target intent, any state ──► Open (depth ≠ 0) or Flat (depth = 0)
//! ```
//!
//! Transitions by state:
//! - **Flat**: Buy or Sell opens on the order's side (a Sell only when `allow_short`); Close and
//!   Hold leave it flat.
//! - **Open**: a same-side order adds when `allow_add`, else is refused `AlreadyOpen`; an
//!   opposite-side order reduces, or closes when it is at least the sleeve's size, has no size,
//!   or `opposite_closes` is set; Close closes; a stop-loss/take-profit exit closes.
//! - **Cooling**: Buy and Sell are refused `Cooling { until }` until the period is over, then act
//!   as from Flat; Close and Hold leave it as it is.
//!
//! "Cooling over" needs no event: [`is_cooling`] compares `now` with `closed_at + cooling`, and a
//! cooled sleeve is treated as flat by the next open. A cooling period of zero closes straight to
//! `Flat`.
//!
//! - **Target intents** (TradingView `direction/size`, SN8 depth) bypass the order rules: they set
//!   the depth outright from any state, to `Open` (depth ≠ 0) or `Flat` (depth = 0), never to
//!   `Cooling`. They carry no stop-loss or take-profit.
//! - **Order intents** follow the per-source [`SleeveRules`]: minimum confidence (opens and adds
//!   only: a reduction or close is never refused for low confidence, because refusing it would
//!   keep risk on), one open sleeve per symbol and source (adding only when `allow_add`), a
//!   cooling period counted from the close, and default stop-loss / take-profit fractions when
//!   the signal has none.
//! - An order never flips a sleeve: an opposite order larger than the sleeve closes it and the
//!   excess is dropped (reported in [`SleeveChange::Closed`]). A new open must wait for cooling.
//! - `Hold` changes nothing but `updated_at`: the source is alive, so its sleeve is not stale.
//! - A refused signal leaves the sleeve exactly as it was.
//! - A sleeve that is not `Open` counts as flat in the blend whatever its stored exposure.

mod apply;
mod exits;
mod rules;

pub use apply::{SleeveChange, SleeveDecision, apply_signal, close_sleeve, is_cooling};
pub use exits::{ExitReason, SleeveExit, sleeve_exits};
pub use rules::{Refusal, SleeveRules};
