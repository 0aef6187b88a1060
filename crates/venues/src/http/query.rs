//! Query strings built once, signed as built, and sent as built.
//!
//! The HTTP client must never re-encode a signed query (every venue verifies the
//! signature over the bytes it receives, so we sign the exact bytes we send), so requests carry
//! this string verbatim after the `?`. Values are percent-encoded per RFC 3986: everything except
//! `A–Z a–z 0–9 - _ . ~` becomes `%XX` of its UTF-8 bytes, which is what Binance's non-ASCII vector
//! (B2) expects.

use std::fmt::Write;

/// `k=v&k=v…` in insertion order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(String);

impl Query {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `key=value`, percent-encoding the value. Keys are our own ASCII constants.
    pub fn push(&mut self, key: &str, value: impl AsRef<str>) -> &mut Self {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        self.0.push_str(key);
        self.0.push('=');
        encode_into(&mut self.0, value.as_ref());
        self
    }

    /// Builder form of [`Query::push`].
    pub fn with(mut self, key: &str, value: impl AsRef<str>) -> Self {
        self.push(key, value);
        self
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn encode_into(out: &mut String, value: &str) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// Percent-encodes one value on its own.
pub fn encode(value: &str) -> String {
    let mut s = String::with_capacity(value.len());
    encode_into(&mut s, value);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_values_not_structure() {
        let q = Query::new()
            .with("symbol", "BTCUSDT")
            .with("note", "a b&c=d")
            .with("qty", "0.001");
        assert_eq!(q.as_str(), "symbol=BTCUSDT&note=a%20b%26c%3Dd&qty=0.001");
    }

    #[test]
    fn non_ascii_is_utf8_percent_encoded() {
        // The full-width digits of Binance's vector B2.
        assert_eq!(
            encode("１２３４５６"),
            "%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96"
        );
    }
}
