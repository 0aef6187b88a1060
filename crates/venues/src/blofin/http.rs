//! BloFin REST plumbing: signed and public requests, the `{code, msg, data}` envelope (HTTP 200
//! on errors, with a code at the top level and per item of `data`), rate limits, and the clock.
//!
//! Rate limits (https://docs.blofin.com/index.html, "Rate Limits"): 500 requests per minute and
//! 1500 per 5 minutes per IP (breaching them suspends the IP for 5 minutes and an hour, so we stay
//! well inside), and 30 trading requests per 10 s per user. BloFin sends no usage headers; a 429
//! pauses the client for `Retry-After` (or a second).
//!
//! Clock: BloFin has no server-time endpoint, so the offset is read from the HTTP `Date`
//! header (whole seconds, so ±0.5 s — well inside the 60 s window). It is measured at connect
//! and again from the very reply that refuses a timestamp (152405), which costs no request.

use std::time::Duration;

use serde_json::Value;

use super::VENUE;
use super::auth::{Nonces, sign_request};
use super::codes;
use crate::http::classify::status_error;
use crate::http::envelope::data_field;
use crate::http::{Method, Query, RawResponse, Request, Transport, VenueClock};
use crate::ratelimit::{RateLimits, Scope};
use crate::{Credentials, VenueError, VenueErrorKind};

/// Budget names, one per documented limit.
pub mod scope {
    pub const IP: &str = "ip";
    pub const IP_5M: &str = "ip5m";
    pub const TRADE: &str = "trade";
    /// Account reads: only the IP budgets apply.
    pub const ACCOUNT: &str = "account";
    /// Public market data: only the IP budgets apply.
    pub const PUBLIC: &str = "public";
}

fn scopes() -> Vec<Scope> {
    vec![
        Scope::new(scope::IP, 500, Duration::from_secs(60)),
        Scope::new(scope::IP_5M, 1500, Duration::from_secs(300)),
        Scope::new(scope::TRADE, 30, Duration::from_secs(10)),
    ]
}

/// One BloFin account's REST client.
#[derive(Debug)]
pub struct BlofinHttp {
    transport: Transport,
    credentials: Option<Credentials>,
    nonces: Nonces,
    pub clock: VenueClock,
    pub limits: RateLimits,
}

/// A code as text, whether BloFin sent it as a string or a number.
fn code_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn is_ok_code(code: &str) -> bool {
    code == "0"
}

/// The first item of `data` that carries a non-zero `code`: `(code, msg)`.
fn failed_item(data: &Value) -> Option<(String, String)> {
    data.as_array()?.iter().find_map(|item| {
        let code = code_text(item.get("code"));
        (!code.is_empty() && !is_ok_code(&code)).then(|| {
            let msg = item
                .get("msg")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            (code, msg)
        })
    })
}

/// Checks a BloFin envelope: `Ok(data)` only when the top-level code **and** every item's code
/// say success. A failed item's code is more precise than the top-level "1" (all failed), so
/// it wins. A successful read without `data` is an error ([`data_field`]).
pub fn open_envelope(body: &[u8], method: Method, path: &str) -> Result<Value, VenueError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| not_an_envelope(path, body))?;
    let Some(obj) = v.as_object() else {
        return Err(not_an_envelope(path, body));
    };
    let code = code_text(obj.get("code"));
    if code.is_empty() {
        return Err(not_an_envelope(path, body));
    }
    let msg = obj.get("msg").and_then(Value::as_str).unwrap_or_default();
    let data = obj.get("data").cloned();
    if let Some((item_code, item_msg)) = data.as_ref().and_then(failed_item) {
        return Err(codes::error(&item_code, &item_msg, path));
    }
    if !is_ok_code(&code) {
        return Err(codes::error(&code, msg, path));
    }
    data_field(VENUE, method, path, data)
}

fn not_an_envelope(path: &str, body: &[u8]) -> VenueError {
    let text: String = String::from_utf8_lossy(body).chars().take(300).collect();
    VenueError::new(
        VENUE,
        VenueErrorKind::Internal,
        format!("{path}: reply is not a BloFin envelope: {text}"),
    )
}

/// Opens a batch reply: its per-order list, whatever each entry says (the caller reads every
/// entry's own `code`), when the top-level code is success or a per-order outcome ("1": all
/// failed, "2": some failed); any other top-level code refuses the whole request.
pub fn open_items(body: &[u8], method: Method, path: &str) -> Result<Value, VenueError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| not_an_envelope(path, body))?;
    let Some(obj) = v.as_object() else {
        return Err(not_an_envelope(path, body));
    };
    let code = code_text(obj.get("code"));
    let data = obj.get("data").cloned();
    let listed = data.as_ref().is_some_and(Value::is_array);
    if code.is_empty() {
        return Err(not_an_envelope(path, body));
    }
    if !(is_ok_code(&code) || (listed && matches!(code.as_str(), "1" | "2"))) {
        let msg = obj.get("msg").and_then(Value::as_str).unwrap_or_default();
        return Err(codes::error(&code, msg, path));
    }
    data_field(VENUE, method, path, data)
}

