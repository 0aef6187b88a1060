//! HTTP client for a PTN/Vanta validator's REST outputs
//! (https://github.com/taoshidev/proprietary-trading-network).
//!
//! - Auth headers: `Authorization: Bearer <api_key>` for a validator's own server, and/or
//!   `x-taoshi-consumer-request-key: <key>` for the Request Network proxy. Both are marked
//!   sensitive so they never appear in debug output; error messages carry the URL without its
//!   query or user info.
//! - Bodies: the big endpoints send pre-gzipped bytes with `Content-Encoding: gzip`; reqwest's
//!   `gzip` feature inflates those, and a gzip body sent without the header is detected by its
//!   magic bytes and inflated too. The body is read in chunks up to `max_body_bytes`.
//! - Parsing tens of MB takes a while, so it runs on the blocking pool, not on the async worker.
//! - sirouk/trade-engine's GET-with-JSON-body `{"api_key": …}` is not supported: the current REST
//!   server refuses keys outside the header.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::parse::{Sn8ParseError, parse_with_limit};
use super::types::{EliminationsDoc, PositionsDoc, StatisticsDoc};

const REQUEST_KEY_HEADER: &str = "x-taoshi-consumer-request-key";

/// Where and how to poll.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sn8ClientConfig {
    /// Full URL of `/miner-positions` (e.g. `http://validator:48888/miner-positions?tier=100`).
    pub positions_url: String,
    /// Full URL of `/statistics?checkpoints=false`; needed for `scoring = "ptn"`.
    #[serde(default)]
    pub statistics_url: Option<String>,
    /// Full URL of `/eliminations`.
    #[serde(default)]
    pub eliminations_url: Option<String>,
    /// Sent as `Authorization: Bearer …`.
    #[serde(default)]
    pub api_key: Option<SecretString>,
    /// Sent as `x-taoshi-consumer-request-key: …` (Request Network).
    #[serde(default)]
    pub request_key: Option<SecretString>,
    /// Whole-request timeout. Payloads are tens of MB, so this is well above sirouk/trade-engine's
    /// 3 s.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// How often to poll; the validator rebuilds its outputs about every 15 s.
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// Largest body accepted, after decompression.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
}

fn default_timeout() -> u64 {
    30
}
fn default_interval() -> u64 {
    15
}
fn default_max_body() -> usize {
    super::parse::DEFAULT_MAX_PAYLOAD_BYTES
}

impl Sn8ClientConfig {
    pub fn new(positions_url: impl Into<String>) -> Self {
        Self {
            positions_url: positions_url.into(),
            statistics_url: None,
            eliminations_url: None,
            api_key: None,
            request_key: None,
            timeout_secs: default_timeout(),
            interval_secs: default_interval(),
            max_body_bytes: default_max_body(),
        }
    }
}

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Sn8Error {
    #[error("SN8 client configuration: {0}")]
    Config(String),
    #[error("{url}: timed out")]
    Timeout { url: String },
    #[error("{url}: HTTP {status}: {message}")]
    Http {
        url: String,
        status: u16,
        message: String,
    },
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    #[error("{url}: body exceeds {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("{url}: {source}")]
    Parse {
        url: String,
        #[source]
        source: Sn8ParseError,
    },
    #[error("parser task failed: {0}")]
    Task(String),
}

/// The validator's outputs from one poll.
#[derive(Debug, Clone, PartialEq)]
pub struct Sn8Payload {
    pub positions: PositionsDoc,
    pub statistics: Option<StatisticsDoc>,
    pub eliminations: Option<EliminationsDoc>,
}

/// A polling client.
#[derive(Debug, Clone)]
pub struct Sn8Client {
    http: reqwest::Client,
    cfg: Sn8ClientConfig,
}

/// The URL without query, fragment or credentials, for messages.
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            u.set_query(None);
            u.set_fragment(None);
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => "<invalid url>".to_string(),
    }
}

fn secret_header(value: &str, what: &str) -> Result<HeaderValue, Sn8Error> {
    let mut v = HeaderValue::from_str(value).map_err(|_| {
        Sn8Error::Config(format!(
            "{what} contains characters not allowed in a header"
        ))
    })?;
    v.set_sensitive(true);
    Ok(v)
}

