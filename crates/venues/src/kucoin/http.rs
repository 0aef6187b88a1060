//! KuCoin Futures REST plumbing: signed and public requests, the `{code, data}` envelope (any
//! code but `200000` is an error, on HTTP 200 or not), the Rate Limit 2.0 pool and the clock.
//!
//! Rate limits (https://www.kucoin.com/docs/, "Rate Limit"): one futures resource pool of 2000
//! weight per 30 s (VIP0). KuCoin reports the pool in `gw-ratelimit-limit`, what is left in
//! `gw-ratelimit-remaining` and the milliseconds to its reset in `gw-ratelimit-reset`; the pool
//! size replaces ours, and a used-up pool pauses the client until the reset. HTTP 429 / code
//! 429000 (pool) and 200002 (an endpoint's own limit) pause it too.

use std::time::Duration;

use serde_json::Value;

use super::VENUE;
use super::auth::{KEY_VERSION, sign_passphrase, sign_request};
use super::codes;
use crate::http::classify::{DEFAULT_RETRY_AFTER, status_error};
use crate::http::envelope::data_field;
use crate::http::{Method, Query, RawResponse, Request, Transport, VenueClock};
use crate::ratelimit::{RateLimits, Scope};
use crate::{Credentials, VenueError, VenueErrorKind};

/// The futures resource pool.
pub const POOL: &str = "pool";

/// Weights of the calls we make (KuCoin's published weights: orders 2, queries 2–5).
pub mod weight {
    pub const PUBLIC: u32 = 2;
    pub const ORDER: u32 = 2;
    pub const QUERY: u32 = 2;
    pub const ACCOUNT: u32 = 5;
    /// `GET /api/v1/fills`: priced as the account reads; KuCoin's older limit for it (9
    /// requests per 3 s) is tighter than for the order queries.
    pub const FILLS: u32 = 5;
}

/// One KuCoin account's REST client.
#[derive(Debug)]
pub struct KucoinHttp {
    transport: Transport,
    credentials: Option<Credentials>,
    pub clock: VenueClock,
    pub limits: RateLimits,
}

fn code_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// Reads a KuCoin envelope: `Ok(Some(data))` on `200000`, `Ok(None)` when the body is not an
/// envelope at all, `Err` for an error code or a successful read without `data`
/// ([`data_field`]).
pub fn open_envelope(body: &[u8], method: Method, path: &str) -> Result<Option<Value>, VenueError> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Ok(None);
    };
    let code = code_text(v.get("code"));
    if code.is_empty() {
        return Ok(None);
    }
    if code != codes::SUCCESS {
        let msg = v.get("msg").and_then(Value::as_str).unwrap_or_default();
        return Err(codes::error(&code, msg, path));
    }
    data_field(VENUE, method, path, v.get("data").cloned()).map(Some)
}

fn method_text(m: Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
    }
}

impl KucoinHttp {
    pub fn new(
        transport: Transport,
        credentials: Option<Credentials>,
        clock: VenueClock,
        max_wait: Duration,
    ) -> Self {
        Self {
            transport,
            credentials,
            clock,
            limits: RateLimits::new(
                VENUE,
                &[Scope::new(POOL, 2000, Duration::from_secs(30))],
                max_wait,
            ),
        }
    }

    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// Measures the offset to KuCoin's clock (`GET /api/v1/timestamp`).
    pub async fn sync_time(&self) -> Result<(), VenueError> {
        let sent = self.clock.local_ms();
        let data = self
            .call(
                Method::Get,
                "/api/v1/timestamp",
                &Query::new(),
                None,
                weight::PUBLIC,
                false,
            )
            .await?;
        let received = self.clock.local_ms();
        let server = data
            .as_i64()
            .filter(|t| *t > 0)
            .ok_or_else(|| crate::parse::bad_reply(VENUE, "timestamp", &data.to_string()))?;
        self.clock.observe(server, sent, received);
        Ok(())
    }

    pub async fn public_get(&self, path: &str, query: &Query) -> Result<Value, VenueError> {
        self.request(Method::Get, path, query, None, weight::PUBLIC, false)
            .await
    }

    pub async fn get(&self, path: &str, query: &Query, weight: u32) -> Result<Value, VenueError> {
        self.request(Method::Get, path, query, None, weight, true)
            .await
    }

    pub async fn post(&self, path: &str, body: &Value, weight: u32) -> Result<Value, VenueError> {
        let text = body.to_string();
        self.request(Method::Post, path, &Query::new(), Some(text), weight, true)
            .await
    }

    pub async fn delete(
        &self,
        path: &str,
        query: &Query,
        weight: u32,
    ) -> Result<Value, VenueError> {
        self.request(Method::Delete, path, query, None, weight, true)
            .await
    }

