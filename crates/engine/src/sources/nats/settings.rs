//! The `[sources.NAME]` table of a NATS source: what can be written, its defaults, and the
//! checks a config must pass before a consumer is built from it.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use tradeengine_signals::strategy_signal::StrategySignalOptions;

use crate::config::{Config, SourceKind};
use crate::sources::bus::{self, MessageFormat};

/// The settings table, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default = "default_url")]
    url: String,
    #[serde(default = "default_subject")]
    subject: String,
    #[serde(default = "default_stream")]
    stream: String,
    #[serde(default = "default_true")]
    create_stream: bool,
    durable: Option<String>,
    #[serde(default)]
    format: MessageFormat,
    dead_letter_subject: Option<String>,
    #[serde(default = "default_dead_stream")]
    dead_letter_stream: String,
    #[serde(default = "default_events")]
    events_subject: String,
    #[serde(default = "default_max_age")]
    max_age_secs: u64,
    #[serde(default = "default_ack_wait")]
    ack_wait_secs: u64,
    #[serde(default = "default_batch")]
    batch: usize,
    #[serde(default = "default_true")]
    scale_size_by_confidence: bool,
    user: Option<String>,
    password_env: Option<String>,
    token_env: Option<String>,
}

fn default_url() -> String {
    "nats://127.0.0.1:4222".into()
}
fn default_subject() -> String {
    "signals.trading".into()
}
fn default_stream() -> String {
    "TRADEENGINE_SIGNALS".into()
}
fn default_dead_stream() -> String {
    "TRADEENGINE_DEAD".into()
}
fn default_events() -> String {
    "execution.events".into()
}
fn default_true() -> bool {
    true
}
fn default_max_age() -> u64 {
    300
}
fn default_ack_wait() -> u64 {
    30
}
fn default_batch() -> usize {
    256
}

/// A NATS source's settings, checked, with secrets read from the environment.
#[derive(Clone)]
pub struct NatsSettings {
    pub url: String,
    /// Subjects the stream holds.
    pub subjects: Vec<String>,
    pub stream: String,
    pub create_stream: bool,
    pub durable: String,
    pub format: MessageFormat,
    pub dead_letter_subject: String,
    /// `None`: dead letters are published without a stream.
    pub dead_letter_stream: Option<String>,
    /// `None`: no execution events.
    pub events_subject: Option<String>,
    pub max_age: Option<chrono::TimeDelta>,
    pub ack_wait: Duration,
    pub batch: usize,
    pub strategy_signal: StrategySignalOptions,
    pub(super) user: Option<(String, SecretString)>,
    pub(super) token: Option<SecretString>,
}

impl std::fmt::Debug for NatsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsSettings")
            .field("url", &self.url)
            .field("subjects", &self.subjects)
            .field("stream", &self.stream)
            .field("durable", &self.durable)
            .field("format", &self.format)
            .field("dead_letter_subject", &self.dead_letter_subject)
            .field("events_subject", &self.events_subject)
            .field("user", &self.user.as_ref().map(|(u, _)| u))
            .field("password", &self.user.as_ref().map(|_| "[redacted]"))
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

/// A subject or stream token: no blanks, no control characters.
fn check_name(key: &str, v: &str, allow_dots: bool) -> Result<(), String> {
    let bad = v.is_empty()
        || v.chars().any(|c| c.is_whitespace() || c.is_control())
        || (!allow_dots && (v.contains('.') || v.contains('*') || v.contains('>')));
    if bad {
        Err(format!("{key}: {v:?} is not a valid name"))
    } else {
        Ok(())
    }
}

