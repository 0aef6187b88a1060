//! A scenario, drawn entirely from its seed: two accounts (on random venues), the symbols they
//! trade, and a few rounds — each with new targets, price moves, faults on the first account's
//! simulator and maybe a crash of the whole engine — followed by one clean cycle.

use std::fmt::Write as _;
use std::time::Duration;

use rust_decimal::Decimal;
use tradeengine_venue_sim::VenueId;

use super::crash::CrashPoint;
use super::rng::Rng;

/// Per HTTP request, for both accounts' adapters. Short, so a timeout costs little; long
/// enough that a debug build on a loaded 2-core machine answers a clean request well within it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_millis(500);

pub const VENUES: [VenueId; 6] = [
    VenueId::Bybit,
    VenueId::Binance,
    VenueId::Blofin,
    VenueId::Kucoin,
    VenueId::Mexc,
    VenueId::Hyperliquid,
];
pub const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];

/// The kinds of misbehaviour the suite injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// Extra latency (below the timeout) on every path for a few requests.
    Latency,
    /// HTTP 500/502/503/504 without doing the request.
    ServerError,
    /// The venue's own 429 / rate-limit answer with its retry headers.
    RateLimit,
    /// The order is accepted, the answer comes after the client gave up.
    TimeoutAfterAccept,
    /// A read (positions) that does not answer within the timeout.
    ReadTimeout,
    /// The order is accepted, then the connection closes without an answer.
    DropAfterAccept,
    /// The connection closes before the request is done.
    DropBeforeAccept,
    /// The next market order fills only part of its quantity.
    PartialFill,
    /// The venue refuses orders by its own rules.
    Reject,
    /// The private streams are closed.
    StreamDrop,
    /// The venue's clock is off by seconds.
    ClockSkew,
    /// The order is accepted (and fills), then the answer is HTTP 500/502/503/504.
    StatusAfterAccept,
    /// Account a's store calls fail with `database is locked` for a stretch, then recover.
    StoreLocked,
    /// Account a's store writes fail with `database or disk is full` for a stretch.
    StoreDiskFull,
    /// Account a's store writes fail with `attempt to write a readonly database` for a stretch.
    StoreReadOnly,
}

pub const FAULT_KINDS: [FaultKind; 15] = [
    FaultKind::Latency,
    FaultKind::ServerError,
    FaultKind::RateLimit,
    FaultKind::TimeoutAfterAccept,
    FaultKind::ReadTimeout,
    FaultKind::DropAfterAccept,
    FaultKind::DropBeforeAccept,
    FaultKind::PartialFill,
    FaultKind::Reject,
    FaultKind::StreamDrop,
    FaultKind::ClockSkew,
    FaultKind::StatusAfterAccept,
    FaultKind::StoreLocked,
    FaultKind::StoreDiskFull,
    FaultKind::StoreReadOnly,
];

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Latency => "latency",
            Self::ServerError => "5xx",
            Self::RateLimit => "429 / rate limit",
            Self::TimeoutAfterAccept => "timeout after accept",
            Self::ReadTimeout => "read timeout",
            Self::DropAfterAccept => "dropped connection after accept",
            Self::DropBeforeAccept => "dropped connection before accept",
            Self::PartialFill => "partial fill",
            Self::Reject => "reject",
            Self::StreamDrop => "dropped private stream",
            Self::ClockSkew => "clock skew",
            Self::StatusAfterAccept => "5xx after accept",
            Self::StoreLocked => "store: database is locked",
            Self::StoreDiskFull => "store: disk full",
            Self::StoreReadOnly => "store: read-only",
        }
    }

    /// The store failure this kind injects, if it is one.
    pub fn store_failure(self) -> Option<super::storefault::StoreFailure> {
        use super::storefault::StoreFailure;
        match self {
            Self::StoreLocked => Some(StoreFailure::Locked),
            Self::StoreDiskFull => Some(StoreFailure::DiskFull),
            Self::StoreReadOnly => Some(StoreFailure::ReadOnly),
            _ => None,
        }
    }
}

