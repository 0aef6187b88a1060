//! `[notifications.telegram]` and `[notifications.webhook]`: where notifications go, which kinds,
//! how often, and who may command the engine from Telegram.
//!
//! Unknown keys are reported by the configuration loader with their path, like any other.
//! Neither table holds a secret: the bot token is read from the variable `bot_token_env` names
//! or from the encrypted credentials file (`credentials = "file:PATH"`, entry `telegram`), and a
//! webhook URL (Discord's and Slack's carry their own token) from the variable `url_env` names.

use serde::{Deserialize, Serialize};

use crate::event::NoticeKind;

/// The bot token's variable when `bot_token_env` is not given.
pub const DEFAULT_BOT_TOKEN_ENV: &str = "TRADEENGINE_TELEGRAM_BOT_TOKEN";
/// The webhook URL's variable when `url_env` is not given.
pub const DEFAULT_WEBHOOK_URL_ENV: &str = "TRADEENGINE_NOTIFY_WEBHOOK_URL";
/// The public Bot API; tests point `api_url` at a local stand-in.
pub const TELEGRAM_API_URL: &str = "https://api.telegram.org";

/// `[notifications]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotificationsConfig {
    pub telegram: Option<TelegramConfig>,
    pub webhook: Option<WebhookConfig>,
}

/// `[notifications.telegram]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TelegramConfig {
    /// Variable holding the bot token (default [`DEFAULT_BOT_TOKEN_ENV`]).
    pub bot_token_env: Option<String>,
    /// `file:PATH`: the token is the `api_key` of the encrypted credentials file's entry
    /// `telegram` (`tradeengine credentials set --account telegram`). Wins over the variable.
    pub credentials: Option<String>,
    /// Chats that get notifications, and the only chats whose commands are obeyed.
    pub chat_ids: Vec<i64>,
    /// Whether the bot answers commands at all (`/status`, `/kill`, …).
    pub commands: bool,
    /// How long a control command waits for `/confirm`.
    pub confirm_secs: u64,
    /// The Bot API's base URL (a local stand-in in tests, a self-hosted Bot API server).
    pub api_url: String,
    /// Long-poll wait of each `getUpdates`, in seconds.
    pub poll_timeout_secs: u32,
    /// Messages per minute at most (kill switch and risk state changes are never held back).
    /// Telegram allows a bot about 20 a minute in one group
    /// (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this).
    pub per_minute: u32,
    /// Refused signals are summarised once per this many seconds, never sent one by one.
    pub refusal_summary_secs: u64,
    /// Each kind on or off.
    pub notify: KindSwitches,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        Self {
            bot_token_env: None,
            credentials: None,
            chat_ids: Vec::new(),
            commands: true,
            confirm_secs: 60,
            api_url: TELEGRAM_API_URL.to_string(),
            poll_timeout_secs: 30,
            per_minute: 20,
            refusal_summary_secs: DEFAULT_REFUSAL_SUMMARY_SECS,
            notify: KindSwitches::default(),
        }
    }
}

impl TelegramConfig {
    pub fn token_var(&self) -> &str {
        self.bot_token_env
            .as_deref()
            .filter(|v| !v.is_empty())
            .unwrap_or(DEFAULT_BOT_TOKEN_ENV)
    }

    pub fn limits(&self) -> ChannelLimits {
        ChannelLimits {
            per_minute: self.per_minute,
            refusal_summary_secs: self.refusal_summary_secs,
            notify: self.notify.clone(),
        }
    }
}

/// How the webhook's JSON body is shaped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// `{"kind", "text", "event"}`: for one's own receiver.
    #[default]
    Json,
    /// `{"text"}`: Slack incoming webhooks (https://api.slack.com/messaging/webhooks).
    Slack,
    /// `{"content"}`: Discord webhooks (https://discord.com/developers/docs/resources/webhook#execute-webhook).
    Discord,
}

/// `[notifications.webhook]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookConfig {
    /// Variable holding the URL (default [`DEFAULT_WEBHOOK_URL_ENV`]).
    pub url_env: Option<String>,
    pub format: WebhookFormat,
    /// Messages per minute at most (kill switch and risk state changes are never held back).
    pub per_minute: u32,
    /// Refused signals are summarised once per this many seconds, never sent one by one.
    pub refusal_summary_secs: u64,
    /// Each kind on or off.
    pub notify: KindSwitches,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            url_env: None,
            format: WebhookFormat::Json,
            per_minute: 30,
            refusal_summary_secs: DEFAULT_REFUSAL_SUMMARY_SECS,
            notify: KindSwitches::default(),
        }
    }
}

impl WebhookConfig {
    pub fn url_var(&self) -> &str {
        self.url_env
            .as_deref()
            .filter(|v| !v.is_empty())
            .unwrap_or(DEFAULT_WEBHOOK_URL_ENV)
    }

    pub fn limits(&self) -> ChannelLimits {
        ChannelLimits {
            per_minute: self.per_minute,
            refusal_summary_secs: self.refusal_summary_secs,
            notify: self.notify.clone(),
        }
    }
}

/// How often refused signals are summarised unless a channel says otherwise.
pub const DEFAULT_REFUSAL_SUMMARY_SECS: u64 = 300;

/// What one channel says and how often (both channel tables carry these keys).
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelLimits {
    pub per_minute: u32,
    pub refusal_summary_secs: u64,
    pub notify: KindSwitches,
}

