//! Whether, and where, an adapter opens the venue's private stream.
//!
//! Configs spell it as one string under `ws_url` (README.md, "Configuration"): `"auto"` (or
//! the key left out) derives the stream from the REST base, `"off"` runs without a stream
//! (fills are then confirmed over REST), anything else is the stream URL itself. The text is
//! parsed once, at load, into [`StreamSetting`]; nothing downstream compares strings.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The private-stream choice of one account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum StreamSetting {
    /// Derive the URL from the REST base: the venue's own stream host for its own hosts, the
    /// same host otherwise (a simulator, a proxy).
    #[default]
    Auto,
    /// No private stream: order outcomes are read over REST only.
    Off,
    /// This URL (`ws://`, `wss://`; KuCoin: replaces the endpoint handed out with the token).
    Url(String),
}

impl StreamSetting {
    /// `"off"` and `"auto"` (any case, surrounding blanks ignored) are the two keywords; any
    /// other text is a URL, checked by the config validation, not here.
    pub fn parse(text: &str) -> Self {
        let t = text.trim();
        if t.eq_ignore_ascii_case("off") {
            Self::Off
        } else if t.eq_ignore_ascii_case("auto") || t.is_empty() {
            Self::Auto
        } else {
            Self::Url(t.to_string())
        }
    }

    /// The explicit URL, when one is set.
    pub fn url(&self) -> Option<&str> {
        match self {
            Self::Url(u) => Some(u),
            Self::Auto | Self::Off => None,
        }
    }

    pub fn is_off(&self) -> bool {
        matches!(self, Self::Off)
    }

    pub fn is_auto(&self) -> bool {
        matches!(self, Self::Auto)
    }

    /// The URL to open, or `None` when the stream is off: the explicit one, else `derive()`.
    pub fn resolve(&self, derive: impl FnOnce() -> String) -> Option<String> {
        match self {
            Self::Off => None,
            Self::Auto => Some(derive()),
            Self::Url(u) => Some(u.clone()),
        }
    }
}

impl fmt::Display for StreamSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Off => f.write_str("off"),
            Self::Url(u) => f.write_str(u),
        }
    }
}

impl Serialize for StreamSetting {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StreamSetting {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(Self::parse(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_and_urls_parse_to_their_choice() {
        assert_eq!(StreamSetting::parse("off"), StreamSetting::Off);
        assert_eq!(StreamSetting::parse(" OFF "), StreamSetting::Off);
        assert_eq!(StreamSetting::parse("auto"), StreamSetting::Auto);
        assert_eq!(
            StreamSetting::parse("ws://127.0.0.1:9001/ws"),
            StreamSetting::Url("ws://127.0.0.1:9001/ws".into())
        );
        // A host that merely starts with the keyword is a URL.
        assert!(StreamSetting::parse("offline.example").url().is_some());
    }

    #[test]
    fn resolve_uses_the_url_derives_on_auto_and_nothing_when_off() {
        let derive = || "wss://derived".to_string();
        assert_eq!(
            StreamSetting::Auto.resolve(derive),
            Some("wss://derived".into())
        );
        assert_eq!(StreamSetting::Off.resolve(derive), None);
        let url = StreamSetting::Url("ws://x".into());
        assert_eq!(url.resolve(derive), Some("ws://x".into()));
    }

    #[test]
    fn serde_reads_and_writes_the_config_text() {
        #[derive(Serialize, Deserialize)]
        struct A {
            ws_url: StreamSetting,
        }
        let a: A = serde_json::from_str(r#"{"ws_url":"off"}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.ws_url, StreamSetting::Off);
        let text = serde_json::to_string(&A {
            ws_url: StreamSetting::Url("wss://s".into()),
        })
        .unwrap_or_default();
        assert_eq!(text, r#"{"ws_url":"wss://s"}"#);
    }
}
