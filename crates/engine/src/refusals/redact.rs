//! What of a refused body may be stored: secrets out, size bounded.
//!
//! A refused body is kept so an operator can see what was sent, but it may hold the source's
//! secret (TradingView's `passphrase`/`secret`, a token) or a guess at it. JSON bodies have the
//! value of every key that names a secret replaced, at any depth; a body that is not JSON has
//! each `"key": "value"` pair of such a key blanked as text. In both, any occurrence of a known
//! secret (the configured one) is replaced too. The result is cut to
//! [`tradeengine_store::MAX_REFUSED_BODY`] bytes.

use serde_json::Value;

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// Key names (lower case, `-` read as `_`) whose values are never stored: the usual ones and
/// TradingView's secret aliases (`key`, `signalToken`, `pointer`, `stub`).
const SECRET_KEYS: [&str; 16] = [
    "key",
    "signaltoken",
    "pointer",
    "stub",
    "secret",
    "passphrase",
    "password",
    "token",
    "api_key",
    "apikey",
    "api_secret",
    "access_token",
    "auth",
    "authorization",
    "signature",
    "private_key",
];

fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase().replace('-', "_");
    SECRET_KEYS.contains(&k.as_str()) || k.ends_with("_secret") || k.ends_with("_token")
}

/// The body as it may be stored: secrets redacted (see the module docs), bounded.
pub fn redact_body(body: &[u8], secrets: &[&str]) -> String {
    let text = String::from_utf8_lossy(body);
    let redacted = match serde_json::from_str::<Value>(&text) {
        Ok(mut v) => {
            redact_value(&mut v);
            v.to_string()
        }
        Err(_) => redact_text(&text),
    };
    let mut out = redacted;
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(s, REDACTED);
    }
    tradeengine_store::bound_body(&out).into_owned()
}

fn redact_value(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if is_secret_key(k) {
                    *val = Value::String(REDACTED.into());
                } else {
                    redact_value(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

/// Blanks the value of each `"secret-key": "value"` (or `: value` up to `,` `}` or the line's
/// end) in text that is not valid JSON.
fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('"') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('"') else { break };
        let key = &after[..close];
        out.push_str(&rest[..open + 1 + close + 1]);
        rest = &after[close + 1..];
        if !is_secret_key(key) {
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
    fn json_secrets_are_redacted_at_any_depth() {
        let body = br#"{"ticker":"BTCUSDT","passphrase":"hunter22","meta":{"Api-Key":"k1","list":[{"token":"t"}]},"secret":7}"#;
        let out = redact_body(body, &[]);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["ticker"], "BTCUSDT");
        assert_eq!(v["passphrase"], REDACTED);
        assert_eq!(v["secret"], REDACTED);
        assert_eq!(v["meta"]["Api-Key"], REDACTED);
        assert_eq!(v["meta"]["list"][0]["token"], REDACTED);
        assert!(!out.contains("hunter22") && !out.contains("k1"));
    }

    #[test]
    fn malformed_bodies_have_secret_pairs_blanked() {
        let body = br#"{"ticker": "BTCUSDT", "passphrase": "hunter22", "secret": 12345, size: 3"#;
        let out = redact_body(body, &[]);
        assert!(!out.contains("hunter22") && !out.contains("12345"), "{out}");
        assert!(out.contains("BTCUSDT") && out.contains("size: 3"), "{out}");
        // An unterminated secret value is blanked to the end.
        let out = redact_body(br#"{"passphrase": "hunter22"#, &[]);
        assert!(!out.contains("hunter22"), "{out}");
    }

    #[test]
    fn known_secrets_are_replaced_anywhere() {
        let out = redact_body(b"sent hunter22 in the text", &["hunter22", ""]);
        assert_eq!(out, format!("sent {REDACTED} in the text"));
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
