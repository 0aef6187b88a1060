//! What of a refused body may be stored: secrets out, size bounded.
//!
//! A refused body is kept so an operator can see what was sent, but it may hold the source's
//! secret (TradingView's `passphrase`/`secret`, a token), a guess at it, or a token pasted into
//! any field. So the rule is an allow-list: text values are kept only under the field names a
//! signal is made of ([`SIGNAL_KEYS`]: symbol, side, size, price, time, ids, …); every other text
//! value, at any depth, is replaced with [`REDACTED`]. Numbers and booleans are kept. A body
//! that is not JSON has each quoted `"key": value` pair of another field blanked the same way.
//! In both, any occurrence of a known secret (the configured one) is replaced too. The result is
//! cut to [`tradeengine_store::MAX_REFUSED_BODY`] bytes.

use serde_json::Value;

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// Field names (lower case, `-` read as `_`) whose text values are kept: what signals of every
/// supported format are made of. Anything else may be a secret.
const SIGNAL_KEYS: [&str; 56] = [
    "symbol",
    "ticker",
    "tv_instrument",
    "instrument",
    "pair",
    "trade_pair",
    "trade_pair_id",
    "direction",
    "market_position",
    "marketposition",
    "sentiment",
    "order_type",
    "action",
    "order_action",
    "side",
    "size",
    "position_size",
    "leverage",
    "price",
    "trigger_price",
    "signalprice",
    "order_price",
    "close",
    "timenow",
    "timestamp",
    "time",
    "date",
    "max_lag",
    "maxlag",
    "signal_seq",
    "event_id",
    "strategy_id",
    "strategy",
    "strategy_info",
    "source",
    "mode",
    "target",
    "order",
    "unit",
    "exposure",
    "confidence",
    "model_confidence",
    "quantity",
    "quote_quantity",
    "current_price",
    "signal_id",
    "id",
    "strategy_mode",
    "time_in_force",
    "stop_loss",
    "take_profit",
    "stop_loss_pct",
    "take_profit_pct",
    "position_size_pct",
    "amount",
    "signals",
];

fn is_signal_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase().replace('-', "_");
    SIGNAL_KEYS.contains(&k.as_str())
}

/// The body as it may be stored: secrets redacted (see the module docs), bounded.
pub fn redact_body(body: &[u8], secrets: &[&str]) -> String {
    let text = String::from_utf8_lossy(body);
    let redacted = match serde_json::from_str::<Value>(&text) {
        Ok(mut v) => {
            redact_value(&mut v, false);
            v.to_string()
        }
        Err(_) => redact_text(&text),
    };
    tradeengine_store::bound_body(&scrub(&redacted, secrets)).into_owned()
}

/// `text` with every occurrence of a known secret replaced with [`REDACTED`] (the reason of a
/// refusal, which may echo a field holding the secret). Values under 4 characters are not
/// treated as secrets (no configured secret is that short; blanking them would mangle text).
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(s, REDACTED);
    }
    out
}

/// [`scrub`] on every text value and key of a JSON value (a refusal's detail).
pub fn scrub_value(v: &mut Value, secrets: &[&str]) {
    match v {
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (k, mut val) in entries {
                scrub_value(&mut val, secrets);
                map.insert(scrub(&k, secrets), val);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| scrub_value(i, secrets)),
        Value::String(text) => *text = scrub(text, secrets),
        _ => {}
    }
}

/// `kept`: whether text here sits under a signal field (see [`SIGNAL_KEYS`]).
fn redact_value(v: &mut Value, kept: bool) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                redact_value(val, is_signal_key(k));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| redact_value(i, kept)),
        Value::String(text) if !kept => *text = REDACTED.into(),
        _ => {}
    }
}

