//! Binance USDⓈ-M REST plumbing: signed, key-only and public requests; `{code, msg}` errors;
//! request-weight and order-count budgets; the clock resync on −1021.
//!
//! Rate limits (https://developers.binance.com/docs/derivatives/usds-margined-futures/general-info;
//! the live values come from `exchangeInfo.rateLimits`): 2400 request weight per minute per IP, and
//! per account 300 orders per 10 s and 1200 per minute. Each request declares its documented
//! weight. `X-MBX-USED-WEIGHT-1M` is read on every answer: at 95 % of the budget, requests pause
//! until the minute turns. 429 and 418 (ban) pause everything for `Retry-After`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::VENUE;
use super::auth::sign;
use super::codes;
use crate::http::classify::{self, status_error};
use crate::http::{Method, Query, RawResponse, Request, Transport, VenueClock};
use crate::ratelimit::{RateLimits, Scope};
use crate::{Credentials, VenueError, VenueErrorKind};

pub mod scope {
    pub const WEIGHT: &str = "weight";
    pub const ORDERS_10S: &str = "orders10s";
    pub const ORDERS_1M: &str = "orders1m";
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    Public,
    /// `X-MBX-APIKEY` only (listen-key endpoints).
    KeyOnly,
    /// Key, `timestamp`, `recvWindow` and `signature`.
    Signed,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    code: i64,
    #[serde(default)]
    msg: String,
}

/// One Binance account's REST client.
#[derive(Debug)]
pub struct BinanceHttp {
    transport: Transport,
    credentials: Option<Credentials>,
    recv_window_ms: u64,
    pub clock: VenueClock,
    pub limits: RateLimits,
    weight_limit: AtomicU32,
}

impl BinanceHttp {
    pub fn new(
        transport: Transport,
        credentials: Option<Credentials>,
        recv_window_ms: u64,
        clock: VenueClock,
        max_wait: Duration,
    ) -> Self {
        let scopes = [
            Scope::new(scope::WEIGHT, 2400, Duration::from_secs(60)),
            Scope::new(scope::ORDERS_10S, 300, Duration::from_secs(10)),
            Scope::new(scope::ORDERS_1M, 1200, Duration::from_secs(60)),
        ];
        Self {
            transport,
            credentials,
            recv_window_ms,
            clock,
            limits: RateLimits::new(VENUE, &scopes, max_wait),
            weight_limit: AtomicU32::new(2400),
        }
    }

    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// Adopts the budgets `exchangeInfo.rateLimits` declares.
    pub fn adopt_rate_limits(&self, limits: &[Value]) {
        for l in limits {
            let kind = l
                .get("rateLimitType")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let interval = l
                .get("interval")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let num = l.get("intervalNum").and_then(Value::as_u64).unwrap_or(0);
            let Some(limit) = l
                .get("limit")
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
            else {
                continue;
            };
            match (kind, interval, num) {
                ("REQUEST_WEIGHT", "MINUTE", 1) => {
                    self.limits.set_amount(scope::WEIGHT, limit);
                    self.weight_limit.store(limit, Ordering::Relaxed);
                }
                ("ORDERS", "SECOND", 10) => self.limits.set_amount(scope::ORDERS_10S, limit),
                ("ORDERS", "MINUTE", 1) => self.limits.set_amount(scope::ORDERS_1M, limit),
                _ => {}
            }
        }
    }

    /// Measures the offset to Binance's clock (`GET /fapi/v1/time`).
    pub async fn sync_time(&self) -> Result<(), VenueError> {
        let sent = self.clock.local_ms();
        let v = self
            .call(
                Method::Get,
                "/fapi/v1/time",
                &Query::new(),
                Auth::Public,
                &[(scope::WEIGHT, 1)],
            )
            .await?;
        let received = self.clock.local_ms();
        let server = v
            .get("serverTime")
            .and_then(Value::as_i64)
            .ok_or_else(|| crate::parse::bad_reply(VENUE, "serverTime", &v.to_string()))?;
        self.clock.observe(server, sent, received);
        Ok(())
    }

