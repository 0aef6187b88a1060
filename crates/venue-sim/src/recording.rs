//! Every request a simulator received, in order: method, path, and whether it carried a venue
//! API key (or a signature), so a test can prove what an engine mode sends — paper mode no
//! authenticated request at all, dry-run no order, leverage or margin change.

use std::sync::Mutex;

use axum::extract::Request;

/// Headers that carry an API key on the five simulated venues (Bybit, Binance, BloFin, KuCoin,
/// MEXC), lower case.
const KEY_HEADERS: [&str; 5] = [
    "x-bapi-api-key",
    "x-mbx-apikey",
    "access-key",
    "kc-api-key",
    "apikey",
];

/// One request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// It carried an API key header or a `signature` parameter: a private request.
    pub authenticated: bool,
}

impl Recorded {
    /// `METHOD /path`, as the counters name endpoints.
    pub fn endpoint(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// The request log of one simulator.
#[derive(Debug, Default)]
pub struct RequestLog {
    entries: Mutex<Vec<Recorded>>,
}

impl RequestLog {
    pub(crate) fn record(&self, req: &Request) {
        let headers = req.headers();
        let keyed = KEY_HEADERS
            .iter()
            .any(|h| headers.get(*h).is_some_and(|v| !v.is_empty()));
        let signed = req
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|p| p.starts_with("signature=")));
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Recorded {
                method: req.method().to_string(),
                path: req.uri().path().to_string(),
                authenticated: keyed || signed,
            });
    }

    /// Every request so far, oldest first.
    pub fn all(&self) -> Vec<Recorded> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The requests that carried credentials.
    pub fn authenticated(&self) -> Vec<Recorded> {
        self.all().into_iter().filter(|r| r.authenticated).collect()
    }

    /// Requests whose `METHOD /path` satisfies `f`.
    pub fn matching(&self, f: impl Fn(&Recorded) -> bool) -> Vec<Recorded> {
        self.all().into_iter().filter(|r| f(r)).collect()
    }

    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}
