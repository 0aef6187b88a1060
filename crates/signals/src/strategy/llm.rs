//! An OpenAI-compatible chat-completions client (plain `reqwest`): base URL, model and key from
//! configuration. One request per decision, bounded by a timeout; every failure is a typed
//! [`LlmError`] the agent answers with the fallback rules. The key is sent as a bearer token and
//! appears in no error, log or `Debug` output.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

/// Client configuration.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// E.g. `https://api.openai.com/v1`; `/chat/completions` is appended.
    pub base_url: String,
    pub model: String,
    /// `None` sends no `Authorization` header (local servers).
    pub api_key: Option<SecretString>,
    /// Whole-request deadline; a slower answer is a [`LlmError::Timeout`].
    pub timeout: Duration,
    /// Omitted from the request when `None` (reasoning models refuse it).
    pub temperature: Option<f64>,
    pub max_tokens: u32,
}

/// Why no reply text came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    #[error("LLM unreachable: {0}")]
    Unreachable(String),
    #[error("LLM did not answer within {0:?}")]
    Timeout(Duration),
    #[error("LLM answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("LLM refused: {0}")]
    Refused(String),
    #[error("LLM reply has no usable content: {0}")]
    Malformed(String),
    #[error("LLM client: {0}")]
    Config(String),
}

/// The client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LlmClient {
    http: reqwest::Client,
    url: String,
    config: LlmConfig,
}

/// Error bodies are kept short in errors and the audit trail.
const BODY_MAX: usize = 300;

fn short(s: &str) -> String {
    let mut out: String = s.chars().take(BODY_MAX).collect();
    if s.chars().count() > BODY_MAX {
        out.push('…');
    }
    out
}

impl LlmClient {
    pub fn new(config: LlmConfig) -> Result<Self, LlmError> {
        let base = config.base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(LlmError::Config(format!(
                "base_url {base:?} must start with http:// or https://"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| LlmError::Config(e.to_string()))?;
        Ok(Self {
            http,
            url: format!("{base}/chat/completions"),
            config,
        })
    }

    pub fn model(&self) -> &str {
        &self.config.model
    }

    /// Sends one chat completion and returns the assistant's text.
    pub async fn complete(&self, system: &str, user: &str) -> Result<String, LlmError> {
        let mut body = json!({
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "max_tokens": self.config.max_tokens,
            "response_format": {"type": "json_object"},
        });
        if let (Some(t), Some(obj)) = (self.config.temperature, body.as_object_mut()) {
            obj.insert("temperature".into(), json!(t));
        }
        let mut req = self.http.post(&self.url).json(&body);
        if let Some(key) = &self.config.api_key {
            req = req.bearer_auth(key.expose_secret());
        }
        let timeout = self.config.timeout;
        let send = async {
            let resp = req.send().await.map_err(|e| self.transport(e))?;
            let status = resp.status();
            let text = resp.text().await.map_err(|e| self.transport(e))?;
            Ok::<_, LlmError>((status, text))
        };
        // reqwest's own timeout covers the request; this one also bounds a trickling body.
        let (status, text) = tokio::time::timeout(timeout, send)
            .await
            .map_err(|_| LlmError::Timeout(timeout))??;
        if !status.is_success() {
            return Err(LlmError::Status {
                status: status.as_u16(),
                body: short(&text),
            });
        }
        content_of(&text)
    }

    fn transport(&self, e: reqwest::Error) -> LlmError {
        if e.is_timeout() {
            LlmError::Timeout(self.config.timeout)
        } else {
            // Without the URL: it is configuration, and keeps errors short.
            LlmError::Unreachable(e.without_url().to_string())
        }
    }
}

/// The assistant text of a chat-completions response body; refusals (the `refusal` field, a
/// `content_filter` stop) are [`LlmError::Refused`].
pub fn content_of(body: &str) -> Result<String, LlmError> {
    let v: Value = serde_json::from_str(body)
        .map_err(|e| LlmError::Malformed(format!("body is not JSON: {e}")))?;
    let choice = v
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .ok_or_else(|| LlmError::Malformed("no choices".into()))?;
    let message = choice
        .get("message")
        .ok_or_else(|| LlmError::Malformed("no message".into()))?;
    if let Some(r) = message.get("refusal").and_then(Value::as_str) {
        return Err(LlmError::Refused(short(r)));
    }
    if choice.get("finish_reason").and_then(Value::as_str) == Some("content_filter") {
        return Err(LlmError::Refused("content filter".into()));
    }
    match message.get("content").and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() => Ok(s.to_string()),
        _ => Err(LlmError::Malformed("empty content".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_refusal_and_malformed_bodies() {
        let ok = r#"{"choices":[{"message":{"role":"assistant","content":"{}"},"finish_reason":"stop"}]}"#;
        assert_eq!(content_of(ok).unwrap(), "{}");
        let refused =
            r#"{"choices":[{"message":{"content":null,"refusal":"I can't help with trading"}}]}"#;
        assert!(matches!(content_of(refused), Err(LlmError::Refused(_))));
        let filtered =
            r#"{"choices":[{"message":{"content":"x"},"finish_reason":"content_filter"}]}"#;
        assert!(matches!(content_of(filtered), Err(LlmError::Refused(_))));
        for bad in [
            "",
            "[]",
            r#"{"choices":[]}"#,
            r#"{"choices":[{"message":{"content":" "}}]}"#,
        ] {
            assert!(
                matches!(content_of(bad), Err(LlmError::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_base_url_is_a_config_error() {
        let c = LlmConfig {
            base_url: "ftp://x".into(),
            model: "m".into(),
            api_key: None,
            timeout: Duration::from_secs(1),
            temperature: None,
            max_tokens: 100,
        };
        assert!(matches!(LlmClient::new(c), Err(LlmError::Config(_))));
    }
}
