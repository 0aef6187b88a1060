//! From an alert's side and size to a signed depth.
//!
//! Depth is a signed fraction of account value (ARCHITECTURE.md). sirouk/trade-engine's alerts
//! wrote sizes as `"N/D"`
//! (`"14.08/100"` = 0.1408) and exits as `"Exit @ 3263.55"`. The rules here:
//!
//! - `flat` → depth 0, whatever the size (as sirouk/trade-engine did);
//! - a size starting with `exit` → depth 0. sirouk/trade-engine skipped a non-flat alert with such
//!   a size;
//!   an exit is an exit, so it now closes (**fix**);
//! - `"N/D"` → |N| / |D|, `"N%"` → |N| / 100, a plain number `x` → |x|;
//! - the **direction decides the side**. sirouk/trade-engine also negated when N < 0, so `long`
//!   with `"-20/100"` became a short; a long alert can no longer open a short (**fix**). A
//!   negative size on a `long` alert says two things at once and is refused (422), rather than
//!   read as either; on a `short` it is TradingView's signed `{{strategy.position_size}}` and
//!   the magnitude is taken;
//! - |depth| above the source's cap is refused (422), never clamped silently. Accepting
//!   `"300/100"` as 3.0 would triple the intended exposure (**fix**);
//! - the result is rounded half to even at [`crate::DEPTH_DECIMALS`] places (`"1/3"` →
//!   0.333333333333).

use rust_decimal::Decimal;

use crate::num::parse_decimal;

use super::error::TvError;

/// The side an alert asks the source's sleeve to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Long,
    Short,
    Flat,
}

impl Direction {
    /// Reads a position word: `long`/`short`/`flat` in any case, plus the synonyms executors use
    /// (`bullish`/`bearish` from TradersPost, `close`/`exit`/`none` for flat).
    pub fn parse_position(word: &str) -> Option<Self> {
        match word.trim().to_ascii_lowercase().as_str() {
            "long" | "bullish" => Some(Self::Long),
            "short" | "bearish" => Some(Self::Short),
            "flat" | "close" | "exit" | "none" | "closeall" | "close_all" => Some(Self::Flat),
            _ => None,
        }
    }

    /// Reads an action that implies a side: `enter_long`, `ENTER-SHORT`, `exit_long`, `exit`,
    /// `close`, `exit-all` … Plain `buy`/`sell` imply none (a buy while short is a reduce).
    pub fn parse_action(word: &str) -> Option<Self> {
        let w: String = word
            .trim()
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c == '-' || c == ' ' { '_' } else { c })
            .collect();
        match w.as_str() {
            "enter_long" | "open_long" | "long" => Some(Self::Long),
            "enter_short" | "open_short" | "short" => Some(Self::Short),
            "exit_long" | "exit_short" | "exit" | "exit_all" | "close" | "close_all"
            | "closeall" | "closelong" | "closeshort" | "flat" => Some(Self::Flat),
            _ => None,
        }
    }

    /// The side a sided exit closes (`exit_long`, `close-short`, `closelong` …): such an exit
    /// closes that side only, so a late or mistaken `exit_long` cannot close a short. `None`
    /// for an exit of either side (`exit`, `close`, `flat`) and for anything else.
    pub fn exit_side(word: &str) -> Option<Self> {
        let w: String = word
            .trim()
            .to_ascii_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        match w.as_str() {
            "exitlong" | "closelong" => Some(Self::Long),
            "exitshort" | "closeshort" => Some(Self::Short),
            _ => None,
        }
    }

    pub fn sign(self) -> Decimal {
        match self {
            Self::Long => Decimal::ONE,
            Self::Short => Decimal::NEGATIVE_ONE,
            Self::Flat => Decimal::ZERO,
        }
    }
}

/// What a size string says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeSpec {
    /// A magnitude (≥ 0) as a fraction of account value.
    Fraction(Decimal),
    /// `Exit @ …`: close.
    Exit,
}

/// Parses a fractional size string (`"N/D"`, `"N%"`, `x`, `"Exit @ …"`). `field` names the alias
/// for the error message.
pub fn parse_size(field: &str, raw: &str) -> Result<SizeSpec, TvError> {
    let s = raw.trim();
    if s.len() >= 4 && s[..4].eq_ignore_ascii_case("exit") {
        return Ok(SizeSpec::Exit);
    }
    if let Some((n, d)) = s.split_once('/') {
        let n = parse_decimal(n)
            .ok_or_else(|| TvError::bad(field, raw, "numerator is not a number"))?;
        let d = parse_decimal(d)
            .ok_or_else(|| TvError::bad(field, raw, "denominator is not a number"))?;
        if d.is_zero() {
            return Err(TvError::bad(field, raw, "denominator is zero"));
        }
        let q = n
            .abs()
            .checked_div(d.abs())
            .ok_or_else(|| TvError::bad(field, raw, "ratio is out of range"))?;
        return Ok(SizeSpec::Fraction(q));
    }
    if let Some(p) = s.strip_suffix('%') {
        let p = parse_decimal(p)
            .ok_or_else(|| TvError::bad(field, raw, "percentage is not a number"))?;
        let q = p
            .abs()
            .checked_div(Decimal::ONE_HUNDRED)
            .ok_or_else(|| TvError::bad(field, raw, "percentage is out of range"))?;
        return Ok(SizeSpec::Fraction(q));
    }
    parse_decimal(s)
        .map(|x| SizeSpec::Fraction(x.abs()))
        .ok_or_else(|| {
            TvError::bad(
                field,
                raw,
                "expected \"N/D\", \"N%\", a fraction, or \"Exit @ price\"",
            )
        })
}

