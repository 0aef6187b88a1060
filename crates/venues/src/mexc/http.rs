//! MEXC contract REST plumbing: signed and public requests, the `{success, code, data,
//! message}` envelope (HTTP 200 for venue errors), rate limits, and the clock resync on 513.
//!
//! Headers of a private request: `ApiKey`, `Request-Time` (ms), `Signature` and `Recv-Window`
//! (seconds; MEXC's default is 10, its maximum 60; we send the configured window rounded up).
//!
//! Rate limits (https://mexcdevelop.github.io/apidocs/contract_v1_en/): each endpoint allows 20
//! requests per 2 s, except `contract/detail` (1 per 5 s, so instruments are cached) and
//! `order/batch_query` (5 per 2 s, not used). MEXC counts per endpoint, so each endpoint family
//! here has its own budget; order submission is paced steadily (two at once, then one per 111 ms)
//! so a 50-order rebalance never puts 21 submissions into one 2-second window. A `510` answer
//! pauses the whole client for a second (MEXC sends no reset time).

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::VENUE;
use super::auth::sign;
use super::codes;
use super::json::quote_numbers;
use crate::http::classify::{self, status_error};
use crate::http::envelope::{data_field, present};
use crate::http::{Method, Query, Request, Transport, VenueClock};
use crate::ratelimit::{RateLimits, Scope};
use crate::{Credentials, VenueError, VenueErrorKind};

/// Budget names, one per documented endpoint family.
pub mod scope {
    pub const PING: &str = "ping";
    pub const DETAIL: &str = "detail";
    pub const TICKER: &str = "ticker";
    pub const ASSETS: &str = "assets";
    pub const POSITIONS: &str = "positions";
    pub const POSITION_MODE: &str = "position_mode";
    pub const LEVERAGE: &str = "leverage";
    pub const SUBMIT: &str = "submit";
    /// `order/submit_batch`: 1 request per 2 s (see `super::venue`'s batch module).
    pub const BATCH: &str = "batch";
    pub const CANCEL: &str = "cancel";
    pub const QUERY: &str = "query";
    pub const OPEN_ORDERS: &str = "open_orders";
}

fn scopes() -> Vec<Scope> {
    let two = Duration::from_secs(2);
    vec![
        Scope::new(scope::PING, 20, two),
        Scope::new(scope::DETAIL, 1, Duration::from_secs(5)),
        Scope::new(scope::TICKER, 20, two),
        Scope::new(scope::ASSETS, 20, two),
        Scope::new(scope::POSITIONS, 20, two),
        Scope::new(scope::POSITION_MODE, 20, two),
        Scope::new(scope::LEVERAGE, 20, two),
        Scope::new(scope::SUBMIT, 20, two),
        Scope::new(scope::BATCH, 1, two),
        Scope::new(scope::CANCEL, 20, two),
        Scope::new(scope::QUERY, 20, two),
        Scope::new(scope::OPEN_ORDERS, 20, two),
    ]
}

/// The envelope, read after [`quote_numbers`]: `code` arrives as text.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    code: Value,
    /// Absent and `null` differ: a read without `data` is refused ([`data_field`]).
    #[serde(default, deserialize_with = "present")]
    data: Option<Value>,
    #[serde(default)]
    message: String,
}

/// One MEXC account's REST client.
#[derive(Debug)]
pub struct MexcHttp {
    transport: Transport,
    credentials: Option<Credentials>,
    recv_window_s: u64,
    pub clock: VenueClock,
    pub limits: RateLimits,
}

