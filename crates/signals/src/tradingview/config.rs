//! Per-source TradingView configuration: secret, field aliases, caps and time limits.
//!
//! Several TradingView strategies can be separate sources (`POST /webhook/{source}`), each with
//! its own [`TvConfig`]. Every field has a safe default; with no secret configured every alert is
//! refused unless `allow_unauthenticated` is set explicitly (for local demos only).

use rust_decimal::Decimal;
use secrecy::SecretString;
use serde::Deserialize;
use tradeengine_model::SourceId;

use super::auth::IpAllowList;

/// Field names (dotted paths into nested objects) that may carry each canonical field. The first
/// alias present in the body wins, so put the most specific name first.
///
/// The defaults cover sirouk/trade-engine's payload and the common alert templates:
/// PTN's miner template (`order_type` = `{{strategy.market_position}}`), the nested "Part Time
/// Larry" template (`strategy.market_position`, `strategy.position_size`), 3Commas
/// (`strategy_info.market_position`, `tv_instrument`, `max_lag`), OKX (`marketPosition`,
/// `instrument`, `signalToken`, `maxLag`), TradersPost (`sentiment`, `ticker`) and others.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TvAliases {
    pub secret: Vec<String>,
    pub symbol: Vec<String>,
    /// The resulting position side: `long`, `short`, `flat` (and `bullish`/`bearish`, `close`).
    pub direction: Vec<String>,
    /// Order action: `buy`/`sell` (informational), or `enter_long`, `exit_short`, `exit` … which
    /// also imply a side when no direction is given.
    pub action: Vec<String>,
    /// Fractional size: `"N/D"`, `"N%"`, a plain fraction, or `"Exit @ …"`.
    pub size: Vec<String>,
    /// Signed strategy position in contracts (`{{strategy.position_size}}`).
    pub position_size: Vec<String>,
    pub leverage: Vec<String>,
    pub price: Vec<String>,
    /// When the sender produced the alert (RFC 3339, or epoch seconds / milliseconds).
    pub time: Vec<String>,
    /// The sender's own staleness limit in seconds (3Commas `max_lag`, OKX `maxLag`).
    pub max_lag: Vec<String>,
    pub signal_seq: Vec<String>,
    pub event_id: Vec<String>,
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_string()).collect()
}

impl Default for TvAliases {
    fn default() -> Self {
        Self {
            secret: names(&[
                "secret",
                "passphrase",
                "key",
                "api_key",
                "token",
                "signalToken",
                "pointer",
                "stub",
            ]),
            symbol: names(&[
                "symbol",
                "ticker",
                "tv_instrument",
                "instrument",
                "pair",
                "trade_pair",
                "trade_pair.trade_pair_id",
            ]),
            direction: names(&[
                "direction",
                "market_position",
                "strategy.market_position",
                "strategy_info.market_position",
                "marketPosition",
                "sentiment",
                "order_type",
            ]),
            action: names(&[
                "action",
                "order_action",
                "strategy.order_action",
                "side",
                "data",
            ]),
            size: names(&["size"]),
            position_size: names(&["position_size", "strategy.position_size"]),
            leverage: names(&["leverage"]),
            price: names(&[
                "price",
                "trigger_price",
                "signalPrice",
                "order_price",
                "strategy.order_price",
                "close",
                "bar.close",
            ]),
            time: names(&["timenow", "timestamp", "time", "date"]),
            max_lag: names(&["max_lag", "maxLag"]),
            signal_seq: names(&["signal_seq"]),
            event_id: names(&["event_id"]),
        }
    }
}

