//! Kline (candle) CSV files, as exchanges and data projects dump them.
//!
//! Two layouts are accepted, with or without one header line:
//!
//! - simple: `open_time_ms,open,high,low,close,volume` (6 columns);
//! - Binance dump: `open_time,open,high,low,close,volume,close_time,quote_volume,count,
//!   taker_buy_volume,taker_buy_quote_volume,ignore` (7 or more columns; only the first seven
//!   are read).
//!
//! A header is recognised only on the first line (its first field starts with a letter); later
//! copies of that exact line are skipped, as concatenated monthly dumps repeat it. Any other
//! non-numeric line is an error, never silently dropped.
//!
//! Times are Unix milliseconds, or microseconds in Binance's spot dumps from 2025 on. The unit is
//! detected per value: `< 10¹¹` is refused (that would be before March 1973 in ms, so it is
//! seconds or garbage), `[10¹¹, 10¹⁴)` is ms, `[10¹⁴, 10¹⁷)` is µs and is floored to ms, larger
//! is refused (nanoseconds). Per value rather than per file, so a file concatenated across the
//! 2025 switch still loads.
//!
//! The candle length comes from `close_time − open_time + 1 ms` when the file has close times
//! (Binance's close time is the last millisecond of the candle), else from the smallest gap
//! between consecutive open times. Missing candles (gaps) are fine; unsorted or duplicate open
//! times are not.

use std::path::Path;
use std::str::FromStr;

use rust_decimal::Decimal;

use super::FeedError;

/// Below this an open time is not milliseconds (it would be before 1973-03-03).
const MIN_MS: i64 = 100_000_000_000;
/// From here on an open time is microseconds (10¹⁴ ms would be the year 5138).
const MIN_US: i64 = 100_000_000_000_000;
/// From here on it would be nanoseconds, which no kline dump uses.
const MIN_NS: i64 = 100_000_000_000_000_000;

/// The closes of one symbol's candles, sorted by open time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KlineSeries {
    source_name: String,
    open_ms: Vec<i64>,
    close: Vec<Decimal>,
    interval_ms: i64,
}

impl KlineSeries {
    /// Reads and parses a file; errors name the file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, FeedError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| FeedError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Parses CSV text. `source_name` (usually the file name) prefixes every error, with the
    /// 1-based line number.
    pub fn parse(source_name: &str, text: &str) -> Result<Self, FeedError> {
        let mut open_ms: Vec<i64> = Vec::new();
        let mut close = Vec::new();
        let mut columns: Option<usize> = None;
        let mut candle_len: Option<i64> = None;
        let mut first_line = true;
        let mut header: Option<&str> = None;
        for (idx, raw) in text.lines().enumerate() {
            let line = raw.trim_start_matches('\u{feff}').trim();
            if line.is_empty() || header == Some(line) {
                continue; // blank, or the header repeated by concatenated monthly dumps
            }
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if std::mem::take(&mut first_line)
                && fields[0].starts_with(|c: char| c.is_ascii_alphabetic())
            {
                header = Some(line);
                continue;
            }
            let bad = |reason: String| FeedError::BadLine {
                source_name: source_name.to_string(),
                line: idx + 1,
                reason,
            };
            check_columns(&mut columns, fields.len()).map_err(bad)?;
            let (open_time, c) = read_candle(&fields).map_err(bad)?;
            if let Some(&prev) = open_ms.last()
                && open_time <= prev
            {
                return Err(bad(format!(
                    "open_time {} is not after the previous candle's {prev} ms: candles must \
                     be sorted with no duplicates",
                    fields[0]
                )));
            }
            check_length(&fields, open_time, &mut candle_len).map_err(bad)?;
            open_ms.push(open_time);
            close.push(c);
        }
        let interval_ms =
            interval(&open_ms, candle_len).map_err(|reason| FeedError::BadSeries {
                source_name: source_name.to_string(),
                reason: reason.to_string(),
            })?;
        Ok(Self {
            source_name: source_name.to_string(),
            open_ms,
            close,
            interval_ms,
        })
    }

    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// Number of candles.
    pub fn len(&self) -> usize {
        self.open_ms.len()
    }

