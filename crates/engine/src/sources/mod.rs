//! Signal sources. Those that run on their own schedule (pollers, broker consumers, strategies,
//! the demo) implement [`SignalSource`]; push-style sources such as webhooks are served by the
//! HTTP server, which calls [`crate::intake::SignalIntake::submit`] with what [`tradingview`]
//! parsed.

pub mod bus;
pub mod demo;
pub mod demo_trend;
pub mod events;
pub mod nats;
pub mod rabbitmq;
pub mod rest;
pub mod sn8;
pub mod strategy;
pub mod strategy_health;
pub mod tradingview;
mod tv_applied;

use async_trait::async_trait;

use crate::config::{Config, ConfigError, SourceKind};
use tokio_util::sync::CancellationToken;
use tradeengine_model::SourceId;

use crate::intake::SignalIntake;

/// A long-running producer of signals.
#[async_trait]
pub trait SignalSource: Send + Sync + std::fmt::Debug {
    fn id(&self) -> &SourceId;

    /// Runs until `shutdown` fires. Errors that a retry can cure are handled inside (with
    /// back-off); an `Err` return means the source cannot run with its configuration.
    async fn run(
        &self,
        intake: SignalIntake,
        shutdown: CancellationToken,
    ) -> Result<(), SourceError>;
}

/// A source that cannot run.
#[derive(Debug, thiserror::Error)]
#[error("source {source_id}: {reason}")]
pub struct SourceError {
    pub source_id: String,
    pub reason: String,
}

/// Checks every enabled source's own settings (the part of `[sources.<name>.settings]` the
/// top-level schema cannot know), so `config check` and the start refuse a typo there by key.
pub fn validate_settings(
    config: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    match settings_problems(config, env).into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Every enabled source whose settings would stop the start, each with its reason (a missing
/// variable, an unknown key): `config check` lists them all at once.
pub fn settings_problems(
    config: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<ConfigError> {
    let mut problems = Vec::new();
    for (name, s) in config.sources.iter().filter(|(_, s)| s.enabled) {
        let result = match s.kind {
            SourceKind::Demo => demo::DemoSettings::from_table(&s.settings).map(|_| ()),
            SourceKind::Tradingview => tradingview::endpoint(name, config, env).map(|_| ()),
            SourceKind::Sn8 => sn8::settings(name, config, env).map(|_| ()),
            SourceKind::Nats => nats::settings(name, config, env).map(|_| ()),
            SourceKind::Rabbitmq => rabbitmq::settings(name, config, env).map(|_| ()),
            SourceKind::Rest => rest::settings(name, config, env).map(|_| ()),
            SourceKind::Strategy => strategy::settings(name, config, env).map(|_| ()),
        };
        if let Err(reason) = result {
            problems.push(ConfigError {
                file: None,
                key: format!("sources.{name}.settings"),
                reason,
            });
        }
    }
    problems
}