/// One TradingView source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TvConfig {
    pub source: SourceId,
    /// The shared secret expected in the body (or URL). `None` refuses everything unless
    /// `allow_unauthenticated` is true.
    #[serde(default)]
    pub secret: Option<SecretString>,
    /// Accept alerts without a secret. Off by default; meant for a local paper demo.
    #[serde(default)]
    pub allow_unauthenticated: bool,
    /// Sender addresses allowed; empty allows any. [`IpAllowList::tradingview`] is the preset.
    /// Behind a proxy, list the proxy in `trusted_proxies` so the sender is checked, not it.
    #[serde(default)]
    pub allow_ips: IpAllowList,
    /// Proxies (addresses or CIDR blocks) whose forwarded-address header is believed. Empty (the
    /// default): the header is ignored and the TCP peer is the sender. See [`super::proxy`].
    #[serde(default)]
    pub trusted_proxies: IpAllowList,
    /// The header a trusted proxy writes the sender's address in: `X-Forwarded-For` (default),
    /// `Forwarded` (RFC 7239) or a single-address one such as `X-Real-IP`.
    #[serde(default = "default_forwarded_header")]
    pub forwarded_header: String,
    /// The header a trusted proxy writes the verified client certificate's subject in (nginx
    /// `$ssl_client_s_dn`). When set, every alert must come through a trusted proxy with a
    /// subject holding `client_cert_subject`, in addition to the secret.
    #[serde(default)]
    pub client_cert_header: Option<String>,
    /// The subject component required with `client_cert_header`.
    #[serde(default = "default_client_cert_subject")]
    pub client_cert_subject: String,
    #[serde(default)]
    pub aliases: TvAliases,
    /// Largest |depth| accepted (fraction of account value). Above it the alert gets 422.
    #[serde(default = "default_max_depth")]
    pub max_depth: Decimal,
    /// Largest leverage accepted. Above it the alert gets 422.
    #[serde(default = "default_max_leverage")]
    pub max_leverage: Decimal,
    /// Depth magnitude used when an alert gives a side but no size.
    #[serde(default)]
    pub default_depth: Option<Decimal>,
    /// Contracts that make depth 1 when the alert sizes by `position_size` (contracts):
    /// `depth = position_size / position_scale`.
    #[serde(default)]
    pub position_scale: Option<Decimal>,
    /// Alerts whose own time is older than this are refused. `None`: no limit.
    #[serde(default = "default_ttl")]
    pub ttl_secs: Option<u64>,
    /// How far an alert's time may be ahead of ours (clock skew) before it is refused.
    #[serde(default = "default_future_skew")]
    pub max_future_skew_secs: u64,
    /// Bodies above this size are refused unread.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// An alert whose price is further than this fraction from the venue's current mark is
    /// refused (422, `price_band`): a fat-fingered or mis-templated price (0.0027 for a BTC at
    /// 60,000) would otherwise anchor default stops. Checked by the engine, which knows the mark.
    #[serde(default = "default_price_band")]
    pub price_band: Decimal,
}

fn default_price_band() -> Decimal {
    Decimal::new(10, 2)
}

fn default_forwarded_header() -> String {
    "X-Forwarded-For".into()
}
fn default_client_cert_subject() -> String {
    "CN=TradingView Webhooks".into()
}
fn default_max_depth() -> Decimal {
    Decimal::ONE
}
fn default_max_leverage() -> Decimal {
    Decimal::from(20)
}
fn default_ttl() -> Option<u64> {
    Some(120)
}
fn default_future_skew() -> u64 {
    30
}
fn default_max_body() -> usize {
    64 * 1024
}

impl TvConfig {
    /// A config with every default and the given secret.
    pub fn new(source: SourceId, secret: Option<SecretString>) -> Self {
        Self {
            source,
            secret,
            allow_unauthenticated: false,
            allow_ips: IpAllowList::default(),
            trusted_proxies: IpAllowList::default(),
            forwarded_header: default_forwarded_header(),
            client_cert_header: None,
            client_cert_subject: default_client_cert_subject(),
            aliases: TvAliases::default(),
            max_depth: default_max_depth(),
            max_leverage: default_max_leverage(),
            default_depth: None,
            position_scale: None,
            ttl_secs: default_ttl(),
            max_future_skew_secs: default_future_skew(),
            max_body_bytes: default_max_body(),
            price_band: default_price_band(),
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn deserialises_with_defaults_and_hides_the_secret() {
        let cfg: TvConfig = serde_json::from_value(serde_json::json!({
            "source": "tv-trend",
            "secret": "hunter2-very-secret",
            "max_depth": "0.5",
            "max_leverage": 5,
            "allow_ips": ["tradingview", "10.0.0.0/8"]
        }))
        .unwrap();
        assert_eq!(cfg.max_depth, Decimal::new(5, 1));
        assert_eq!(cfg.max_leverage, Decimal::from(5));
        assert_eq!(cfg.ttl_secs, Some(120));
        assert_eq!(cfg.price_band, Decimal::new(1, 1), "10 % by default");
        assert_eq!(cfg.aliases, TvAliases::default());
        assert_eq!(
            cfg.secret.as_ref().map(|s| s.expose_secret()),
            Some("hunter2-very-secret")
        );
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }

    #[test]
    fn refuses_unknown_keys() {
        let r: Result<TvConfig, _> =
            serde_json::from_value(serde_json::json!({"source": "tv", "secrte": "x"}));
        assert!(r.is_err());
    }
}
