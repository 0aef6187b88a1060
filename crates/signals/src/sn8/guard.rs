//! Population sanity guard: refuse a payload whose miner count looks wrong, without ever locking
//! ourselves out.
//!
//! A validator that restarts or half-loads can serve a payload with a fraction of the miners;
//! following it would flatten or skew every depth. Comparing the count with the last
//! *accepted* count, and never updating it on rejection, means one real jump of more than 10 (or a
//! network that shrank to 50 miners) locks the poller out forever; this guard cannot.
//!
//! Here a count `c` is **consistent** when `|c − median| ≤ max(abs_tolerance,
//! rel_tolerance × median)`, where `median` is the median of the last `history` accepted counts.
//! - The first payload is accepted if it has at least `min_miners` miners.
//! - A consistent count is accepted and joins the history, unless it is below `min_miners` while
//!   the median is not (a consistent count below the floor is only accepted once the floor was
//!   already crossed by confirmation).
//! - Anything else is rejected, but remembered: when `confirm_after` consecutive rejected counts
//!   are consistent with each other (each within tolerance of the previous one), the population
//!   really changed and the newest count is accepted; the history restarts from it. This holds
//!   below `min_miners` too, so a network that truly shrank is followed after a few fetches.
//! - An empty payload (0 miners) is never accepted: it carries nothing to follow.

use std::collections::VecDeque;

use super::config::GuardParams;

/// The guard's answer for one payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardVerdict {
    Accept,
    /// Accepted because the new count was confirmed by consecutive fetches.
    AcceptConfirmed {
        previous_median: usize,
    },
    Reject {
        count: usize,
        reason: String,
    },
}

impl GuardVerdict {
    pub fn accepted(&self) -> bool {
        !matches!(self, Self::Reject { .. })
    }
}

/// The guard's state.
#[derive(Debug, Clone)]
pub struct PopulationGuard {
    params: GuardParams,
    history: VecDeque<usize>,
    /// Last rejected count and how many consecutive consistent rejections led to it.
    pending: Option<(usize, usize)>,
}

impl PopulationGuard {
    pub fn new(params: GuardParams) -> Self {
        Self {
            params,
            history: VecDeque::new(),
            pending: None,
        }
    }

    fn median(&self) -> Option<usize> {
        if self.history.is_empty() {
            return None;
        }
        let mut v: Vec<usize> = self.history.iter().copied().collect();
        v.sort_unstable();
        Some(v[v.len() / 2])
    }

    fn tolerance(&self, around: usize) -> usize {
        let rel = (around as f64 * self.params.rel_tolerance.max(0.0)).round() as usize;
        self.params.abs_tolerance.max(rel)
    }

    fn consistent(&self, a: usize, b: usize) -> bool {
        a.abs_diff(b) <= self.tolerance(b)
    }

    fn accept(&mut self, count: usize) {
        self.history.push_back(count);
        while self.history.len() > self.params.history.max(1) {
            self.history.pop_front();
        }
        self.pending = None;
    }

    /// Judges a payload with `count` miners, updating the state.
    pub fn check(&mut self, count: usize) -> GuardVerdict {
        if count == 0 {
            self.pending = None;
            return GuardVerdict::Reject {
                count,
                reason: "the payload holds no miners".into(),
            };
        }
        let median = self.median();
        let reason = match median {
            Some(m) if !self.consistent(count, m) => Some(format!(
                "{count} miners differs from the recent median {m} by more than {}",
                self.tolerance(m)
            )),
            // Below the floor is only acceptable once confirmed (then the median is down there).
            None if count < self.params.min_miners => Some(format!(
                "{count} miners is below the minimum of {}",
                self.params.min_miners
            )),
            Some(m) if count < self.params.min_miners && m >= self.params.min_miners => {
                Some(format!(
                    "{count} miners is below the minimum of {}",
                    self.params.min_miners
                ))
            }
            _ => None,
        };
        let Some(reason) = reason else {
            self.accept(count);
            return GuardVerdict::Accept;
        };
        let streak = match self.pending {
            Some((prev, n)) if self.consistent(count, prev) => n + 1,
            _ => 1,
        };
        if streak >= self.params.confirm_after.max(1) {
            self.history.clear();
            self.accept(count);
            return GuardVerdict::AcceptConfirmed {
                previous_median: median.unwrap_or(0),
            };
        }
        self.pending = Some((count, streak));
        GuardVerdict::Reject { count, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> PopulationGuard {
        PopulationGuard::new(GuardParams::default())
    }

    #[test]
    fn accepts_a_steady_population() {
        let mut g = guard();
        for c in [200, 203, 198, 210, 205] {
            assert_eq!(g.check(c), GuardVerdict::Accept, "{c}");
        }
    }

    #[test]
    fn one_glitch_is_refused_and_forgotten() {
        let mut g = guard();
        g.check(200);
        assert!(!g.check(40).accepted());
        assert_eq!(g.check(201), GuardVerdict::Accept);
        assert!(!g.check(120).accepted());
        assert_eq!(g.check(199), GuardVerdict::Accept);
    }

    #[test]
    fn a_real_jump_is_followed_after_confirmation() {
        // sirouk/trade-engine locked itself out here forever.
        let mut g = guard();
        g.check(200);
        assert!(!g.check(260).accepted());
        assert!(!g.check(262).accepted());
        assert_eq!(
            g.check(261),
            GuardVerdict::AcceptConfirmed {
                previous_median: 200
            }
        );
        assert_eq!(g.check(263), GuardVerdict::Accept);
    }

    #[test]
    fn a_shrunken_network_is_followed_too_but_never_an_empty_one() {
        let mut g = guard();
        g.check(200);
        assert!(!g.check(45).accepted());
        assert!(!g.check(44).accepted());
        assert!(g.check(45).accepted());
        for _ in 0..10 {
            assert!(!g.check(0).accepted());
        }
        assert!(g.check(46).accepted());
    }

    #[test]
    fn inconsistent_rejections_do_not_confirm() {
        let mut g = guard();
        g.check(200);
        for c in [20, 300, 30, 400, 25] {
            assert!(!g.check(c).accepted(), "{c}");
        }
    }

    #[test]
    fn first_payload_must_meet_the_floor_or_be_confirmed() {
        let mut g = guard();
        assert!(!g.check(10).accepted());
        assert!(!g.check(10).accepted());
        assert!(g.check(10).accepted());
    }
}