    /// Always false: a series holds at least one candle.
    pub fn is_empty(&self) -> bool {
        self.open_ms.is_empty()
    }

    /// Candle length, ms.
    pub fn interval_ms(&self) -> i64 {
        self.interval_ms
    }

    /// Open time of the first candle, Unix ms.
    pub fn first_open_ms(&self) -> i64 {
        self.open_ms.first().copied().unwrap_or_default()
    }

    /// End of the last candle (its open time plus one candle length), Unix ms.
    pub fn end_ms(&self) -> i64 {
        self.open_ms
            .last()
            .copied()
            .unwrap_or_default()
            .saturating_add(self.interval_ms)
    }

    /// How many times consecutive candles are more than one candle length apart.
    pub fn gap_count(&self) -> usize {
        self.open_ms
            .windows(2)
            .filter(|w| w[1] - w[0] > self.interval_ms)
            .count()
    }

    /// Close of the latest candle opened at or before `t_ms`: the candle covering `t_ms`, or
    /// across a gap the last one before it (its close carries). `None` before the first candle
    /// and from [`Self::end_ms`] on.
    pub fn close_at_ms(&self, t_ms: i64) -> Option<Decimal> {
        if t_ms >= self.end_ms() {
            return None;
        }
        let after = self.open_ms.partition_point(|&o| o <= t_ms);
        self.close.get(after.checked_sub(1)?).copied()
    }
}

/// The first candle fixes the column count (6, or a Binance kline row); every later one must
/// match it.
fn check_columns(columns: &mut Option<usize>, found: usize) -> Result<(), String> {
    match *columns {
        None if found < 6 => Err(format!(
            "expected 6 columns (open_time,open,high,low,close,volume) or a Binance \
             kline row, found {found}"
        )),
        None => {
            *columns = Some(found);
            Ok(())
        }
        Some(n) if n != found => Err(format!("has {found} columns but the first candle has {n}")),
        Some(_) => Ok(()),
    }
}

/// One row's open time and close, its prices consistent and its volume not negative.
fn read_candle(fields: &[&str]) -> Result<(i64, Decimal), String> {
    let open_time = parse_time(fields[0], "open_time")?;
    let o = parse_price(fields[1], "open")?;
    let h = parse_price(fields[2], "high")?;
    let l = parse_price(fields[3], "low")?;
    let c = parse_price(fields[4], "close")?;
    let volume = parse_decimal(fields[5], "volume")?;
    if volume < Decimal::ZERO {
        return Err(format!("volume {volume} is negative"));
    }
    if l > o.min(c) || h < o.max(c) {
        return Err(format!(
            "prices are inconsistent: low {l} and high {h} must bracket open {o} and \
             close {c}"
        ));
    }
    Ok((open_time, c))
}

/// With a `close_time` column (the Binance layout), every candle must be as long as the first.
fn check_length(
    fields: &[&str],
    open_time: i64,
    candle_len: &mut Option<i64>,
) -> Result<(), String> {
    if fields.len() < 7 {
        return Ok(());
    }
    let close_time = parse_time(fields[6], "close_time")?;
    let len = close_time
        .checked_sub(open_time)
        .and_then(|d| d.checked_add(1))
        .filter(|d| *d > 0)
        .ok_or_else(|| format!("close_time {} is before open_time", fields[6]))?;
    match *candle_len {
        Some(first) if first != len => Err(format!(
            "candle is {len} ms long but the first candle is {first} ms"
        )),
        _ => {
            *candle_len = Some(len);
            Ok(())
        }
    }
}

