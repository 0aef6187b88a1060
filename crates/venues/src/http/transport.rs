//! Sending one HTTP request and classifying what went wrong on the wire.
//!
//! The classification follows what the venue may have done (ARCHITECTURE.md, "Stored
//! before sent, settled by client id"):
//! - the connection could not be made → nothing reached the venue: **retryable**;
//! - the request went out and no complete answer came back (timeout, dropped connection) →
//!   a read is simply **retryable**, but a write (order, cancel, leverage) is **ambiguous**: it
//!   may have been executed, so the caller settles it by querying the client id first.
//!
//! Error messages never carry the URL: a signed query holds the signature and timestamp, and
//! nothing request-specific belongs in a log line.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;

use crate::{VenueError, VenueErrorKind};

/// A complete HTTP answer, whatever its status.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl RawResponse {
    /// The body as text for error messages, cut to a readable length.
    pub fn body_snippet(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        text.chars().take(300).collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// HTTP method of a venue request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    /// Whether the request changes something at the venue (and so may be ambiguous).
    pub fn is_write(self) -> bool {
        !matches!(self, Self::Get)
    }

    fn to_reqwest(self) -> reqwest::Method {
        match self {
            Self::Get => reqwest::Method::GET,
            Self::Post => reqwest::Method::POST,
            Self::Put => reqwest::Method::PUT,
            Self::Delete => reqwest::Method::DELETE,
        }
    }
}

/// One request, already signed: the query and body are sent byte for byte.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: Method,
    pub path: &'a str,
    /// Without the leading `?`; empty for none.
    pub query: &'a str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<(String, &'static str)>,
}

/// A pooled HTTP client bound to one venue base URL.
#[derive(Debug, Clone)]
pub struct Transport {
    venue: &'static str,
    base_url: String,
    client: reqwest::Client,
    timeout: Duration,
}

impl Transport {
    pub fn new(venue: &'static str, base_url: &str, timeout: Duration) -> Result<Self, VenueError> {
        let base_url = base_url.trim_end_matches('/').to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(VenueError::new(
                venue,
                VenueErrorKind::Internal,
                format!("base URL {base_url:?} must start with http:// or https://"),
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(50))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| {
                VenueError::new(
                    venue,
                    VenueErrorKind::Internal,
                    format!("cannot build the HTTP client: {}", e.without_url()),
                )
            })?;
        Ok(Self {
            venue,
            base_url,
            client,
            timeout,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn venue(&self) -> &'static str {
        self.venue
    }

    /// Sends `req` and reads the whole answer.
    pub async fn send(&self, req: Request<'_>) -> Result<RawResponse, VenueError> {
        let mut url = format!("{}{}", self.base_url, req.path);
        if !req.query.is_empty() {
            url.push('?');
            url.push_str(req.query);
        }
        let mut builder = self.client.request(req.method.to_reqwest(), url);
        for (name, value) in &req.headers {
            builder = builder.header(*name, value);
        }
        if let Some((body, content_type)) = req.body {
            builder = builder.header("Content-Type", content_type).body(body);
        }
        let write = req.method.is_write();
        let response = builder
            .send()
            .await
            .map_err(|e| self.wire_error(&e, write, req.path))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| self.wire_error(&e, write, req.path))?;
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }

    fn wire_error(&self, e: &reqwest::Error, write: bool, path: &str) -> VenueError {
        let detail = strip_url(e);
        if e.is_connect() {
            return VenueError::new(
                self.venue,
                VenueErrorKind::Retryable,
                format!("{path}: cannot connect (nothing was sent): {detail}"),
            )
            .with_code("connect");
        }
        let (code, what) = if e.is_timeout() {
            (
                "timeout",
                format!("no answer within {} ms", self.timeout.as_millis()),
            )
        } else {
            ("connection_dropped", format!("connection lost: {detail}"))
        };
        if write {
            VenueError::new(
                self.venue,
                VenueErrorKind::Ambiguous,
                format!("{path}: {what}; the request may have been executed"),
            )
            .with_code(code)
        } else {
            VenueError::new(
                self.venue,
                VenueErrorKind::Retryable,
                format!("{path}: {what}"),
            )
            .with_code(code)
        }
    }
}

/// The error text without the URL (which may hold a signed query).
fn strip_url(e: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    // reqwest's own Display starts with the URL; the causes below it do not.
    while let Some(s) = source {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&s.to_string());
        source = s.source();
    }
    if text.is_empty() {
        "transport error".to_string()
    } else {
        text
    }
}