    /// Sends a request, resyncing the clock once on −1021 (the request was refused, so
    /// re-sending it cannot double it).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        params: &Query,
        auth: Auth,
        weight: u32,
        order: bool,
    ) -> Result<Value, VenueError> {
        let mut costs = vec![(scope::WEIGHT, weight)];
        if order {
            costs.push((scope::ORDERS_10S, 1));
            costs.push((scope::ORDERS_1M, 1));
        }
        self.request_costing(method, path, params, auth, &costs)
            .await
    }

    /// [`BinanceHttp::request`] with the request's cost in each scope given outright (a batch
    /// request's documented order counts differ from a single order's).
    pub async fn request_costing(
        &self,
        method: Method,
        path: &str,
        params: &Query,
        auth: Auth,
        costs: &[(&'static str, u32)],
    ) -> Result<Value, VenueError> {
        match self.call(method, path, params, auth, costs).await {
            Err(e) if e.code.as_deref() == Some("-1021") => {
                tracing::warn!(venue = VENUE, %path, "timestamp refused; resyncing the clock");
                self.sync_time().await?;
                self.call(method, path, params, auth, costs).await
            }
            other => other,
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        params: &Query,
        auth: Auth,
        costs: &[(&'static str, u32)],
    ) -> Result<Value, VenueError> {
        self.limits.acquire(costs).await?;
        let mut headers = Vec::new();
        let mut text = params.as_str().to_string();
        if auth != Auth::Public {
            let creds = self.credentials.as_ref().ok_or_else(no_keys)?;
            headers.push(("X-MBX-APIKEY", creds.key().to_string()));
            if auth == Auth::Signed {
                let mut q = params.clone();
                q.push("recvWindow", self.recv_window_ms.to_string());
                q.push("timestamp", self.clock.venue_ms().to_string());
                let signature = sign(creds.secret(), q.as_str());
                q.push("signature", signature);
                text = q.as_str().to_string();
            }
        }
        let (query, body) = match method {
            Method::Get | Method::Delete => (text.as_str(), None),
            Method::Post | Method::Put => (
                "",
                Some((text.clone(), "application/x-www-form-urlencoded")),
            ),
        };
        let resp = self
            .transport
            .send(Request {
                method,
                path,
                query,
                headers,
                body,
            })
            .await?;
        // On 429/418 `Retry-After` is the venue's word on when to come back; the weight header
        // would only say "used up" and pause to the minute's end instead.
        if !matches!(resp.status, 429 | 418) {
            self.observe_usage(&resp);
        }
        if resp.status == 200 {
            return serde_json::from_slice(&resp.body).map_err(|_| {
                VenueError::new(
                    VENUE,
                    VenueErrorKind::Internal,
                    format!("{path}: reply is not JSON: {}", resp.body_snippet()),
                )
            });
        }
        Err(self.error(&resp, path, method.is_write()))
    }

    fn error(&self, resp: &RawResponse, path: &str, write: bool) -> VenueError {
        if matches!(resp.status, 429 | 418) {
            let e = status_error(VENUE, resp);
            self.limits
                .pause_for(e.retry_after.unwrap_or(classify::DEFAULT_RETRY_AFTER));
            return e;
        }
        let body: Option<ErrorBody> = serde_json::from_slice(&resp.body).ok();
        match body {
            Some(b) if b.code != 0 && b.code != 200 => codes::error(b.code, &b.msg, path, write),
            // "Unknown error, please check your request or try again later.": the execution
            // status is unknown (code -1007 in Binance's error list), unlike a plain "Service
            // Unavailable".
            _ if resp.status == 503 && write && resp.body_snippet().contains("Unknown error") => {
                VenueError::new(
                    VENUE,
                    VenueErrorKind::Ambiguous,
                    format!("{path}: HTTP 503 unknown error; the request may have been executed"),
                )
                .with_code("http_503")
            }
            _ => status_error(VENUE, resp),
        }
    }

    /// Pauses until the minute turns when the used weight nears the budget.
    fn observe_usage(&self, resp: &RawResponse) {
        let Some(used) = resp
            .header("x-mbx-used-weight-1m")
            .and_then(|v| v.trim().parse::<u64>().ok())
        else {
            return;
        };
        let limit = u64::from(self.weight_limit.load(Ordering::Relaxed));
        if used.saturating_mul(100) >= limit.saturating_mul(95) {
            let into_minute = self.clock.venue_ms().rem_euclid(60_000);
            let wait = u64::try_from(60_000 - into_minute).unwrap_or(60_000);
            self.limits.pause_for(Duration::from_millis(wait));
        }
    }
}

pub fn no_keys() -> VenueError {
    VenueError::new(
        VENUE,
        VenueErrorKind::Auth,
        "this account has no API keys configured (public market data only)",
    )
    .with_code("no_credentials")
}

pub fn has_code(e: &VenueError, code: i64) -> bool {
    e.venue == VENUE && e.code.as_deref() == Some(code.to_string().as_str())
}
