//! The runtime of tradeengine: configuration, signal intake, one task per account running
//! reconciliation cycles through the pure core, and the wiring between sources, store and venues.

pub mod audit_anchor;
pub mod audit_payload;
pub mod candles;
pub mod cluster;
pub mod config;
pub mod connector;
pub mod credentials;
pub mod display;
pub mod freshness;
pub mod intake;
pub mod kill_records;
pub mod killswitch;
pub mod live_feed;
pub mod notifications;
pub mod one_line;
pub mod ownership;
pub mod plan_ids;
pub mod pnl;
pub mod refusals;
pub mod release_hold;
pub mod reloader;
pub mod replay;
pub mod replay_sweep;
pub mod risk;
pub mod runtime;
pub mod sent_order;
pub mod sleeve_rules;
pub mod sleeve_sync;
pub mod sources;
pub mod start_checks;
pub mod start_options;
pub mod state;
pub mod stops;
pub mod store_health;
pub mod summary;
pub mod telemetry;
pub mod worker;

pub use intake::{IntakeError, IntakeOutcome, SignalIntake};
pub use runtime::{RunningEngine, StartError, StartOptions};
pub use state::SharedState;
