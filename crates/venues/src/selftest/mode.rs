//! The `account_mode` line: what the venue said about the account's position mode and each
//! configured symbol's margin mode, rather than a fixed text.
//!
//! - **Position mode** is asked at connect by every adapter, each from its venue's own answer
//!   (Bybit `positionIdx` of the position rows, Binance `dualSidePosition`, MEXC
//!   `positionMode`, BloFin `positionMode`, KuCoin `positionSide`, Hyperliquid's net positions);
//!   a hedge-mode account is refused there, so reaching this line means the venue answered
//!   one-way.
//! - **Margin mode** (and leverage) is per symbol and the venues report it with a position:
//!   the line gives each configured symbol's as the position read says, and says plainly where
//!   the venue reported none (no position: the engine sets margin mode and leverage itself
//!   before its first order on that symbol).

use tradeengine_model::Position;

use super::{Check, ConfiguredSymbol, Outcome};
use crate::VenueError;

/// The `account_mode` check from the positions the venue returned (or why it did not).
pub(super) fn account_mode(
    positions: &Result<Vec<Position>, VenueError>,
    symbols: &[ConfiguredSymbol],
) -> Check {
    let position_mode = "position mode: one-way (the venue's answer at connect; a hedge-mode account is refused there)";
    let margin = match positions {
        Ok(positions) => {
            let per_symbol: Vec<String> = symbols
                .iter()
                .map(|s| match positions.iter().find(|p| p.symbol == s.symbol) {
                    Some(p) => format!(
                        "{} {} ×{}",
                        s.symbol,
                        p.margin_mode.as_str(),
                        p.leverage.normalize()
                    ),
                    None => format!("{} not reported (no position)", s.symbol),
                })
                .collect();
            let mut text = format!(
                "margin mode as the venue reports it: {}",
                per_symbol.join(", ")
            );
            if per_symbol.iter().any(|s| s.ends_with("(no position)")) {
                text.push_str(
                    "; the venue tells a symbol's margin mode only with a position: the engine \
                     sets margin mode and leverage itself before its first order",
                );
            }
            text
        }
        Err(e) => format!("margin mode: cannot be read (positions refused: {e})"),
    };
    Check::new(
        "account_mode",
        Outcome::Pass,
        format!("{position_mode}; {margin}"),
    )
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use tradeengine_model::{MarginMode, Quantity, Symbol};

    use super::*;
    use crate::VenueErrorKind;

    fn sym(s: &str) -> Symbol {
        Symbol::new(s).unwrap_or_else(|_| panic!("{s}"))
    }

    fn configured(s: &str) -> ConfiguredSymbol {
        ConfiguredSymbol {
            symbol: sym(s),
            leverage: None,
        }
    }

    #[test]
    fn each_symbol_shows_the_venues_margin_mode_or_says_it_has_none() {
        let held = Position {
            size: Quantity::new(Decimal::new(1, 3)),
            leverage: Decimal::from(5),
            margin_mode: MarginMode::Isolated,
            ..Position::flat(sym("BTCUSDT"))
        };
        let c = account_mode(
            &Ok(vec![held]),
            &[configured("BTCUSDT"), configured("ETHUSDT")],
        );
        assert_eq!(c.outcome, Outcome::Pass);
        assert!(c.answer.contains("one-way"), "{}", c.answer);
        assert!(c.answer.contains("BTCUSDT isolated ×5"), "{}", c.answer);
        assert!(
            c.answer.contains("ETHUSDT not reported (no position)")
                && c.answer.contains("the engine sets margin mode"),
            "{}",
            c.answer
        );
        // Every symbol reported: no caveat.
        let c = account_mode(&Ok(Vec::new()), &[]);
        assert!(!c.answer.contains("only with a position"), "{}", c.answer);
    }

    #[test]
    fn a_refused_positions_read_says_the_margin_mode_cannot_be_read() {
        let e = VenueError::new("bybit", VenueErrorKind::Auth, "no permission");
        let c = account_mode(&Err(e), &[configured("BTCUSDT")]);
        assert!(c.answer.contains("cannot be read"), "{}", c.answer);
        assert!(c.answer.contains("no permission"), "{}", c.answer);
    }
}