/// Reads and checks a `nats` source's settings.
pub fn settings(
    name: &str,
    config: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<NatsSettings, String> {
    let source = config
        .sources
        .get(name)
        .filter(|s| s.kind == SourceKind::Nats)
        .ok_or_else(|| format!("no nats source named {name:?}"))?;
    let raw: Raw = bus::read_settings(name, &source.settings)?;
    check_name("subject", &raw.subject, true)?;
    check_name("stream", &raw.stream, false)?;
    let subjects = if raw.subject.ends_with('>') || raw.subject.contains('*') {
        vec![raw.subject.clone()]
    } else {
        vec![raw.subject.clone(), format!("{}.>", raw.subject)]
    };
    let durable = raw.durable.unwrap_or_else(|| format!("tradeengine-{name}"));
    check_name("durable", &durable, false)?;
    let dead_letter_subject = raw
        .dead_letter_subject
        .unwrap_or_else(|| format!("signals.dead.{name}"));
    check_name("dead_letter_subject", &dead_letter_subject, true)?;
    if subjects
        .iter()
        .any(|s| subject_matches(s, &dead_letter_subject))
    {
        return Err(format!(
            "dead_letter_subject {dead_letter_subject:?} is inside the signal subjects: dead letters would be read again"
        ));
    }
    let dead_letter_stream = (!raw.dead_letter_stream.is_empty()).then_some(raw.dead_letter_stream);
    if let Some(s) = &dead_letter_stream {
        check_name("dead_letter_stream", s, false)?;
    }
    let events_subject =
        (!raw.events_subject.is_empty()).then(|| format!("{}.{name}", raw.events_subject));
    if let Some(s) = &events_subject {
        check_name("events_subject", s, true)?;
    }
    if raw.batch == 0 || raw.batch > crate::intake::MAX_BATCH {
        return Err(format!(
            "batch: {} must be between 1 and {}",
            raw.batch,
            crate::intake::MAX_BATCH
        ));
    }
    if raw.ack_wait_secs == 0 {
        return Err("ack_wait_secs: must be at least 1".into());
    }
    let (url, user, token) = connect_credentials(
        raw.user,
        raw.password_env.as_deref(),
        raw.token_env.as_deref(),
        &raw.url,
        env,
    )?;
    Ok(NatsSettings {
        url,
        subjects,
        stream: raw.stream,
        create_stream: raw.create_stream,
        durable,
        format: raw.format,
        dead_letter_subject,
        dead_letter_stream,
        events_subject,
        max_age: (raw.max_age_secs > 0).then(|| {
            chrono::TimeDelta::seconds(i64::try_from(raw.max_age_secs).unwrap_or(i64::MAX / 1000))
        }),
        ack_wait: Duration::from_secs(raw.ack_wait_secs),
        batch: raw.batch,
        strategy_signal: StrategySignalOptions {
            scale_size_by_confidence: raw.scale_size_by_confidence,
        },
        user,
        token,
    })
}

/// The server list to connect to, and the user and token: from the environment variables the
/// settings name, else from the URL. Credentials written in the URL move to the connect options:
/// the client library logs server addresses (at debug), so the URL it is given must hold no
/// secret.
#[allow(clippy::type_complexity)]
fn connect_credentials(
    user: Option<String>,
    password_env: Option<&str>,
    token_env: Option<&str>,
    urls: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, Option<(String, SecretString)>, Option<SecretString>), String> {
    let password = bus::secret_from_env("password_env", password_env, env)?;
    let user = match (user, password) {
        (Some(u), Some(p)) => Some((u, p)),
        (None, None) => None,
        _ => return Err("user and password_env go together".into()),
    };
    let token = bus::secret_from_env("token_env", token_env, env)?;
    let (url, url_user, url_token) = split_credentials(urls);
    Ok((url, user.or(url_user), token.or(url_token)))
}

/// The server list without userinfo, and the first `user:password` and bare token found in it.
#[allow(clippy::type_complexity)]
fn split_credentials(urls: &str) -> (String, Option<(String, SecretString)>, Option<SecretString>) {
    let mut user = None;
    let mut token = None;
    let servers: Vec<String> = urls
        .split(',')
        .map(|server| {
            let server = server.trim();
            let Some(scheme_end) = server.find("://") else {
                return server.to_string();
            };
            let after = &server[scheme_end + 3..];
            let Some(at) = after.rfind('@') else {
                return server.to_string();
            };
            match after[..at].split_once(':') {
                Some((u, p)) => {
                    if user.is_none() {
                        user = Some((percent_decode(u), SecretString::from(percent_decode(p))));
                    }
                }
                None => {
                    if token.is_none() {
                        token = Some(SecretString::from(percent_decode(&after[..at])));
                    }
                }
            }
            format!("{}{}", &server[..scheme_end + 3], &after[at + 1..])
        })
        .collect();
    (servers.join(","), user, token)
}

/// `%XX` escapes decoded (URL userinfo is written percent-encoded).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// True when NATS subject `pattern` (with `*` and `>`) matches `subject`.
pub(super) fn subject_matches(pattern: &str, subject: &str) -> bool {
    let mut p = pattern.split('.');
    let mut s = subject.split('.');
    loop {
        match (p.next(), s.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_credentials_move_out_of_the_url() {
        use secrecy::ExposeSecret;
        let (url, user, token) =
            split_credentials("nats://al%40ce:p%3Ass@n1:4222, nats://tok3n@n2:4222,nats://n3");
        assert_eq!(url, "nats://n1:4222,nats://n2:4222,nats://n3");
        let (u, p) = user.unwrap();
        assert_eq!((u.as_str(), p.expose_secret()), ("al@ce", "p:ss"));
        assert_eq!(token.unwrap().expose_secret(), "tok3n");
    }

    #[test]
    fn subjects_match_like_nats() {
        assert!(subject_matches("signals.trading.>", "signals.trading.x.y"));
        assert!(!subject_matches("signals.trading.>", "signals.trading"));
        assert!(subject_matches("signals.*.x", "signals.a.x"));
        assert!(subject_matches("signals.trading", "signals.trading"));
        assert!(!subject_matches("signals.trading", "signals.dead.nats"));
    }
}
