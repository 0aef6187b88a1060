//! Notifications a trader gets on the phone, and the Telegram commands that control the engine.
//!
//! The engine turns its audit trail and its sources' freshness into [`Event`]s; this crate
//! decides which channel says what ([`config`]: per-kind switches, per-channel rate limits and
//! refusal summaries, in [`policy`]), how it reads ([`format`]), how it gets there
//! ([`channel`]: a JSON webhook; [`telegram`]: the Bot API) and that it gets there at least
//! once ([`courier`]: from a durable outbox, in order, retried with back-off, resumed after a
//! restart). Commands from Telegram go through
//! the [`desk`] (allow-list, confirmation, audit) to the engine's [`desk::Control`].
//!
//! Depends on the model only (and the HTTP client): it cannot place an order or write the store
//! itself, only ask the engine through [`desk::Control`] and keep its place through the
//! engine's [`courier::Outbox`].

pub mod bot;
pub mod channel;
pub mod commands;
pub mod config;
pub mod courier;
pub mod desk;
pub mod event;
pub mod format;
pub mod limit;
pub mod policy;
pub mod telegram;

pub use config::NotificationsConfig;
pub use courier::{Courier, Outbox};
pub use desk::{CommandRecord, Control, ControlAction, ControlError, Desk, Outcome};
pub use event::{Event, NoticeKind};
