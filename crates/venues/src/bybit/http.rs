//! Bybit v5 REST plumbing: signed and public requests, the `{retCode, retMsg, result, time}`
//! envelope, rate-limit scopes and headers, and the clock resync on 10002.
//!
//! Rate limits (https://bybit-exchange.github.io/docs/v5/rate-limit): 600 requests per 5 s per IP,
//! and per UID per second: order create/cancel 10, order queries 50, positions 50, wallet 50,
//! leverage 10, margin mode
//! 5. Bybit reports the account's real per-endpoint limit in `X-Bapi-Limit` (higher on VIP and
//! PRO tiers) and the remainder in `X-Bapi-Limit-Status`, with the window's end in
//! `X-Bapi-Limit-Reset-Timestamp`; both are obeyed.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::VENUE;
use super::auth::sign_request;
use super::codes;
use crate::http::classify::{self, status_error};
use crate::http::envelope::{present, result_field};
use crate::http::{Method, Query, RawResponse, Request, Transport, VenueClock};
use crate::ratelimit::{RateLimits, Scope};
use crate::{Credentials, VenueError, VenueErrorKind};

/// Budget names, one per documented limit.
pub mod scope {
    pub const IP: &str = "ip";
    pub const ORDER: &str = "order";
    /// `POST /v5/order/create-batch`: its own budget, consumed per order (see `super::batch`).
    pub const BATCH: &str = "batch";
    pub const QUERY: &str = "query";
    pub const POSITION: &str = "position";
    pub const WALLET: &str = "wallet";
    pub const LEVERAGE: &str = "leverage";
    pub const MARGIN: &str = "margin";
    /// Public market data: only the IP budget applies.
    pub const PUBLIC: &str = "public";
}

fn scopes() -> Vec<Scope> {
    let s = Duration::from_secs(1);
    vec![
        Scope::new(scope::IP, 600, Duration::from_secs(5)),
        Scope::new(scope::ORDER, 10, s),
        Scope::new(scope::BATCH, 10, s),
        Scope::new(scope::QUERY, 50, s),
        Scope::new(scope::POSITION, 50, s),
        Scope::new(scope::WALLET, 50, s),
        Scope::new(scope::LEVERAGE, 10, s),
        Scope::new(scope::MARGIN, 5, s),
    ]
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    ret_code: i64,
    #[serde(default)]
    ret_msg: String,
    /// Absent and `null` differ: a read without `result` is refused ([`result_field`]).
    #[serde(default, deserialize_with = "present")]
    result: Option<Value>,
    #[serde(default)]
    time: i64,
    /// Per-order `{code, msg}` of a batch request; `{}` elsewhere.
    #[serde(default, rename = "retExtInfo")]
    ret_ext_info: Value,
}

/// What a successful call answered.
struct Reply {
    result: Value,
    time: i64,
    ext: Value,
}

/// One Bybit account's REST client.
#[derive(Debug)]
pub struct BybitHttp {
    transport: Transport,
    credentials: Option<Credentials>,
    recv_window_ms: u64,
    pub clock: VenueClock,
    pub limits: RateLimits,
}

impl BybitHttp {
    pub fn new(
        transport: Transport,
        credentials: Option<Credentials>,
        recv_window_ms: u64,
        clock: VenueClock,
        max_wait: Duration,
    ) -> Self {
        Self {
            transport,
            credentials,
            recv_window_ms,
            clock,
            limits: RateLimits::new(VENUE, &scopes(), max_wait),
        }
    }

    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    pub fn base_url(&self) -> &str {
        self.transport.base_url()
    }