impl MexcHttp {
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
            recv_window_s: recv_window_ms.div_ceil(1000).clamp(1, 60),
            clock,
            limits: RateLimits::new(VENUE, &scopes(), max_wait),
        }
    }

    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// Measures the offset to MEXC's clock (`GET /api/v1/contract/ping`, `data` = ms).
    pub async fn sync_time(&self) -> Result<(), VenueError> {
        let sent = self.clock.local_ms();
        let data = self
            .call(
                Method::Get,
                "/api/v1/contract/ping",
                &Query::new(),
                None,
                scope::PING,
                false,
            )
            .await?;
        let received = self.clock.local_ms();
        let server_ms = data
            .as_str()
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|ms| *ms > 0)
            .ok_or_else(|| crate::parse::bad_reply(VENUE, "ping.data", &data.to_string()))?;
        self.clock.observe(server_ms, sent, received);
        tracing::debug!(
            venue = VENUE,
            offset_ms = self.clock.offset_ms(),
            "clock offset measured"
        );
        Ok(())
    }

    /// A public GET: the `data` value.
    pub async fn public_get(
        &self,
        path: &str,
        query: &Query,
        scope: &'static str,
    ) -> Result<Value, VenueError> {
        self.request(Method::Get, path, query, None, scope, false)
            .await
    }

    /// A signed GET (the query must come from [`super::auth::sorted_query`]).
    pub async fn get(
        &self,
        path: &str,
        query: &Query,
        scope: &'static str,
    ) -> Result<Value, VenueError> {
        self.request(Method::Get, path, query, None, scope, true)
            .await
    }

    /// A signed POST of a JSON body, sent and signed byte for byte as given.
    pub async fn post(
        &self,
        path: &str,
        body: String,
        scope: &'static str,
    ) -> Result<Value, VenueError> {
        self.request(Method::Post, path, &Query::new(), Some(body), scope, true)
            .await
    }

    /// Sends, resyncing the clock once if MEXC says the request time was out of range (code
    /// 513: the request was refused, so sending it again cannot double it).
    async fn request(
        &self,
        method: Method,
        path: &str,
        query: &Query,
        body: Option<String>,
        scope: &'static str,
        signed: bool,
    ) -> Result<Value, VenueError> {
        match self
            .call(method, path, query, body.clone(), scope, signed)
            .await
        {
            Err(e) if codes::has_code(&e, codes::TIME_WINDOW) => {
                tracing::warn!(venue = VENUE, %path, "request time refused; resyncing the clock");
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
        scope: &'static str,
        signed: bool,
    ) -> Result<Value, VenueError> {
        self.limits.acquire(&[(scope, 1)]).await?;
        let mut headers = Vec::new();
        if signed {
            let creds = self.credentials.as_ref().ok_or_else(no_keys)?;
            let ts = self.clock.venue_ms();
            let params = body.as_deref().unwrap_or(query.as_str());
            headers.push(("ApiKey", creds.key().to_string()));
            headers.push(("Request-Time", ts.to_string()));
            headers.push(("Recv-Window", self.recv_window_s.to_string()));
            headers.push(("Signature", sign(creds.secret(), creds.key(), ts, params)));
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
        let opened = open_envelope(&resp.body, method, path);
        if let Err(e) = &opened
            && codes::has_code(e, codes::RATE_LIMITED)
        {
            self.limits.pause_for(classify::DEFAULT_RETRY_AFTER);
        }
        opened
    }
}

/// Reads a MEXC envelope: `Ok(data)` on `success` with code 0, the code's error otherwise, and
/// an error for a successful read without `data` ([`data_field`]).
pub fn open_envelope(body: &[u8], method: Method, path: &str) -> Result<Value, VenueError> {
    let env: Envelope = serde_json::from_slice(&quote_numbers(body)).map_err(|_| {
        VenueError::new(
            VENUE,
            VenueErrorKind::Internal,
            format!(
                "{path}: reply is not a MEXC envelope: {}",
                String::from_utf8_lossy(body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ),
        )
    })?;
    let code = match &env.code {
        Value::String(s) => s.parse::<i64>().ok(),
        Value::Null => Some(0),
        _ => None,
    }
    .ok_or_else(|| crate::parse::bad_reply(VENUE, "code", &env.code.to_string()))?;
    if code != 0 || !env.success {
        // `success: false` with code 0 has not been seen; keep it an error all the same.
        let code = if code == 0 { 9999 } else { code };
        let mut e = codes::error(code, &env.message, path, method.is_write());
        if code == codes::RATE_LIMITED {
            e = e.with_retry_after(classify::DEFAULT_RETRY_AFTER);
        }
        return Err(e);
    }
    data_field(VENUE, method, path, env.data)
}

pub fn no_keys() -> VenueError {
    VenueError::new(
        VENUE,
        VenueErrorKind::Auth,
        "this account has no API keys configured (public market data only)",
    )
    .with_code("no_credentials")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_successful_read_without_data_is_refused_and_a_write_passes_null() {
        let ok = open_envelope(br#"{"success":true,"code":0,"data":[]}"#, Method::Get, "/p");
        assert_eq!(ok.ok(), Some(Value::Array(Vec::new())));
        let e = open_envelope(br#"{"success":true,"code":0}"#, Method::Get, "/p").err();
        assert_eq!(
            e.and_then(|e| e.code).as_deref(),
            Some(crate::http::envelope::MISSING_DATA)
        );
        let w = open_envelope(br#"{"success":true,"code":0}"#, Method::Post, "/p");
        assert_eq!(w.ok(), Some(Value::Null));
        let e = open_envelope(
            br#"{"success":false,"code":2005,"message":"x"}"#,
            Method::Get,
            "/p",
        );
        assert_eq!(e.err().and_then(|e| e.code).as_deref(), Some("2005"));
    }
}
