//! The sleeve rules a source's configuration asks for: read by the signal intake (every
//! signal) and by the default stops (`stops`), so it lives apart from both.

use chrono::TimeDelta;
use tradeengine_core::sleeve::SleeveRules;

use crate::config::SourceConfig;

/// The sleeve rules a source's configuration asks for.
pub fn rules_for(source: &SourceConfig) -> SleeveRules {
    let defaults = SleeveRules::default();
    SleeveRules {
        min_confidence: source.min_confidence.unwrap_or(defaults.min_confidence),
        allow_add: source.allow_add,
        cooling: source
            .cooling_minutes
            .map(|m| TimeDelta::minutes(i64::try_from(m).unwrap_or(i64::MAX / 60_000)))
            .unwrap_or(defaults.cooling),
        default_stop_loss: source.default_stop_loss,
        default_take_profit: source.default_take_profit,
        ..defaults
    }
}