    /// Sends, resyncing the clock once if KuCoin refused the timestamp (400002: the request
    /// did nothing, so re-sending cannot double it).
    async fn request(
        &self,
        method: Method,
        path: &str,
        query: &Query,
        body: Option<String>,
        weight: u32,
        signed: bool,
    ) -> Result<Value, VenueError> {
        match self
            .call(method, path, query, body.clone(), weight, signed)
            .await
        {
            Err(e) if codes::is(&e, &[codes::TIMESTAMP]) => {
                tracing::warn!(venue = VENUE, %path, "timestamp refused; resyncing the clock");
                self.sync_time().await?;
                self.call(method, path, query, body, weight, signed).await
            }
            other => other,
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &Query,
        body: Option<String>,
        weight: u32,
        signed: bool,
    ) -> Result<Value, VenueError> {
        self.limits.acquire(&[(POOL, weight)]).await?;
        let mut headers = Vec::new();
        if signed {
            let creds = self.credentials.as_ref().ok_or_else(no_keys)?;
            let passphrase = creds.passphrase().ok_or_else(no_passphrase)?;
            let ts = self.clock.venue_ms();
            let endpoint = if query.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", query.as_str())
            };
            let sign = sign_request(
                creds.secret(),
                ts,
                method_text(method),
                &endpoint,
                body.as_deref().unwrap_or_default(),
            );
            headers.push(("KC-API-KEY", creds.key().to_string()));
            headers.push(("KC-API-SIGN", sign));
            headers.push(("KC-API-TIMESTAMP", ts.to_string()));
            headers.push((
                "KC-API-PASSPHRASE",
                sign_passphrase(creds.secret(), passphrase),
            ));
            headers.push(("KC-API-KEY-VERSION", KEY_VERSION.to_string()));
        }
        let resp = self
            .transport
            .send(Request {
                method,
                path,
                query: query.as_str(),
                headers,
                body: body.map(|b| (b, "application/json")),
            })
            .await?;
        self.observe_limits(&resp);
        let opened = open_envelope(&resp.body, method, path);
        if let Err(mut e) = opened {
            if e.kind == VenueErrorKind::RateLimited {
                let wait = reset_wait(&resp).unwrap_or(DEFAULT_RETRY_AFTER);
                self.limits.pause_for(wait);
                e = e.with_retry_after(wait);
            }
            return Err(e);
        }
        if resp.status != 200 {
            let e = status_error(VENUE, &resp);
            if let Some(wait) = e
                .retry_after
                .filter(|_| e.kind == VenueErrorKind::RateLimited)
            {
                self.limits.pause_for(wait);
            }
            return Err(e);
        }
        match opened {
            Ok(Some(data)) => Ok(data),
            _ => Err(VenueError::new(
                VENUE,
                VenueErrorKind::Internal,
                format!(
                    "{path}: reply is not a KuCoin envelope: {}",
                    resp.body_snippet()
                ),
            )),
        }
    }

    /// Adopts the pool size KuCoin reports, and pauses when the pool is used up.
    fn observe_limits(&self, resp: &RawResponse) {
        if let Some(limit) = resp
            .header("gw-ratelimit-limit")
            .and_then(|v| v.trim().parse::<u32>().ok())
            && limit > 0
        {
            self.limits.set_amount(POOL, limit);
        }
        let remaining = resp
            .header("gw-ratelimit-remaining")
            .and_then(|v| v.trim().parse::<i64>().ok());
        if remaining == Some(0)
            && let Some(wait) = reset_wait(resp)
        {
            self.limits.pause_for(wait);
        }
    }
}

/// `gw-ratelimit-reset`: milliseconds until the pool refills (capped at a minute).
fn reset_wait(resp: &RawResponse) -> Option<Duration> {
    let ms: u64 = resp.header("gw-ratelimit-reset")?.trim().parse().ok()?;
    Some(Duration::from_millis(ms.min(60_000)))
}

pub fn no_keys() -> VenueError {
    VenueError::new(
        VENUE,
        VenueErrorKind::Auth,
        "this account has no API keys configured (public market data only)",
    )
    .with_code("no_credentials")
}

fn no_passphrase() -> VenueError {
    VenueError::new(
        VENUE,
        VenueErrorKind::Auth,
        "KuCoin keys need a passphrase, and none is configured",
    )
    .with_code("no_passphrase")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_envelope_get(body: &[u8], path: &str) -> Result<Option<Value>, VenueError> {
        open_envelope(body, Method::Get, path)
    }

    #[test]
    fn a_successful_read_without_data_is_refused_and_a_write_passes_null() {
        let e = open_envelope_get(br#"{"code":"200000"}"#, "/api/v1/positions").err();
        assert_eq!(
            e.and_then(|e| e.code).as_deref(),
            Some(crate::http::envelope::MISSING_DATA)
        );
        let w = open_envelope(br#"{"code":"200000"}"#, Method::Post, "/api/v1/orders");
        assert!(matches!(w, Ok(Some(Value::Null))));
    }

    #[test]
    fn any_code_but_200000_is_an_error() {
        let ok = open_envelope_get(br#"{"code":"200000","data":{"x":1}}"#, "/p");
        assert!(matches!(ok, Ok(Some(_))));
        let e = open_envelope_get(br#"{"code":"300003","msg":"Balance insufficient"}"#, "/p").err();
        assert_eq!(e.and_then(|e| e.code).as_deref(), Some("300003"));
        let e = open_envelope_get(br#"{"code":400005,"msg":"Invalid KC-API-SIGN"}"#, "/p").err();
        assert_eq!(e.map(|e| e.kind), Some(VenueErrorKind::Auth));
        assert!(matches!(
            open_envelope_get(b"Service Unavailable", "/p"),
            Ok(None)
        ));
    }
}