/// The candle length: from `close_time` when the rows have it, else the smallest step between
/// open times.
fn interval(open_ms: &[i64], candle_len: Option<i64>) -> Result<i64, &'static str> {
    if open_ms.is_empty() {
        return Err("no candles");
    }
    match candle_len {
        Some(len) => Ok(len),
        None => open_ms.windows(2).map(|w| w[1] - w[0]).min().ok_or(
            "one candle without close_time: cannot tell the candle length; add \
             candles or use the Binance layout",
        ),
    }
}

/// A Unix time in ms or µs (see the module docs), as ms.
fn parse_time(field: &str, name: &str) -> Result<i64, String> {
    let v: i64 = field
        .parse()
        .map_err(|_| format!("{name} {field:?} is not a whole number"))?;
    match v {
        v if v < MIN_MS => Err(format!(
            "{name} {v} is too small for Unix milliseconds (seconds are not accepted)"
        )),
        v if v < MIN_US => Ok(v),
        v if v < MIN_NS => Ok(v.div_euclid(1000)),
        v => Err(format!(
            "{name} {v} is too large for Unix microseconds (nanoseconds are not accepted)"
        )),
    }
}

fn parse_decimal(field: &str, name: &str) -> Result<Decimal, String> {
    Decimal::from_str(field).map_err(|_| format!("{name} {field:?} is not a decimal number"))
}

