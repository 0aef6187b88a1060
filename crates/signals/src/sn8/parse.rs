//! Entry points from bytes to PTN documents. They never panic, on any input: a gzip body is
//! inflated (bounded, so a small bomb cannot exhaust memory), `NaN`/`Infinity` are rewritten,
//! then the tolerant types read what they can.

use std::io::Read;

use serde::de::DeserializeOwned;

use super::lenient::sanitize_non_finite;
use super::types::{EliminationsDoc, PositionsDoc, StatisticsDoc};

/// Default cap on a decompressed payload. Real `/miner-positions` bodies are tens of MB.
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 512 * 1024 * 1024;

/// Why a payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Sn8ParseError {
    #[error("gzip body could not be inflated: {0}")]
    Gzip(String),
    #[error("payload exceeds {limit} bytes after decompression")]
    TooLarge { limit: usize },
    #[error("payload is not valid JSON of the expected shape: {0}")]
    Json(String),
}

/// Inflates a gzip body (detected by its magic bytes, whatever the headers said), bounded.
pub fn inflate_if_gzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>, Sn8ParseError> {
    if bytes.len() < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b {
        if bytes.len() > limit {
            return Err(Sn8ParseError::TooLarge { limit });
        }
        return Ok(bytes.to_vec());
    }
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(4).min(limit));
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::MultiGzDecoder::new(bytes)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| Sn8ParseError::Gzip(e.to_string()))?;
    if out.len() > limit {
        return Err(Sn8ParseError::TooLarge { limit });
    }
    Ok(out)
}

fn read<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, Sn8ParseError> {
    let plain = inflate_if_gzip(bytes, limit)?;
    let clean = sanitize_non_finite(&plain);
    serde_json::from_slice(&clean).map_err(|e| Sn8ParseError::Json(e.to_string()))
}

/// `/miner-positions`.
pub fn parse_positions(bytes: &[u8]) -> Result<PositionsDoc, Sn8ParseError> {
    read(bytes, DEFAULT_MAX_PAYLOAD_BYTES)
}

/// `/statistics`.
pub fn parse_statistics(bytes: &[u8]) -> Result<StatisticsDoc, Sn8ParseError> {
    read(bytes, DEFAULT_MAX_PAYLOAD_BYTES)
}

/// `/eliminations`.
pub fn parse_eliminations(bytes: &[u8]) -> Result<EliminationsDoc, Sn8ParseError> {
    read(bytes, DEFAULT_MAX_PAYLOAD_BYTES)
}

/// The same, with an explicit decompressed-size cap.
pub fn parse_with_limit<T: DeserializeOwned>(
    bytes: &[u8],
    limit: usize,
) -> Result<T, Sn8ParseError> {
    read(bytes, limit)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_and_plain_read_the_same() {
        let body = br#"{"hk1": {"thirty_day_returns": NaN, "positions": []}, "hk2": 5}"#;
        let a = parse_positions(body).unwrap();
        let b = parse_positions(&gzip(body)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.miners.len(), 1);
        assert_eq!(a.skipped, 1);
        assert_eq!(a.miners[0].1.thirty_day_returns, None);
    }

    #[test]
    fn bombs_and_garbage_are_errors() {
        let big = gzip(&vec![b' '; 10_000]);
        assert_eq!(
            parse_with_limit::<PositionsDoc>(&big, 1000),
            Err(Sn8ParseError::TooLarge { limit: 1000 })
        );
        assert!(matches!(
            parse_positions(&[0x1f, 0x8b, 1, 2, 3]),
            Err(Sn8ParseError::Gzip(_))
        ));
        assert!(matches!(
            parse_positions(b"[1,2]"),
            Err(Sn8ParseError::Json(_))
        ));
        assert!(matches!(parse_positions(b""), Err(Sn8ParseError::Json(_))));
    }
}
