//! Stop-loss and take-profit exits of sleeves.
//!
//! A sleeve's protective levels are virtual, like the sleeve: no stop order sits on the venue
//! for them (the venue position is the net of all sleeves). Each cycle the engine asks
//! [`sleeve_exits`] which sleeves crossed a level at the current mark price and closes them with
//! [`super::close_sleeve`]; the next blend then lowers the target.
//!
//! Trigger rules, with `m` the mark price:
//! - long: stop-loss when `m ≤ stop_loss`, take-profit when `m ≥ take_profit`;
//! - short: stop-loss when `m ≥ stop_loss`, take-profit when `m ≤ take_profit`.
//!
//! When both hold (levels crossed over, a gap through both), the stop-loss wins: reporting a
//! loss as a profit would be the worse mistake.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;
use tradeengine_model::{
    Price, SignalId, Sleeve, SleeveOrigin, SleeveState, SourceId, Symbol, Timestamp,
};

/// Why a sleeve must close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    StopLoss,
    TakeProfit,
}

/// One sleeve that crossed a protective level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SleeveExit {
    pub source: SourceId,
    pub symbol: Symbol,
    pub reason: ExitReason,
    /// The level that was crossed.
    pub level: Price,
    /// The mark price that crossed it.
    pub mark: Price,
    /// The signal that set the sleeve, for the audit trail.
    pub last_signal: Option<SignalId>,
    pub at: Timestamp,
}

/// Which open sleeves hit their stop-loss or take-profit at `marks`, in input order.
///
/// Sleeves that are not open, have no levels, or whose symbol has no mark are skipped: without a
/// price nothing can be said, and the engine reports missing prices on its own.
pub fn sleeve_exits(
    sleeves: &[Sleeve],
    marks: &BTreeMap<Symbol, Price>,
    now: Timestamp,
) -> Vec<SleeveExit> {
    let mut exits = Vec::new();
    for sleeve in sleeves {
        if sleeve.state != SleeveState::Open {
            continue;
        }
        let long = match sleeve.exposure {
            SleeveOrigin::Depth(v) | SleeveOrigin::Base(v) if v > Decimal::ZERO => true,
            SleeveOrigin::Depth(v) | SleeveOrigin::Base(v) if v < Decimal::ZERO => false,
            _ => continue,
        };
        let Some(&mark) = marks.get(&sleeve.symbol) else {
            continue;
        };
        let stop = sleeve
            .stop_loss
            .filter(|&sl| if long { mark <= sl } else { mark >= sl })
            .map(|sl| (ExitReason::StopLoss, sl));
        let take = || {
            sleeve
                .take_profit
                .filter(|&tp| if long { mark >= tp } else { mark <= tp })
                .map(|tp| (ExitReason::TakeProfit, tp))
        };
        if let Some((reason, level)) = stop.or_else(take) {
            exits.push(SleeveExit {
                source: sleeve.source.clone(),
                symbol: sleeve.symbol.clone(),
                reason,
                level,
                mark,
                last_signal: sleeve.last_signal.clone(),
                at: now,
            });
        }
    }
    exits
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    use super::*;

    fn t0() -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    fn p(v: Decimal) -> Price {
        Price::new(v).unwrap()
    }

    fn sleeve(
        sym: &str,
        exposure: SleeveOrigin,
        sl: Option<Decimal>,
        tp: Option<Decimal>,
    ) -> Sleeve {
        let mut s = Sleeve::flat(
            SourceId::new("ta").unwrap(),
            Symbol::new(sym).unwrap(),
            t0(),
        );
        s.state = SleeveState::Open;
        s.exposure = exposure;
        s.entry_price = Some(p(dec!(100)));
        s.stop_loss = sl.map(p);
        s.take_profit = tp.map(p);
        s
    }

    fn marks(m: &[(&str, Decimal)]) -> BTreeMap<Symbol, Price> {
        m.iter()
            .map(|(s, v)| (Symbol::new(s).unwrap(), p(*v)))
            .collect()
    }

    #[test]
    fn long_exits_below_stop_and_above_take_profit() {
        let s = [sleeve(
            "BTCUSDT",
            SleeveOrigin::Base(dec!(1)),
            Some(dec!(98)),
            Some(dec!(103)),
        )];
        assert!(sleeve_exits(&s, &marks(&[("BTCUSDT", dec!(100))]), t0()).is_empty());
        let e = sleeve_exits(&s, &marks(&[("BTCUSDT", dec!(98))]), t0());
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].reason, ExitReason::StopLoss);
        assert_eq!(e[0].level, p(dec!(98)));
        let e = sleeve_exits(&s, &marks(&[("BTCUSDT", dec!(103.5))]), t0());
        assert_eq!(e[0].reason, ExitReason::TakeProfit);
        assert_eq!(e[0].mark, p(dec!(103.5)));
    }

    #[test]
    fn short_levels_are_mirrored() {
        let s = [sleeve(
            "ETHUSDT",
            SleeveOrigin::Depth(dec!(-0.1)),
            Some(dec!(102)),
            Some(dec!(97)),
        )];
        assert!(sleeve_exits(&s, &marks(&[("ETHUSDT", dec!(99))]), t0()).is_empty());
        assert_eq!(
            sleeve_exits(&s, &marks(&[("ETHUSDT", dec!(102))]), t0())[0].reason,
            ExitReason::StopLoss
        );
        assert_eq!(
            sleeve_exits(&s, &marks(&[("ETHUSDT", dec!(96))]), t0())[0].reason,
            ExitReason::TakeProfit
        );
    }

    #[test]
    fn stop_loss_wins_when_both_cross() {
        // Crossed-over levels: a long with stop 105 above take-profit 95.
        let s = [sleeve(
            "BTCUSDT",
            SleeveOrigin::Base(dec!(1)),
            Some(dec!(105)),
            Some(dec!(95)),
        )];
        let e = sleeve_exits(&s, &marks(&[("BTCUSDT", dec!(100))]), t0());
        assert_eq!(e[0].reason, ExitReason::StopLoss);
    }

    #[test]
    fn flat_unpriced_and_unprotected_sleeves_are_skipped() {
        let mut closed = sleeve("BTCUSDT", SleeveOrigin::Base(dec!(1)), Some(dec!(98)), None);
        closed.state = SleeveState::Cooling;
        let bare = sleeve("BTCUSDT", SleeveOrigin::Base(dec!(1)), None, None);
        let unpriced = sleeve("SOLUSDT", SleeveOrigin::Base(dec!(1)), Some(dec!(98)), None);
        let flat = sleeve("BTCUSDT", SleeveOrigin::Base(dec!(0)), Some(dec!(98)), None);
        let e = sleeve_exits(
            &[closed, bare, unpriced, flat],
            &marks(&[("BTCUSDT", dec!(50))]),
            t0(),
        );
        assert!(e.is_empty());
    }
}