fn parse_price(field: &str, name: &str) -> Result<Decimal, String> {
    let v = parse_decimal(field, name)?;
    if v > Decimal::ZERO {
        Ok(v)
    } else {
        Err(format!("{name} {field} must be greater than zero"))
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    const SIMPLE: &str = "open_time_ms,open,high,low,close,volume\n\
        1509836520000,0.00162008,0.00162008,0.00162008,0.00162008,108.1\n\
        1509836580000,0.00161,0.00161,0.00161,0.00161,82.3\n\
        1509836760000,0.00161,0.00162,0.00161,0.00162,64.5\n";

    #[test]
    fn simple_layout_with_header_and_a_gap() {
        let s = KlineSeries::parse("simple.csv", SIMPLE).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s.interval_ms(), 60_000);
        assert_eq!(s.gap_count(), 1);
        assert_eq!(s.first_open_ms(), 1_509_836_520_000);
        assert_eq!(s.end_ms(), 1_509_836_820_000);
        assert_eq!(s.close_at_ms(1_509_836_519_999), None);
        assert_eq!(s.close_at_ms(1_509_836_520_000), Some(dec!(0.00162008)));
        assert_eq!(s.close_at_ms(1_509_836_639_999), Some(dec!(0.00161)));
        // 1509836640000 and …700000 are missing: the 0.00161 close carries.
        assert_eq!(s.close_at_ms(1_509_836_700_000), Some(dec!(0.00161)));
        assert_eq!(s.close_at_ms(1_509_836_819_999), Some(dec!(0.00162)));
        assert_eq!(s.close_at_ms(1_509_836_820_000), None);
    }

    #[test]
    fn binance_layout_without_header_in_ms_and_us() {
        let ms = "1499040000000,0.01634790,0.80000000,0.01575800,0.01577100,148976.11,\
                  1499644799999,2434.19,308,1756.87,28.46,0\n\
                  1499644800000,0.01577100,0.01580000,0.01500000,0.01510000,100.0,\
                  1500249599999,1.0,3,1.0,0.1,0\n";
        let s = KlineSeries::parse("weekly.csv", ms).unwrap();
        assert_eq!(s.interval_ms(), 604_800_000);
        assert_eq!(s.close_at_ms(1_499_644_800_000), Some(dec!(0.0151)));
        // The same candles with microsecond times, as in 2025+ spot dumps, and CRLF endings.
        let us = "1499040000000000,0.01634790,0.80000000,0.01575800,0.01577100,148976.11,\
                  1499644799999999,2434.19,308,1756.87,28.46,0\r\n\
                  1499644800000000,0.01577100,0.01580000,0.01500000,0.01510000,100.0,\
                  1500249599999999,1.0,3,1.0,0.1,0\r\n";
        let u = KlineSeries::parse("weekly-us.csv", us).unwrap();
        assert_eq!(u.interval_ms(), s.interval_ms());
        assert_eq!(u.first_open_ms(), s.first_open_ms());
        assert_eq!(u.close_at_ms(1_499_644_800_000), Some(dec!(0.0151)));
    }

    fn err_of(text: &str) -> String {
        KlineSeries::parse("bad.csv", text).unwrap_err().to_string()
    }

    #[test]
    fn bad_lines_name_the_source_and_line() {
        let text = format!("{SIMPLE}1509836820000,0.0016,0.0017,0.0015,abc,1\n");
        assert_eq!(
            err_of(&text),
            "bad.csv line 5: close \"abc\" is not a decimal number"
        );
        let short = "1509836520000,1,1,1,1\n";
        assert!(err_of(short).starts_with("bad.csv line 1: expected 6 columns"));
        let unsorted = format!("{SIMPLE}1509836580000,1,1,1,1,1\n");
        assert!(err_of(&unsorted).contains("line 5: open_time 1509836580000 is not after"));
        let ragged = format!("{SIMPLE}1509836880000,1,1,1,1,1,1509836939999\n");
        assert!(err_of(&ragged).contains("line 5: has 7 columns but the first candle has 6"));
        let seconds = "1509836520,1,1,1,1,1\n1509836580,1,1,1,1,1\n";
        assert!(err_of(seconds).contains("line 1: open_time 1509836520 is too small"));
        let zero = "1509836520000,1,1,1,0,1\n1509836580000,1,1,1,1,1\n";
        assert!(err_of(zero).contains("line 1: close 0 must be greater than zero"));
        let inverted = "1509836520000,1,0.9,1.1,1,1\n1509836580000,1,1,1,1,1\n";
        assert!(err_of(inverted).contains("line 1: prices are inconsistent"));
        let neg_vol = "1509836520000,1,1,1,1,-1\n1509836580000,1,1,1,1,1\n";
        assert!(err_of(neg_vol).contains("line 1: volume -1 is negative"));
    }

    #[test]
    fn a_repeated_header_from_concatenated_files_is_skipped() {
        let month = |rows: &str| format!("open_time,open,high,low,close,volume\n{rows}");
        let text = month("1509836520000,1,1,1,1,1\n") + &month("1509836580000,2,2,2,2,1\n");
        let s = KlineSeries::parse("two-months.csv", &text).unwrap();
        assert_eq!(
            (s.len(), s.close_at_ms(1_509_836_580_000)),
            (2, Some(dec!(2)))
        );
        // A different text line in the middle is still an error.
        let odd = month("1509836520000,1,1,1,1,1\nopen,high\n1509836580000,2,2,2,2,1\n");
        assert!(
            err_of(&odd).contains("line 3: has 2 columns"),
            "{}",
            err_of(&odd)
        );
    }

    #[test]
    fn a_data_line_is_never_mistaken_for_a_header() {
        // Only a first line starting with a letter is a header; a garbled number is an error.
        assert!(err_of("-5,1,1,1,1,1\n").contains("line 1: open_time -5 is too small"));
        assert!(err_of("1.5e12,1,1,1,1,1\n").contains("line 1: open_time \"1.5e12\""));
    }

    #[test]
    fn series_level_errors() {
        assert_eq!(
            err_of("open_time,open,high,low,close,volume\n"),
            "bad.csv: no candles"
        );
        assert!(err_of("1509836520000,1,1,1,1,1\n").contains("cannot tell the candle length"));
        let uneven =
            "1499040000000,1,1,1,1,1,1499040059999\n1499040060000,1,1,1,1,1,1499040179999\n";
        assert!(err_of(uneven).contains("line 2: candle is 120000 ms long"));
    }

    #[test]
    fn missing_file_is_named() {
        let err = KlineSeries::from_path("/nonexistent/klines.csv").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read /nonexistent/klines.csv")
        );
    }
}