impl Sn8Client {
    pub fn new(cfg: Sn8ClientConfig) -> Result<Self, Sn8Error> {
        for url in [
            Some(&cfg.positions_url),
            cfg.statistics_url.as_ref(),
            cfg.eliminations_url.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            let u = reqwest::Url::parse(url)
                .map_err(|e| Sn8Error::Config(format!("{}: {e}", redact_url(url))))?;
            if !matches!(u.scheme(), "http" | "https") {
                return Err(Sn8Error::Config(format!(
                    "{}: scheme must be http or https",
                    redact_url(url)
                )));
            }
        }
        let mut headers = HeaderMap::new();
        if let Some(k) = &cfg.api_key {
            headers.insert(
                AUTHORIZATION,
                secret_header(&format!("Bearer {}", k.expose_secret()), "api_key")?,
            );
        }
        if let Some(k) = &cfg.request_key {
            headers.insert(
                HeaderName::from_static(REQUEST_KEY_HEADER),
                secret_header(k.expose_secret(), "request_key")?,
            );
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(Duration::from_secs(cfg.timeout_secs.max(1)))
            .connect_timeout(Duration::from_secs(cfg.timeout_secs.clamp(1, 10)))
            .user_agent(concat!("tradeengine/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Sn8Error::Config(e.without_url().to_string()))?;
        Ok(Self { http, cfg })
    }

    pub fn config(&self) -> &Sn8ClientConfig {
        &self.cfg
    }

    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.cfg.interval_secs.max(1))
    }

    /// GETs a URL and returns the (inflated) body, bounded.
    async fn get_bytes(&self, url: &str) -> Result<Vec<u8>, Sn8Error> {
        let shown = redact_url(url);
        let classify = |e: reqwest::Error, shown: &str| {
            if e.is_timeout() {
                Sn8Error::Timeout {
                    url: shown.to_string(),
                }
            } else {
                Sn8Error::Transport {
                    url: shown.to_string(),
                    message: e.without_url().to_string(),
                }
            }
        };
        let mut resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| classify(e, &shown))?;
        let status = resp.status();
        let limit = self.cfg.max_body_bytes;
        if let Some(len) = resp.content_length()
            && status.is_success()
            && usize::try_from(len).map_or(true, |l| l > limit)
        {
            return Err(Sn8Error::TooLarge { url: shown, limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| classify(e, &shown))? {
            if body.len().saturating_add(chunk.len()) > limit {
                return Err(Sn8Error::TooLarge { url: shown, limit });
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            // PTN error bodies are {"error": "..."}; show a short, printable excerpt.
            let text = String::from_utf8_lossy(&body);
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
                .unwrap_or_else(|| text.chars().take(200).collect());
            return Err(Sn8Error::Http {
                url: shown,
                status: status.as_u16(),
                message: message
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect(),
            });
        }
        Ok(body)
    }

    async fn get_doc<T: DeserializeOwned + Send + 'static>(
        &self,
        url: &str,
    ) -> Result<T, Sn8Error> {
        let body = self.get_bytes(url).await?;
        let limit = self.cfg.max_body_bytes;
        let shown = redact_url(url);
        tokio::task::spawn_blocking(move || parse_with_limit::<T>(&body, limit))
            .await
            .map_err(|e| Sn8Error::Task(e.to_string()))?
            .map_err(|source| Sn8Error::Parse { url: shown, source })
    }

    pub async fn fetch_positions(&self) -> Result<PositionsDoc, Sn8Error> {
        self.get_doc(&self.cfg.positions_url).await
    }

    pub async fn fetch_statistics(&self) -> Result<StatisticsDoc, Sn8Error> {
        let url = self
            .cfg
            .statistics_url
            .as_deref()
            .ok_or_else(|| Sn8Error::Config("statistics_url is not configured".into()))?;
        self.get_doc(url).await
    }

    pub async fn fetch_eliminations(&self) -> Result<EliminationsDoc, Sn8Error> {
        let url = self
            .cfg
            .eliminations_url
            .as_deref()
            .ok_or_else(|| Sn8Error::Config("eliminations_url is not configured".into()))?;
        self.get_doc(url).await
    }

    /// Positions, plus statistics and eliminations when `with_validator_view` (PTN scoring)
    /// or when configured. The three requests run concurrently.
    pub async fn fetch(&self, with_validator_view: bool) -> Result<Sn8Payload, Sn8Error> {
        let want_stats = with_validator_view || self.cfg.statistics_url.is_some();
        let want_elims = self.cfg.eliminations_url.is_some();
        let (positions, statistics, eliminations) = tokio::join!(
            self.fetch_positions(),
            async {
                if want_stats {
                    self.fetch_statistics().await.map(Some)
                } else {
                    Ok(None)
                }
            },
            async {
                if want_elims {
                    self.fetch_eliminations().await.map(Some)
                } else {
                    Ok(None)
                }
            }
        );
        Ok(Sn8Payload {
            positions: positions?,
            statistics: statistics?,
            eliminations: eliminations?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted_and_validated() {
        assert_eq!(
            redact_url("https://user:pw@host:48888/miner-positions?tier=100&key=x#f"),
            "https://host:48888/miner-positions"
        );
        assert_eq!(redact_url("not a url"), "<invalid url>");
        assert!(matches!(
            Sn8Client::new(Sn8ClientConfig::new("ftp://x/y")),
            Err(Sn8Error::Config(_))
        ));
        let mut c = Sn8ClientConfig::new("http://127.0.0.1:1/miner-positions");
        c.api_key = Some(SecretString::from("bad\nkey"));
        let e = Sn8Client::new(c).unwrap_err();
        assert!(!e.to_string().contains("bad"), "{e}");
    }

    #[test]
    fn debug_output_hides_keys() {
        let mut c = Sn8ClientConfig::new("http://127.0.0.1:1/miner-positions");
        c.api_key = Some(SecretString::from("topsecret-api"));
        c.request_key = Some(SecretString::from("req_topsecret"));
        let client = Sn8Client::new(c).unwrap();
        let dbg = format!("{client:?}");
        assert!(!dbg.contains("topsecret"), "{dbg}");
    }
}