/// Which requests a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    Order,
    Positions,
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSpec {
    pub kind: FaultKind,
    pub path: Path,
    /// How many matching requests it hits.
    pub times: u32,
    /// Milliseconds (latency, retry-after, skew), HTTP status, or percent filled. For store
    /// faults `times` is the number of store calls refused and `param` how many calls the
    /// failure lets through first.
    pub param: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Round {
    /// New depth per symbol index (a signal each), applied before the cycle.
    pub depths: Vec<(usize, Decimal)>,
    /// Price multipliers per symbol index, on both simulators.
    pub price_moves: Vec<(usize, Decimal)>,
    pub faults: Vec<FaultSpec>,
    pub crash: Option<CrashPoint>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    pub seed: u64,
    /// The account that gets the faults.
    pub venue_a: VenueId,
    /// The account that gets none: it must not notice the other's trouble.
    pub venue_b: VenueId,
    pub symbols: Vec<&'static str>,
    pub leverage: Vec<u32>,
    /// `max_concurrent_requests` of both accounts (1: symbols one after the other).
    pub concurrency: u32,
    /// Base latency of the first account's simulator, every request.
    pub latency_ms: u64,
    pub initial: Vec<Decimal>,
    pub rounds: Vec<Round>,
}

/// A depth in −0.30…0.30 (a flat one now and then).
fn depth(rng: &mut Rng) -> Decimal {
    if rng.chance(15) {
        Decimal::ZERO
    } else {
        Decimal::new(rng.range(0, 60) as i64 - 30, 2)
    }
}

fn fault(rng: &mut Rng, kind: FaultKind) -> FaultSpec {
    let timeout = REQUEST_TIMEOUT.as_millis() as i64;
    let (path, times, param) = match kind {
        FaultKind::Latency => (Path::Any, rng.range(2, 10), rng.range(5, 60) as i64),
        FaultKind::ServerError => (
            if rng.chance(70) {
                Path::Order
            } else {
                Path::Any
            },
            rng.range(1, 3),
            rng.pick(&[500, 502, 503, 504]),
        ),
        FaultKind::RateLimit => (
            if rng.chance(70) {
                Path::Order
            } else {
                Path::Any
            },
            rng.range(1, 2),
            rng.range(20, 150) as i64,
        ),
        FaultKind::TimeoutAfterAccept => (Path::Order, 1, timeout + 150),
        FaultKind::ReadTimeout => (Path::Positions, 1, timeout + 100),
        FaultKind::DropAfterAccept => (Path::Order, rng.range(1, 2), 0),
        FaultKind::DropBeforeAccept => (
            if rng.chance(70) {
                Path::Order
            } else {
                Path::Any
            },
            rng.range(1, 2),
            0,
        ),
        FaultKind::PartialFill => (Path::Order, 1, rng.range(10, 90) as i64),
        FaultKind::Reject => (Path::Order, rng.range(1, 2), 0),
        FaultKind::StreamDrop => (Path::Any, 1, 0),
        FaultKind::ClockSkew => (
            Path::Any,
            1,
            (rng.range(1_000, 20_000) as i64) * if rng.chance(50) { 1 } else { -1 },
        ),
        // Up to three in a row: with three attempts per order, every attempt may be answered
        // 5xx after the venue acted.
        FaultKind::StatusAfterAccept => (
            if rng.chance(85) {
                Path::Order
            } else {
                Path::Any
            },
            rng.range(1, 3),
            rng.pick(&[500, 502, 503, 504]),
        ),
        // A short stretch (one transaction) up to most of a cycle's store calls, starting at
        // the cycle's first call or later in it (after the venue acted, say).
        FaultKind::StoreLocked | FaultKind::StoreDiskFull | FaultKind::StoreReadOnly => (
            Path::Any,
            rng.range(1, 12),
            if rng.chance(70) {
                rng.range(1, 30) as i64
            } else {
                0
            },
        ),
    };
    FaultSpec {
        kind,
        path,
        times: times as u32,
        param,
    }
}

impl Scenario {
    pub fn generate(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let venue_a = rng.pick(&VENUES);
        let venue_b = rng.pick(&VENUES);
        let n = rng.range(1, 2) as usize;
        let first = rng.range(0, 2) as usize;
        let symbols: Vec<&'static str> = (0..n).map(|i| SYMBOLS[(first + i) % 3]).collect();
        let leverage = symbols.iter().map(|_| rng.range(1, 3) as u32).collect();
        let concurrency = if rng.chance(50) { 1 } else { 4 };
        let latency_ms = if rng.chance(30) { rng.range(1, 10) } else { 0 };
        let initial = symbols.iter().map(|_| depth(&mut rng)).collect();
        let rounds = (0..rng.range(1, 3))
            .map(|_| {
                let mut depths = Vec::new();
                let mut price_moves = Vec::new();
                for i in 0..symbols.len() {
                    if rng.chance(60) {
                        depths.push((i, depth(&mut rng)));
                    }
                    if rng.chance(30) {
                        price_moves.push((i, Decimal::new(rng.range(95, 105) as i64, 2)));
                    }
                }
                let faults = (0..rng.range(1, 3))
                    .map(|_| {
                        let kind = rng.pick(&FAULT_KINDS);
                        fault(&mut rng, kind)
                    })
                    .collect();
                let crash = rng.chance(30).then(|| CrashPoint {
                    at: rng.range(1, 40),
                    after: rng.chance(50),
                    only: None,
                });
                Round {
                    depths,
                    price_moves,
                    faults,
                    crash,
                }
            })
            .collect();
        Self {
            seed,
            venue_a,
            venue_b,
            symbols,
            leverage,
            concurrency,
            latency_ms,
            initial,
            rounds,
        }
    }

    /// One paragraph a person can read next to a failure.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "account a on {} (faulted, latency {} ms), account b on {} (clean); symbols {:?} at leverage {:?}, concurrency {}; initial depths {:?}",
            self.venue_a.as_str(),
            self.latency_ms,
            self.venue_b.as_str(),
            self.symbols,
            self.leverage,
            self.concurrency,
            self.initial
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>(),
        );
        for (i, r) in self.rounds.iter().enumerate() {
            let _ = write!(s, "\n  round {}: depths {:?}", i + 1, r.depths);
            if !r.price_moves.is_empty() {
                let _ = write!(s, ", prices ×{:?}", r.price_moves);
            }
            for f in &r.faults {
                let _ = write!(
                    s,
                    ", {} on {:?} ×{} ({})",
                    f.kind.name(),
                    f.path,
                    f.times,
                    f.param
                );
            }
            if let Some(c) = r.crash {
                let _ = write!(
                    s,
                    ", kill -9 at call {} ({} it)",
                    c.at,
                    if c.after { "after" } else { "before" }
                );
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_always_makes_the_same_scenario() {
        for seed in [1, 2, 999, u64::MAX] {
            assert_eq!(Scenario::generate(seed), Scenario::generate(seed));
        }
        assert_ne!(Scenario::generate(1), Scenario::generate(2));
    }
}