/// Whether a size string that [`parse_size`] read as a fraction was written negative
/// (`"-20/100"`, `"20/-100"`, `"-50%"`, `"-0.2"`); its magnitude is what `parse_size` returns.
pub fn written_negative(raw: &str) -> bool {
    let s = raw.trim();
    let sign = |t: &str| {
        crate::num::parse_decimal(t).is_some_and(|d| d.is_sign_negative() && !d.is_zero())
    };
    match s.split_once('/') {
        Some((n, d)) => sign(n) != sign(d),
        None => sign(s.strip_suffix('%').unwrap_or(s)),
    }
}

/// Signed depth from side and magnitude, refusing magnitudes above `cap`.
pub fn signed_depth(
    direction: Direction,
    magnitude: Decimal,
    cap: Decimal,
) -> Result<Decimal, TvError> {
    if direction == Direction::Flat {
        return Ok(Decimal::ZERO);
    }
    let m = magnitude.abs();
    if m > cap {
        return Err(TvError::DepthAboveCap {
            depth: m.normalize().to_string(),
            cap: cap.normalize().to_string(),
        });
    }
    Ok(crate::round_depth(direction.sign() * m))
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn seed_sizes() {
        assert_eq!(
            parse_size("size", "14.08/100"),
            Ok(SizeSpec::Fraction(dec!(0.1408)))
        );
        assert_eq!(
            parse_size("size", "-14.08/100"),
            Ok(SizeSpec::Fraction(dec!(0.1408)))
        );
        assert_eq!(parse_size("size", "0/100"), Ok(SizeSpec::Fraction(dec!(0))));
        assert_eq!(parse_size("size", "Exit @ 3263.55"), Ok(SizeSpec::Exit));
        assert_eq!(parse_size("size", "EXIT"), Ok(SizeSpec::Exit));
        assert_eq!(
            parse_size("size", "25%"),
            Ok(SizeSpec::Fraction(dec!(0.25)))
        );
        assert_eq!(parse_size("size", "0.3"), Ok(SizeSpec::Fraction(dec!(0.3))));
        assert!(parse_size("size", "1/0").is_err());
        assert!(parse_size("size", "a/b").is_err());
        assert!(parse_size("size", "lots").is_err());
    }

    #[test]
    fn negative_sizes_are_recognised_in_every_form() {
        for raw in ["-20/100", "20/-100", "-50%", " -0.2 ", "-1"] {
            assert!(written_negative(raw), "{raw}");
        }
        for raw in [
            "20/100", "-20/-100", "50%", "0.2", "-0", "-0/100", "Exit @ 1",
        ] {
            assert!(!written_negative(raw), "{raw}");
        }
    }

    #[test]
    fn direction_decides_the_sign_and_caps_apply() {
        assert_eq!(
            signed_depth(Direction::Long, dec!(0.2), dec!(1)),
            Ok(dec!(0.2))
        );
        assert_eq!(
            signed_depth(Direction::Short, dec!(0.2), dec!(1)),
            Ok(dec!(-0.2))
        );
        // Negating N < 0 would make this a short; the direction wins.
        assert_eq!(
            signed_depth(Direction::Long, dec!(-0.2), dec!(1)),
            Ok(dec!(0.2))
        );
        assert_eq!(
            signed_depth(Direction::Flat, dec!(0.7), dec!(1)),
            Ok(dec!(0))
        );
        assert!(matches!(
            signed_depth(Direction::Long, dec!(3), dec!(1)),
            Err(TvError::DepthAboveCap { .. })
        ));
        assert_eq!(signed_depth(Direction::Long, dec!(1), dec!(1)), Ok(dec!(1)));
        assert_eq!(
            signed_depth(Direction::Short, dec!(1) / dec!(3), dec!(1)),
            Ok(dec!(-0.333333333333))
        );
    }

    #[test]
    fn words() {
        assert_eq!(Direction::parse_position("LONG"), Some(Direction::Long));
        assert_eq!(Direction::parse_position("bearish"), Some(Direction::Short));
        assert_eq!(Direction::parse_position("market"), None);
        assert_eq!(Direction::parse_action("ENTER-LONG"), Some(Direction::Long));
        assert_eq!(Direction::parse_action("EXIT_SHORT"), Some(Direction::Flat));
        assert_eq!(Direction::parse_action("buy"), None);
        assert_eq!(Direction::exit_side("exit_long"), Some(Direction::Long));
        assert_eq!(Direction::exit_side("Close-Short"), Some(Direction::Short));
        assert_eq!(Direction::exit_side("closelong"), Some(Direction::Long));
        assert_eq!(Direction::exit_side("exit"), None);
        assert_eq!(Direction::exit_side("close_all"), None);
    }
}
