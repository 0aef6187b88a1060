//! Reading `k=v&k=v` query strings and form bodies (percent-decoded, `+` as space).

use std::collections::BTreeMap;

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The pairs of a query string; a repeated key keeps its last value.
pub fn parse(raw: &str) -> BTreeMap<String, String> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes() {
        let m = parse("symbol=BTCUSDT&note=a%20b%26c&x=1+2&flag");
        assert_eq!(m["symbol"], "BTCUSDT");
        assert_eq!(m["note"], "a b&c");
        assert_eq!(m["x"], "1 2");
        assert_eq!(m["flag"], "");
        assert_eq!(decode("%EF%BC%91"), "１");
        assert_eq!(decode("100%"), "100%");
    }
}