/// `notify = { fill = true, signal_refused = false, … }`: every kind on unless switched off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KindSwitches {
    pub fill: bool,
    pub signal_refused: bool,
    pub source_stale: bool,
    pub risk_state: bool,
    pub kill_switch: bool,
    pub reconcile_failed: bool,
    pub engine: bool,
}

impl Default for KindSwitches {
    fn default() -> Self {
        Self {
            fill: true,
            signal_refused: true,
            source_stale: true,
            risk_state: true,
            kill_switch: true,
            reconcile_failed: true,
            engine: true,
        }
    }
}

impl KindSwitches {
    pub fn allows(&self, kind: NoticeKind) -> bool {
        match kind {
            NoticeKind::Fill => self.fill,
            NoticeKind::SignalRefused => self.signal_refused,
            NoticeKind::SourceStale => self.source_stale,
            NoticeKind::RiskState => self.risk_state,
            NoticeKind::KillSwitch => self.kill_switch,
            NoticeKind::ReconcileFailed => self.reconcile_failed,
            NoticeKind::Engine => self.engine,
        }
    }
}

/// A problem in `[notifications]`: the key as written and why.
pub type Problem = (String, String);

/// Checks `[notifications]` for `config check` and start-up.
pub fn validate(c: &NotificationsConfig) -> Result<(), Problem> {
    if let Some(t) = &c.telegram {
        let key = |k: &str| format!("notifications.telegram.{k}");
        if t.chat_ids.is_empty() {
            return Err((key("chat_ids"), "must list at least one chat id".into()));
        }
        if let Some(v) = &t.bot_token_env
            && !is_env_name(v)
        {
            return Err((
                key("bot_token_env"),
                "must name an environment variable (the token itself never goes in the file)"
                    .into(),
            ));
        }
        if let Some(r) = &t.credentials
            && r.strip_prefix("file:").is_none_or(str::is_empty)
        {
            return Err((key("credentials"), "must be file:PATH".into()));
        }
        if !(t.api_url.starts_with("https://") || t.api_url.starts_with("http://")) {
            return Err((key("api_url"), "must be an http(s) URL".into()));
        }
        if !(5..=3600).contains(&t.confirm_secs) {
            return Err((key("confirm_secs"), "must be between 5 and 3600".into()));
        }
        if t.poll_timeout_secs > 50 {
            return Err((key("poll_timeout_secs"), "must be at most 50".into()));
        }
        validate_limits("notifications.telegram", &t.limits())?;
    }
    if let Some(w) = &c.webhook {
        if let Some(v) = &w.url_env
            && !is_env_name(v)
        {
            return Err((
                "notifications.webhook.url_env".into(),
                "must name an environment variable (the URL carries a token: keep it out of the file)"
                    .into(),
            ));
        }
        validate_limits("notifications.webhook", &w.limits())?;
    }
    Ok(())
}

fn validate_limits(table: &str, l: &ChannelLimits) -> Result<(), Problem> {
    if !(1..=600).contains(&l.per_minute) {
        return Err((
            format!("{table}.per_minute"),
            "must be between 1 and 600".into(),
        ));
    }
    if !(10..=86_400).contains(&l.refusal_summary_secs) {
        return Err((
            format!("{table}.refusal_summary_secs"),
            "must be between 10 and 86400".into(),
        ));
    }
    Ok(())
}

fn is_env_name(v: &str) -> bool {
    !v.is_empty()
        && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !v.starts_with(|c: char| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> NotificationsConfig {
        serde_json::from_value(serde_json::to_value(toml_like(toml_text)).unwrap()).unwrap()
    }

    /// The tests write JSON for brevity; the engine reads the same structs from TOML.
    fn toml_like(s: &str) -> serde_json::Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn defaults_switch_every_kind_on_and_limit_telegram_to_twenty_a_minute() {
        let c = parse(r#"{"telegram": {"chat_ids": [42]}}"#);
        let t = c.telegram.unwrap();
        assert!(NoticeKind::ALL.iter().all(|k| t.notify.allows(*k)));
        assert_eq!(t.per_minute, 20);
        assert_eq!(t.token_var(), DEFAULT_BOT_TOKEN_ENV);
        assert!(validate(&parse(r#"{"telegram": {"chat_ids": [42]}}"#)).is_ok());
    }

    #[test]
    fn a_kind_can_be_switched_off() {
        let c = parse(r#"{"webhook": {"notify": {"fill": false}}}"#);
        let w = c.webhook.unwrap();
        assert!(!w.notify.allows(NoticeKind::Fill));
        assert!(w.notify.allows(NoticeKind::KillSwitch));
    }

    #[test]
    fn bad_values_are_refused_naming_the_key() {
        // (Unknown keys are the loader's: it names them with their path.)
        let no_chats = parse(r#"{"telegram": {}}"#);
        assert_eq!(
            validate(&no_chats).unwrap_err().0,
            "notifications.telegram.chat_ids"
        );
        let pasted = parse(r#"{"telegram": {"chat_ids": [1], "bot_token_env": "123:abc"}}"#);
        assert_eq!(
            validate(&pasted).unwrap_err().0,
            "notifications.telegram.bot_token_env"
        );
        let zero = parse(r#"{"webhook": {"per_minute": 0}}"#);
        assert_eq!(
            validate(&zero).unwrap_err().0,
            "notifications.webhook.per_minute"
        );
        let cred = parse(r#"{"telegram": {"chat_ids": [1], "credentials": "env:X"}}"#);
        assert_eq!(
            validate(&cred).unwrap_err().0,
            "notifications.telegram.credentials"
        );
    }
}