/// The venue time a reply's `Date` header states, epoch ms (mid-second: the header truncates).
fn date_ms(resp: &RawResponse) -> Option<i64> {
    let date = chrono::DateTime::parse_from_rfc2822(resp.header("date")?.trim()).ok()?;
    Some(date.timestamp_millis() + 500)
}

impl BlofinHttp {
    pub fn new(
        transport: Transport,
        credentials: Option<Credentials>,
        clock: VenueClock,
        max_wait: Duration,
    ) -> Self {
        Self {
            transport,
            credentials,
            nonces: Nonces::random(),
            clock,
            limits: RateLimits::new(VENUE, &scopes(), max_wait),
        }
    }

    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// A fresh nonce (the stream's login takes one too).
    pub fn nonce(&self) -> String {
        self.nonces.next()
    }

    /// Measures the offset to BloFin's clock from the `Date` of a small public request.
    pub async fn sync_time(&self) -> Result<(), VenueError> {
        let q = Query::new().with("instId", "BTC-USDT");
        let sent = self.clock.local_ms();
        let resp = self
            .send(
                Method::Get,
                "/api/v1/market/tickers",
                &q,
                None,
                scope::PUBLIC,
                false,
            )
            .await?;
        let received = self.clock.local_ms();
        match date_ms(&resp) {
            Some(server) => self.clock.observe(server, sent, received),
            None => tracing::warn!(
                venue = VENUE,
                "no Date header; signing with the local clock"
            ),
        }
        Ok(())
    }

    /// A public GET: the `data` value.
    pub async fn public_get(&self, path: &str, query: &Query) -> Result<Value, VenueError> {
        self.request(Method::Get, path, query, None, scope::PUBLIC, false)
            .await
    }

    /// A signed GET: the `data` value.
    pub async fn get(
        &self,
        path: &str,
        query: &Query,
        scope: &'static str,
    ) -> Result<Value, VenueError> {
        self.request(Method::Get, path, query, None, scope, true)
            .await
    }

    /// A signed POST of a JSON body: the `data` value.
    pub async fn post(
        &self,
        path: &str,
        body: &Value,
        scope: &'static str,
    ) -> Result<Value, VenueError> {
        let text = body.to_string();
        self.request(Method::Post, path, &Query::new(), Some(text), scope, true)
            .await
    }

    /// A signed POST of a batch: the per-order list, each entry still to be read
    /// ([`open_items`]).
    pub async fn post_items(
        &self,
        path: &str,
        body: &Value,
        scope: &'static str,
    ) -> Result<Value, VenueError> {
        let text = body.to_string();
        let sent = Some(text);
        match self
            .call_with(
                Method::Post,
                path,
                &Query::new(),
                sent.clone(),
                scope,
                open_items,
            )
            .await
        {
            Err(e) if codes::is(&e, &[codes::TIMESTAMP_EXPIRED, codes::NONCE_REUSED]) => {
                self.call_with(Method::Post, path, &Query::new(), sent, scope, open_items)
                    .await
            }
            other => other,
        }
    }

    /// Sends, and once more when BloFin refused the timestamp (after re-reading its clock from
    /// that reply) or the nonce: both refusals mean nothing was done.
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
            Err(e) if codes::is(&e, &[codes::TIMESTAMP_EXPIRED, codes::NONCE_REUSED]) => {
                tracing::warn!(venue = VENUE, %path, code = ?e.code, "request refused before acting; re-sending once");
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
        let sent = self.clock.local_ms();
        let resp = self.send(method, path, query, body, scope, signed).await?;
        let received = self.clock.local_ms();
        self.read(&resp, method, path, sent, received, open_envelope)
    }

    /// [`BlofinHttp::call`] of a signed request whose reply `open` reads.
    async fn call_with(
        &self,
        method: Method,
        path: &str,
        query: &Query,
        body: Option<String>,
        scope: &'static str,
        open: fn(&[u8], Method, &str) -> Result<Value, VenueError>,
    ) -> Result<Value, VenueError> {
        let sent = self.clock.local_ms();
        let resp = self.send(method, path, query, body, scope, true).await?;
        let received = self.clock.local_ms();
        self.read(&resp, method, path, sent, received, open)
    }

