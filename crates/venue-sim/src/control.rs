//! What a test controls and observes: scripted faults, clock skew, and request counters.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use rust_decimal::Decimal;
use tokio::sync::watch;

/// One misbehaviour, applied to requests whose path matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this HTTP status (a 5xx) without doing anything.
    Status(u16),
    /// The venue's own rate-limit answer, without doing anything: Binance HTTP 429 with
    /// `Retry-After` and `X-MBX-USED-WEIGHT-1M`; Bybit `retCode` 10006 with
    /// `X-Bapi-Limit-Status: 0` and `X-Bapi-Limit-Reset-Timestamp`.
    RateLimit { retry_after: Duration },
    /// Do the request (the order is accepted), then answer only after `hold` — longer than the
    /// client waits, so the client sees a timeout after the venue acted.
    TimeoutAfterAccept { hold: Duration },
    /// Do the request, then close the connection without answering.
    DropAfterAccept,
    /// Do the request (the order is accepted, and filled if it is a market order), then answer
    /// with this HTTP status (a 5xx) instead of the venue's reply: the client sees a server
    /// error although the venue acted, the case a careless caller books as a rejection.
    StatusAfterAccept(u16),
    /// Close the connection without doing the request.
    DropBeforeAccept,
    /// Wait this long before handling the request (on top of the simulator's latency).
    Delay(Duration),
    /// Refuse the order this request places by the venue's own rules (insufficient margin),
    /// answered with that venue's error code: a real rejection, not a transport failure.
    /// Meant for order-entry paths; on other paths it has no effect.
    Reject,
    /// Answer HTTP 200 with this body as JSON, without doing the request: a malformed or
    /// unexpected reply, scripted (e.g. a kline row whose high is below its low).
    Body(String),
}

#[derive(Debug, Clone)]
struct Rule {
    path: String,
    remaining: u32,
    fault: Fault,
}

/// Faults on demand. Each injected fault hits the next `times` requests whose path equals
/// `path` (`"*"` matches every path; `"POST /fapi/v1/order"` matches that method only, for a
/// venue whose order entry and order look-up share a path), then expires. A fault on a venue's
/// single-order entry path also hits its batch order entry path: both are order entry.
#[derive(Debug)]
pub struct Faults {
    rules: Mutex<Vec<Rule>>,
    skew_ms: AtomicI64,
    partial_next: Mutex<Option<Decimal>>,
    stream_epoch: watch::Sender<u64>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            rules: Mutex::new(Vec::new()),
            skew_ms: AtomicI64::new(0),
            partial_next: Mutex::new(None),
            stream_epoch: watch::channel(0).0,
        }
    }
}

impl Faults {
    pub fn inject(&self, path: &str, times: u32, fault: Fault) {
        self.rules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Rule {
                path: path.to_string(),
                remaining: times,
                fault,
            });
    }

    /// Removes every pending fault (skew and partial fills included).
    pub fn clear(&self) {
        self.rules.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.skew_ms.store(0, Ordering::Relaxed);
        *self.partial_next.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Faults not yet used up.
    pub fn pending(&self) -> u32 {
        self.rules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|r| r.remaining)
            .sum()
    }

    /// Moves the simulator's clock by `ms` (positive: the venue is ahead of us).
    pub fn set_clock_skew_ms(&self, ms: i64) {
        self.skew_ms.store(ms, Ordering::Relaxed);
    }

    pub fn clock_skew_ms(&self) -> i64 {
        self.skew_ms.load(Ordering::Relaxed)
    }

    /// The next market order fills only `fraction` of its quantity (at least one step); the
    /// rest is cancelled.
    pub fn partial_fill_next(&self, fraction: Decimal) {
        *self.partial_next.lock().unwrap_or_else(|p| p.into_inner()) = Some(fraction);
    }

    pub(crate) fn take_partial(&self) -> Option<Decimal> {
        self.partial_next
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Closes every private stream connection now (they may reconnect).
    pub fn drop_streams(&self) {
        self.stream_epoch.send_modify(|e| *e += 1);
    }

    pub(crate) fn stream_epoch(&self) -> watch::Receiver<u64> {
        self.stream_epoch.subscribe()
    }

    /// The faults that apply to one `method` request to `path`, each used once. `alias` is
    /// another path whose faults apply too: a venue's single-order entry path for its batch
    /// order entry path ([`crate::server`]), so a fault scripted on "order entry" hits the
    /// client's order entry whichever of the two endpoints it uses.
    pub(crate) fn take(&self, method: &str, path: &str, alias: Option<&str>) -> Vec<Fault> {
        let mut rules = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        let mut hit = Vec::new();
        let is = |rule: &str, p: &str| {
            rule == p
                || rule
                    .split_once(' ')
                    .is_some_and(|(m, rp)| m.eq_ignore_ascii_case(method) && rp == p)
        };
        for r in rules.iter_mut() {
            let matches =
                r.path == "*" || is(&r.path, path) || alias.is_some_and(|a| is(&r.path, a));
            if r.remaining > 0 && matches {
                r.remaining -= 1;
                hit.push(r.fault.clone());
            }
        }
        rules.retain(|r| r.remaining > 0);
        hit
    }
}

/// Requests seen, per `METHOD /path`.
#[derive(Debug, Default)]
pub struct Counters {
    by_endpoint: Mutex<BTreeMap<String, u64>>,
    total: AtomicU64,
    stream_connections: AtomicU64,
    /// Requests received and not yet answered (or dropped).
    in_flight: AtomicU64,
}

impl Counters {
    pub(crate) fn hit(&self, key: String) {
        self.total.fetch_add(1, Ordering::Relaxed);
        *self
            .by_endpoint
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_insert(0) += 1;
    }

    /// Marks one request as being handled until the returned guard is dropped.
    pub(crate) fn begin(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(&self.in_flight)
    }

    /// Requests received and not yet finished: a test that abandons a client mid-request (a
    /// simulated crash) waits for this to reach zero so the venue's state is settled before
    /// the next look at it.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub(crate) fn stream_connected(&self) {
        self.stream_connections.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.by_endpoint
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Requests to one endpoint, e.g. `("POST", "/v5/order/create")`.
    pub fn get(&self, method: &str, path: &str) -> u64 {
        self.by_endpoint
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&format!("{method} {path}"))
            .copied()
            .unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Private stream connections accepted so far.
    pub fn stream_connections(&self) -> u64 {
        self.stream_connections.load(Ordering::Relaxed)
    }

    pub fn reset(&self) {
        self.by_endpoint
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.total.store(0, Ordering::Relaxed);
    }
}

/// One request being handled; see [`Counters::in_flight`].
#[derive(Debug)]
pub(crate) struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
