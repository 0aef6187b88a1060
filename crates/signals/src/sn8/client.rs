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

use super::config::Tier;
use super::parse::{Sn8ParseError, parse_with_limit};
use super::trade_pairs::TradePairsDoc;
use super::types::{EliminationsDoc, PositionsDoc, StatisticsDoc};

const REQUEST_KEY_HEADER: &str = "x-taoshi-consumer-request-key";

/// Where and how to poll.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sn8ClientConfig {
    /// Full URL of `/miner-positions` (e.g. `http://validator:48888/miner-positions`); `?tier=`
    /// is always set from `tier`, replacing any tier the URL carries.
    pub positions_url: String,
    /// The key's data tier (0, 30, 50, 100).
    #[serde(default)]
    pub tier: Tier,
    /// Full URL of the public `/trade-pairs`; by default the positions URL's origin with
    /// `/trade-pairs` (when that URL's path ends in `/miner-positions`).
    #[serde(default)]
    pub trade_pairs_url: Option<String>,
    /// The validator's WebSocket stream (`ws://validator:8765`); used when `tier` is 100.
    #[serde(default)]
    pub stream_url: Option<String>,
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
            tier: Tier::FULL,
            trade_pairs_url: None,
            stream_url: None,
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
    /// `/trade-pairs`, when it was asked for; its failure does not fail the poll (the source
    /// keeps the pairs' last known rules).
    pub trade_pairs: Option<Result<TradePairsDoc, Sn8Error>>,
}

impl Sn8ClientConfig {
    /// The positions URL with `?tier=` set to the configured tier.
    pub fn positions_url_with_tier(&self) -> Result<String, Sn8Error> {
        let mut u = reqwest::Url::parse(&self.positions_url)
            .map_err(|e| Sn8Error::Config(format!("{}: {e}", redact_url(&self.positions_url))))?;
        let kept: Vec<(String, String)> = u
            .query_pairs()
            .filter(|(k, _)| k != "tier")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        u.query_pairs_mut()
            .clear()
            .extend_pairs(kept)
            .append_pair("tier", &self.tier.value().to_string());
        Ok(u.to_string())
    }

    /// The `/trade-pairs` URL: the configured one, else derived from the positions URL.
    pub fn trade_pairs_url(&self) -> Option<String> {
        if let Some(u) = &self.trade_pairs_url {
            return Some(u.clone());
        }
        let mut u = reqwest::Url::parse(&self.positions_url).ok()?;
        let path = u.path().trim_end_matches('/').to_string();
        let base = path.strip_suffix("/miner-positions")?;
        u.set_path(&format!("{base}/trade-pairs"));
        u.set_query(None);
        Some(u.to_string())
    }

    /// The stream URL when the tier allows the stream.
    pub fn usable_stream_url(&self) -> Option<&str> {
        self.stream_url
            .as_deref()
            .filter(|_| self.tier.allows_stream())
    }
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
            cfg.trade_pairs_url.as_ref(),
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
        if let Some(url) = &cfg.stream_url {
            let u = reqwest::Url::parse(url)
                .map_err(|e| Sn8Error::Config(format!("{}: {e}", redact_url(url))))?;
            if !matches!(u.scheme(), "ws" | "wss") {
                return Err(Sn8Error::Config(format!(
                    "{}: stream scheme must be ws or wss",
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
        let url = self.cfg.positions_url_with_tier()?;
        self.get_doc(&url).await
    }

    /// `/trade-pairs`, when a URL is configured or derivable.
    pub async fn fetch_trade_pairs(&self) -> Option<Result<TradePairsDoc, Sn8Error>> {
        let url = self.cfg.trade_pairs_url()?;
        Some(self.get_doc(&url).await)
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
    /// or when configured, and `/trade-pairs`. The requests run concurrently.
    pub async fn fetch(&self, with_validator_view: bool) -> Result<Sn8Payload, Sn8Error> {
        let (positions, side) =
            tokio::join!(self.fetch_positions(), self.fetch_side(with_validator_view));
        let (statistics, eliminations, trade_pairs) = side?;
        Ok(Sn8Payload {
            positions: positions?,
            statistics,
            eliminations,
            trade_pairs,
        })
    }

    /// Everything but the positions (what a stream-fed source still polls).
    #[allow(clippy::type_complexity)]
    pub async fn fetch_side(
        &self,
        with_validator_view: bool,
    ) -> Result<
        (
            Option<StatisticsDoc>,
            Option<EliminationsDoc>,
            Option<Result<TradePairsDoc, Sn8Error>>,
        ),
        Sn8Error,
    > {
        let want_stats = with_validator_view || self.cfg.statistics_url.is_some();
        let want_elims = self.cfg.eliminations_url.is_some();
        let (trade_pairs, statistics, eliminations) = tokio::join!(
            self.fetch_trade_pairs(),
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
        Ok((statistics?, eliminations?, trade_pairs))
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
    fn the_tier_is_always_sent_and_trade_pairs_sit_beside_the_positions() {
        let mut c = Sn8ClientConfig::new("http://v:48888/miner-positions?tier=30&x=1");
        assert_eq!(
            c.positions_url_with_tier().unwrap(),
            "http://v:48888/miner-positions?x=1&tier=100"
        );
        c.tier = Tier::new(0).unwrap();
        assert!(c.positions_url_with_tier().unwrap().ends_with("tier=0"));
        assert_eq!(
            c.trade_pairs_url().as_deref(),
            Some("http://v:48888/trade-pairs")
        );
        c.stream_url = Some("ws://v:8765".into());
        assert_eq!(c.usable_stream_url(), None, "tier 0 may not stream");
        c.tier = Tier::FULL;
        assert_eq!(c.usable_stream_url(), Some("ws://v:8765"));
        let other = Sn8ClientConfig::new("http://proxy/sn8/positions");
        assert_eq!(other.trade_pairs_url(), None);
        c.stream_url = Some("http://v:8765".into());
        assert!(matches!(Sn8Client::new(c), Err(Sn8Error::Config(_))));
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