    /// Reads a reply with `open`; a refused timestamp re-reads the venue's clock from it.
    fn read(
        &self,
        resp: &RawResponse,
        method: Method,
        path: &str,
        sent: i64,
        received: i64,
        open: fn(&[u8], Method, &str) -> Result<Value, VenueError>,
    ) -> Result<Value, VenueError> {
        let data = open(&resp.body, method, path);
        if let Err(e) = &data
            && codes::is(e, &[codes::TIMESTAMP_EXPIRED])
            && let Some(server) = date_ms(resp)
        {
            self.clock.observe(server, sent, received);
            tracing::warn!(
                venue = VENUE,
                offset_ms = self.clock.offset_ms(),
                "timestamp refused; clock offset re-read from the reply"
            );
        }
        data
    }

    /// Signs and sends one request; `Ok` is an HTTP 200 whose envelope is still to be read.
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &Query,
        body: Option<String>,
        scope: &'static str,
        signed: bool,
    ) -> Result<RawResponse, VenueError> {
        self.limits
            .acquire(&[(scope::IP, 1), (scope::IP_5M, 1), (scope, 1)])
            .await?;
        let mut headers = Vec::new();
        if signed {
            let creds = self.credentials.as_ref().ok_or_else(no_keys)?;
            let passphrase = creds.passphrase().ok_or_else(no_passphrase)?;
            let ts = self.clock.venue_ms();
            let nonce = self.nonces.next();
            let path_and_query = if query.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", query.as_str())
            };
            let method_text = match method {
                Method::Get => "GET",
                Method::Post => "POST",
                Method::Put => "PUT",
                Method::Delete => "DELETE",
            };
            let sign = sign_request(
                creds.secret(),
                &path_and_query,
                method_text,
                ts,
                &nonce,
                body.as_deref().unwrap_or_default(),
            );
            headers.push(("ACCESS-KEY", creds.key().to_string()));
            headers.push(("ACCESS-SIGN", sign));
            headers.push(("ACCESS-TIMESTAMP", ts.to_string()));
            headers.push(("ACCESS-NONCE", nonce));
            headers.push(("ACCESS-PASSPHRASE", passphrase.to_string()));
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
        Ok(resp)
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

fn no_passphrase() -> VenueError {
    VenueError::new(
        VENUE,
        VenueErrorKind::Auth,
        "BloFin keys need a passphrase, and none is configured",
    )
    .with_code("no_passphrase")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(body: &str) -> Option<String> {
        open_envelope(body.as_bytes(), Method::Get, "/p")
            .err()
            .and_then(|e| e.code)
    }

    #[test]
    fn http_200_errors_are_found_at_the_top_and_per_item() {
        assert_eq!(
            code_of(r#"{"code":"0","msg":"","data":[{"orderId":"1","code":"0","msg":""}]}"#),
            None
        );
        // Top-level refusal.
        assert_eq!(
            code_of(r#"{"code":"152409","msg":"Invalid signature","data":null}"#).as_deref(),
            Some("152409")
        );
        // All failed: the item's code is the precise one.
        assert_eq!(
            code_of(
                r#"{"code":"1","msg":"All operations failed","data":[{"orderId":null,"clientOrderId":"c1","code":"102022","msg":"no position"}]}"#
            )
            .as_deref(),
            Some("102022")
        );
        // Top-level success with a failed item is still a failure.
        assert_eq!(
            code_of(
                r#"{"code":"0","msg":"","data":[{"orderId":null,"clientOrderId":"c1","code":"103003","msg":"Insufficient USDT margin"}]}"#
            )
            .as_deref(),
            Some("103003")
        );
        // Numeric codes are read too.
        assert_eq!(
            code_of(r#"{"code":152014,"msg":"no such instrument"}"#).as_deref(),
            Some("152014")
        );
        let e = open_envelope(b"<html>blocked</html>", Method::Get, "/p").err();
        assert_eq!(e.map(|e| e.kind), Some(VenueErrorKind::Internal));
    }

    #[test]
    fn a_successful_read_without_data_is_refused_and_a_write_passes_null() {
        assert_eq!(
            code_of(r#"{"code":"0","msg":""}"#).as_deref(),
            Some(crate::http::envelope::MISSING_DATA)
        );
        let w = open_envelope(br#"{"code":"0","msg":""}"#, Method::Post, "/p");
        assert_eq!(w.ok(), Some(Value::Null));
    }

    #[test]
    fn dates_are_read_mid_second() {
        use bytes::Bytes;
        use reqwest::header::{HeaderMap, HeaderValue};
        let mut headers = HeaderMap::new();
        headers.insert(
            "date",
            HeaderValue::from_static("Thu, 01 Jan 1970 00:00:10 GMT"),
        );
        let resp = RawResponse {
            status: 200,
            headers,
            body: Bytes::new(),
        };
        assert_eq!(date_ms(&resp), Some(10_500));
    }
}
