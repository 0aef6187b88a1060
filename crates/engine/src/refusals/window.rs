//! One WARN line per source and reason per minute, with the count.
//!
//! A refusal storm (a misconfigured alert firing every second, an attacker guessing secrets)
//! must not flood the log, yet an operator must see that refusals happen and how many. The first
//! refusal of a (source, reason) is logged at once; the ones after it within the minute are
//! counted, and the next refusal after the minute logs that count and starts a new window.
//! Time is passed in (the engine's clock), so this is deterministic under test.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::TimeDelta;
use tradeengine_model::Timestamp;

/// The window each (source, reason) logs at most once in.
pub const LOG_WINDOW: TimeDelta = TimeDelta::minutes(1);

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Timestamp,
    /// Refusals since the last line (the one logged not included).
    unlogged: u64,
}

/// The windows by (source, reason). Bounded by the reasons (a fixed set) times the sources
/// (configured names, plus `webhook` for unknown paths).
#[derive(Debug, Default)]
pub struct LogWindows {
    windows: Mutex<HashMap<(String, String), Window>>,
}

impl LogWindows {
    /// Counts one refusal; `Some(n)` when a line is due now, `n` being the refusals it reports
    /// (this one and those counted silently since the last line).
    pub fn note(&self, source: &str, reason: &str, now: Timestamp) -> Option<u64> {
        let Ok(mut windows) = self.windows.lock() else {
            return Some(1); // poisoned: log every refusal rather than none
        };
        let key = (source.to_string(), reason.to_string());
        match windows.get_mut(&key) {
            Some(w) if now - w.started < LOG_WINDOW => {
                w.unlogged += 1;
                None
            }
            Some(w) => {
                let n = w.unlogged + 1;
                *w = Window {
                    started: now,
                    unlogged: 0,
                };
                Some(n)
            }
            None => {
                windows.insert(
                    key,
                    Window {
                        started: now,
                        unlogged: 0,
                    },
                );
                Some(1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap_or_default()
    }

    #[test]
    fn one_line_per_source_and_reason_per_minute_with_the_count() {
        let w = LogWindows::default();
        assert_eq!(w.note("tv", "auth", at(0)), Some(1));
        assert_eq!(w.note("tv", "auth", at(1)), None);
        assert_eq!(w.note("tv", "auth", at(59)), None);
        // Another reason or source has its own window.
        assert_eq!(w.note("tv", "malformed", at(2)), Some(1));
        assert_eq!(w.note("rest", "auth", at(2)), Some(1));
        // After the minute: this one and the two counted silently.
        assert_eq!(w.note("tv", "auth", at(60)), Some(3));
        assert_eq!(w.note("tv", "auth", at(61)), None);
        assert_eq!(w.note("tv", "auth", at(200)), Some(2));
    }
}