/// Blanks the value of each `"key": "value"` (or `: value` up to `,` `}` or the line's end)
/// whose key is not a signal field, in text that is not valid JSON.
fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('"') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('"') else { break };
        let key = &after[..close];
        out.push_str(&rest[..open + 1 + close + 1]);
        rest = &after[close + 1..];
        if is_signal_key(key) {
            continue;
        }
        let trimmed = rest.trim_start();
        let Some(value) = trimmed.strip_prefix(':') else {
            continue;
        };
        out.push_str(&rest[..rest.len() - trimmed.len()]);
        out.push(':');
        let value_trim = value.trim_start();
        let end = if let Some(quoted) = value_trim.strip_prefix('"') {
            // Up to the closing quote (or all of it when there is none).
            quoted
                .find('"')
                .map_or(value.len(), |i| value.len() - value_trim.len() + 1 + i + 1)
        } else {
            value.find([',', '}', '\n']).unwrap_or(value.len())
        };
        out.push('"');
        out.push_str(REDACTED);
        out.push('"');
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_signal_fields_keep_their_text_at_any_depth() {
        let body = br#"{"ticker":"BTCUSDT","size":"10/100","leverage":"100","passphrase":"hunter22","note":"pasted-token","meta":{"Api-Key":"k1","list":[{"token":"t"}]},"strategy":{"market_position":"long","secret":"s2"},"confidence":0.8,"live":true}"#;
        let out = redact_body(body, &[]);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["ticker"], "BTCUSDT");
        assert_eq!(v["size"], "10/100");
        assert_eq!(v["leverage"], "100");
        assert_eq!(v["strategy"]["market_position"], "long");
        assert_eq!(v["confidence"], 0.8);
        assert_eq!(v["live"], true);
        for redacted in [
            &v["passphrase"],
            &v["note"],
            &v["meta"]["Api-Key"],
            &v["strategy"]["secret"],
        ] {
            assert_eq!(redacted, REDACTED);
        }
        assert_eq!(v["meta"]["list"][0]["token"], REDACTED);
        for secret in ["hunter22", "pasted-token", "k1", "s2"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        // A bare string body is not a signal field.
        assert_eq!(
            redact_body(br#""hunter22""#, &[]),
            format!("\"{REDACTED}\"")
        );
    }

    #[test]
    fn malformed_bodies_have_other_pairs_blanked() {
        let body = br#"{"ticker": "BTCUSDT", "passphrase": "hunter22", "secret": 12345, size: 3"#;
        let out = redact_body(body, &[]);
        assert!(!out.contains("hunter22") && !out.contains("12345"), "{out}");
        assert!(out.contains("BTCUSDT") && out.contains("size: 3"), "{out}");
        // An unterminated value is blanked to the end.
        let out = redact_body(br#"{"passphrase": "hunter22"#, &[]);
        assert!(!out.contains("hunter22"), "{out}");
    }

    #[test]
    fn known_secrets_are_replaced_anywhere() {
        let out = redact_body(b"sent hunter22 in the text", &["hunter22", ""]);
        assert_eq!(out, format!("sent {REDACTED} in the text"));
    }

    #[test]
    fn reasons_and_details_lose_known_secrets() {
        let secrets = ["fake-webhook-secret", "abc"];
        assert_eq!(
            scrub(
                "unknown symbol: symbol \"fake-webhook-secret\" is not configured",
                &secrets
            ),
            format!("unknown symbol: symbol \"{REDACTED}\" is not configured")
        );
        // Too short to be a secret: kept.
        assert_eq!(scrub("abc", &secrets), "abc");
        let mut detail = serde_json::json!({
            "signal": {"symbol": "fake-webhook-secret", "size": 1},
            "fake-webhook-secret": ["x fake-webhook-secret y"],
        });
        scrub_value(&mut detail, &secrets);
        let text = detail.to_string();
        assert!(!text.contains("fake-webhook-secret"), "{text}");
        assert_eq!(detail["signal"]["symbol"], REDACTED);
        assert_eq!(detail["signal"]["size"], 1);
        assert_eq!(detail[REDACTED][0], format!("x {REDACTED} y"));
    }

    #[test]
    fn bodies_are_bounded_with_a_marker() {
        let big = "x".repeat(10_000);
        let out = redact_body(big.as_bytes(), &[]);
        assert!(out.ends_with(tradeengine_store::TRUNCATED_MARKER));
        assert!(
            out.len()
                <= tradeengine_store::MAX_REFUSED_BODY + tradeengine_store::TRUNCATED_MARKER.len()
        );
    }
}