    /// Measures the offset to Bybit's clock (`GET /v5/market/time`).
    pub async fn sync_time(&self) -> Result<(), VenueError> {
        let sent = self.clock.local_ms();
        let env = self
            .call(
                Method::Get,
                "/v5/market/time",
                &Query::new(),
                None,
                (scope::PUBLIC, 1),
                false,
            )
            .await?;
        let received = self.clock.local_ms();
        let nano = env
            .result
            .get("timeNano")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<i128>().ok());
        let server_ms = match nano {
            Some(n) => i64::try_from(n / 1_000_000).unwrap_or(env.time),
            None => env.time,
        };
        if server_ms <= 0 {
            return Err(crate::parse::bad_reply(VENUE, "timeNano", "missing"));
        }
        self.clock.observe(server_ms, sent, received);
        tracing::debug!(
            venue = VENUE,
            offset_ms = self.clock.offset_ms(),
            "clock offset measured"
        );
        Ok(())
    }

    /// A public GET: the `result` object.
    pub async fn public_get(&self, path: &str, query: &Query) -> Result<Value, VenueError> {
        self.request(Method::Get, path, query, None, (scope::PUBLIC, 1), false)
            .await
            .map(|r| r.result)
    }

    /// A signed GET: the `result` object.
    pub async fn get(
        &self,
        path: &str,
        query: &Query,
        scope: &'static str,
    ) -> Result<Value, VenueError> {
        self.request(Method::Get, path, query, None, (scope, 1), true)
            .await
            .map(|r| r.result)
    }

    /// A signed POST of a JSON body: the `result` object.
    pub async fn post(
        &self,
        path: &str,
        body: &Value,
        scope: &'static str,
    ) -> Result<Value, VenueError> {
        let text = body.to_string();
        self.request(
            Method::Post,
            path,
            &Query::new(),
            Some(text),
            (scope, 1),
            true,
        )
        .await
        .map(|r| r.result)
    }

    /// A signed POST of a batch request costing `cost` in `scope` (its number of orders): the
    /// `result` object and the per-order `retExtInfo`.
    pub async fn post_batch(
        &self,
        path: &str,
        body: &Value,
        scope: &'static str,
        cost: u32,
    ) -> Result<(Value, Value), VenueError> {
        let text = body.to_string();
        self.request(
            Method::Post,
            path,
            &Query::new(),
            Some(text),
            (scope, cost),
            true,
        )
        .await
        .map(|r| (r.result, r.ext))
    }

    /// Sends, resyncing the clock once if Bybit says the timestamp was outside the window (the
    /// request was refused, so sending it again cannot double it).
    async fn request(
        &self,
        method: Method,
        path: &str,
        query: &Query,
        body: Option<String>,
        scope: (&'static str, u32),
        signed: bool,
    ) -> Result<Reply, VenueError> {
        match self
            .call(method, path, query, body.clone(), scope, signed)
            .await
        {
            Err(e) if e.code.as_deref() == Some("10002") => {
                tracing::warn!(venue = VENUE, %path, "timestamp refused; resyncing the clock");
                self.sync_time().await?;
                self.call(method, path, query, body, scope, signed).await
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
        (scope, cost): (&'static str, u32),
        signed: bool,
    ) -> Result<Reply, VenueError> {
        self.limits
            .acquire(&[(scope::IP, 1), (scope, cost)])
            .await?;
        let mut headers = Vec::new();
        if signed {
            let creds = self.credentials.as_ref().ok_or_else(no_keys)?;
            let ts = self.clock.venue_ms();
            let payload = body.as_deref().unwrap_or(query.as_str());
            let sign = sign_request(
                creds.secret(),
                ts,
                creds.key(),
                self.recv_window_ms,
                payload,
            );
            headers.push(("X-BAPI-API-KEY", creds.key().to_string()));
            headers.push(("X-BAPI-TIMESTAMP", ts.to_string()));
            headers.push(("X-BAPI-RECV-WINDOW", self.recv_window_ms.to_string()));
            headers.push(("X-BAPI-SIGN", sign));
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
        self.observe_limits(&resp, scope);
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
        let env: Envelope = serde_json::from_slice(&resp.body).map_err(|_| {
            VenueError::new(
                VENUE,
                VenueErrorKind::Internal,
                format!(
                    "{path}: reply is not a Bybit envelope: {}",
                    resp.body_snippet()
                ),
            )
        })?;
        if env.ret_code != 0 {
            let mut e = codes::error(env.ret_code, &env.ret_msg, path);
            if env.ret_code == codes::RATE_LIMITED {
                let wait = self
                    .reset_wait(&resp)
                    .unwrap_or(classify::DEFAULT_RETRY_AFTER);
                self.limits.pause_for(wait);
                e = e.with_retry_after(wait);
            }
            return Err(e);
        }
        Ok(Reply {
            result: result_field(VENUE, method, path, "result", env.result)?,
            time: env.time,
            ext: env.ret_ext_info,
        })
    }

    /// Adopts the limit Bybit reports, and pauses when the window's budget is used up.
    fn observe_limits(&self, resp: &RawResponse, scope: &'static str) {
        if let Some(limit) = resp
            .header("x-bapi-limit")
            .and_then(|v| v.trim().parse::<u32>().ok())
            && limit > 0
            && scope != scope::PUBLIC
        {
            self.limits.set_amount(scope, limit);
        }
        let remaining = resp
            .header("x-bapi-limit-status")
            .and_then(|v| v.trim().parse::<i64>().ok());
        // The status is the remainder of **this endpoint's** limit ("your remaining requests
        // for current endpoint", https://bybit-exchange.github.io/docs/v5/rate-limit): only
        // its scope waits for the reset; reads and the other order endpoint go on.
        if remaining == Some(0)
            && let Some(wait) = self.reset_wait(resp)
        {
            self.limits.exhaust(scope, wait);
        }
    }

    /// Time until `X-Bapi-Limit-Reset-Timestamp` (venue ms), capped at a minute.
    fn reset_wait(&self, resp: &RawResponse) -> Option<Duration> {
        let reset: i64 = resp
            .header("x-bapi-limit-reset-timestamp")?
            .trim()
            .parse()
            .ok()?;
        let wait = reset.saturating_sub(self.clock.venue_ms()).clamp(0, 60_000);
        Some(Duration::from_millis(u64::try_from(wait).unwrap_or(0)))
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

/// Whether `e` carries Bybit `retCode` `code`.
pub fn has_code(e: &VenueError, code: i64) -> bool {
    e.venue == VENUE && e.code.as_deref() == Some(code.to_string().as_str())
}
