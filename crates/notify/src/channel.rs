//! Where a message goes: a Telegram chat list or a JSON webhook. A send that may work later
//! (network, 429, 5xx, a wrong token the operator will fix) is an error the
//! [`crate::courier`] retries with back-off; a destination that refuses for good (a chat that
//! blocked the bot, a webhook answering 404) is logged and skipped, so it cannot stall the
//! messages behind it. What failed is said without the URL, which carries the bot token or the
//! webhook's own secret.

use std::collections::BTreeSet;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::config::WebhookFormat;
use crate::event::Event;

/// Why a message did not go out. Never holds a URL or a token.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("request failed: {0}")]
    Http(String),
    #[error("refused with HTTP {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("Bot API refused: {code} {description}")]
    Api { code: i32, description: String },
}

impl SendError {
    /// Whether sending the same message again can never work: a 4xx other than 401 (a token
    /// the operator may fix), 408 and 429. Telegram answers 400 for a chat that does not exist
    /// and 403 for one that blocked the bot.
    pub fn is_permanent(&self) -> bool {
        let code = match self {
            Self::Http(_) => return false,
            Self::Refused { status, .. } => i32::from(*status),
            Self::Api { code, .. } => *code,
        };
        (400..500).contains(&code) && !matches!(code, 401 | 408 | 429)
    }
}

/// One notification channel.
#[async_trait]
pub trait Channel: Send + Sync + std::fmt::Debug {
    /// The channel's name in logs (`telegram`, `webhook`).
    fn name(&self) -> &'static str;
    /// Sends `text`; `event` is the event it says, when it says one (a summary says none).
    async fn send(&self, text: &str, event: Option<&Event>) -> Result<(), SendError>;

    /// Sends `text` to the destinations not in `done`, adding each one that took it or refused
    /// it for good; an error when one is left to try again. The default is one destination
    /// (id 0). A retry therefore never repeats a message to a chat that already has it.
    async fn deliver(
        &self,
        text: &str,
        event: Option<&Event>,
        done: &mut BTreeSet<i64>,
    ) -> Result<(), SendError> {
        if done.contains(&0) {
            return Ok(());
        }
        match self.send(text, event).await {
            Ok(()) => {}
            Err(e) if e.is_permanent() => {
                tracing::error!(channel = self.name(), error = %e, "notification refused for good; dropped");
            }
            Err(e) => return Err(e),
        }
        done.insert(0);
        Ok(())
    }
}

/// A JSON webhook (Slack, Discord or one's own receiver).
pub struct Webhook {
    url: SecretString,
    format: WebhookFormat,
    http: reqwest::Client,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &"[redacted]")
            .field("format", &self.format)
            .finish()
    }
}

impl Webhook {
    pub fn new(url: SecretString, format: WebhookFormat, http: reqwest::Client) -> Self {
        Self { url, format, http }
    }

    /// The body for `text` in this webhook's format.
    pub fn body(&self, text: &str, event: Option<&Event>) -> serde_json::Value {
        match self.format {
            WebhookFormat::Slack => json!({ "text": text }),
            // Discord refuses content over 2000 characters.
            WebhookFormat::Discord => {
                json!({ "content": text.chars().take(2000).collect::<String>() })
            }
            WebhookFormat::Json => json!({
                "kind": event.map(|e| e.kind().as_str()).unwrap_or("summary"),
                "text": text,
                "event": event,
            }),
        }
    }
}

#[async_trait]
impl Channel for Webhook {
    fn name(&self) -> &'static str {
        "webhook"
    }

    async fn send(&self, text: &str, event: Option<&Event>) -> Result<(), SendError> {
        let resp = self
            .http
            .post(self.url.expose_secret())
            .json(&self.body(text, event))
            .send()
            .await
            .map_err(|e| SendError::Http(e.without_url().to_string()))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let body: String = resp
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        Err(SendError::Refused {
            status: status.as_u16(),
            body,
        })
    }
}

/// The HTTP client for a channel: rustls (the workspace's one TLS stack), a 10 s connect
/// timeout and `read_timeout` for a whole request (longer than a Telegram long poll's wait).
pub fn http_client(read_timeout: std::time::Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(read_timeout)
        .build()
        .map_err(|e| e.without_url().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn hook(format: WebhookFormat) -> Webhook {
        Webhook::new(
            SecretString::from("https://discord.com/api/webhooks/1/SECRET-PART".to_string()),
            format,
            reqwest::Client::new(),
        )
    }

    #[test]
    fn each_format_has_its_service_key_and_debug_hides_the_url() {
        let e = Event::SourceFresh {
            source: "sn8".into(),
            at: chrono::Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
        };
        assert_eq!(
            hook(WebhookFormat::Slack).body("hi", Some(&e)),
            json!({"text": "hi"})
        );
        assert_eq!(
            hook(WebhookFormat::Discord).body("hi", None),
            json!({"content": "hi"})
        );
        let long = "x".repeat(2500);
        assert_eq!(
            hook(WebhookFormat::Discord).body(&long, None)["content"]
                .as_str()
                .unwrap()
                .len(),
            2000
        );
        let j = hook(WebhookFormat::Json).body("hi", Some(&e));
        assert_eq!(j["kind"], "source_stale");
        assert_eq!(j["event"]["event"], "source_fresh");
        assert_eq!(j["event"]["source"], "sn8");
        assert_eq!(
            hook(WebhookFormat::Json).body("sum", None)["kind"],
            "summary"
        );
        assert!(!format!("{:?}", hook(WebhookFormat::Json)).contains("SECRET-PART"));
    }
}
