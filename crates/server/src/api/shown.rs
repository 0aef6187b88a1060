//! The API's numbers as an operator reads them: every price, money amount and blend figure goes
//! out rounded by [`tradeengine_engine::display`] (prices at the instrument's tick, money at
//! 2 dp, blend figures at 4 dp, risk fractions at 6 dp), still as Decimal strings. The engine keeps the exact values;
//! only what is shown is rounded.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use tradeengine_core::blend::Blend;
use tradeengine_engine::display;
use tradeengine_engine::state::AccountView;
use tradeengine_model::{Position, Price, SleeveOrigin, Symbol};
use tradeengine_store::{EquitySnapshot, StoredOrder};

/// Ticks per symbol, as the account workers found them.
pub type Ticks = BTreeMap<Symbol, Decimal>;

fn tick(ticks: &Ticks, symbol: &Symbol) -> Option<Decimal> {
    ticks.get(symbol).copied()
}

/// A price at its symbol's tick.
pub fn price(ticks: &Ticks, symbol: &Symbol, value: Decimal) -> Decimal {
    display::price(value, tick(ticks, symbol))
}

fn origin(o: SleeveOrigin) -> SleeveOrigin {
    match o {
        SleeveOrigin::Depth(d) => SleeveOrigin::Depth(display::blend(d)),
        SleeveOrigin::Base(b) => SleeveOrigin::Base(display::qty(b)),
    }
}

/// A blend with its depths, weights and leverages at 4 dp and base quantities at 8 dp.
pub fn blend(b: &Blend) -> Blend {
    let mut b = b.clone();
    b.depth = display::blend(b.depth);
    b.raw_depth = display::blend(b.raw_depth);
    b.raw_leverage = display::blend(b.raw_leverage);
    b.base = display::qty(b.base);
    for c in &mut b.contributions {
        c.weight = display::blend(c.weight);
        c.exposure = c.exposure.map(origin);
        c.contribution = origin(c.contribution);
        c.leverage = c.leverage.map(display::blend);
    }
    b
}

/// A position with its entry price at the tick.
pub fn position(ticks: &Ticks, p: &Position) -> Position {
    let mut p = p.clone();
    p.entry_price = p.entry_price.and_then(|e| {
        Price::new(price(ticks, &p.symbol, e.get()))
            .ok()
            .or(Some(e))
    });
    p
}

/// An account view with its value and risk equities as money, its risk figures as fractions
/// at 6 dp, and its positions' entry prices at the tick.
pub fn account(ticks: &Ticks, v: &AccountView) -> AccountView {
    let mut v = v.clone();
    v.value = v.value.map(display::money);
    v.positions = v.positions.iter().map(|p| position(ticks, p)).collect();
    if let Some(r) = &mut v.risk {
        r.last_equity = r.last_equity.map(display::money);
        r.high_water = r.high_water.map(display::money);
        for period in [&mut r.day, &mut r.week, &mut r.month]
            .into_iter()
            .flatten()
        {
            period.equity = display::money(period.equity);
        }
        let f = &mut r.figures;
        for figure in [&mut f.daily, &mut f.weekly, &mut f.monthly, &mut f.drawdown] {
            *figure = figure.map(display::fraction);
        }
    }
    v
}

/// An order with its average fill price at the tick.
pub fn order(ticks: &Ticks, o: StoredOrder) -> StoredOrder {
    let mut o = o;
    o.avg_fill_price = o.avg_fill_price.map(|p| price(ticks, &o.symbol, p));
    o
}

/// An equity reading as money.
pub fn equity(e: EquitySnapshot) -> EquitySnapshot {
    let mut e = e;
    e.value = display::money(e.value);
    e.unrealised_pnl = display::money(e.unrealised_pnl);
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap_or_default()
    }

    #[test]
    fn entry_and_fill_prices_go_out_at_the_tick() {
        let Ok(btc) = Symbol::new("BTCUSDT") else {
            panic!("symbol")
        };
        let mut ticks = Ticks::new();
        ticks.insert(btc.clone(), d("0.1"));
        let Ok(entry) = Price::new(d("60243.206825006825006825006824")) else {
            panic!("price")
        };
        let mut p = Position::flat(btc.clone());
        p.entry_price = Some(entry);
        let shown = position(&ticks, &p);
        assert_eq!(
            shown.entry_price.map(|e| e.get().to_string()).as_deref(),
            Some("60243.2")
        );
        let mut v = AccountView {
            value: Some(d("10012.3456789")),
            positions: vec![p],
            ..AccountView::default()
        };
        v = account(&ticks, &v);
        assert_eq!(v.value.map(|x| x.to_string()).as_deref(), Some("10012.35"));
        assert_eq!(
            v.positions[0]
                .entry_price
                .map(|e| e.get().to_string())
                .as_deref(),
            Some("60243.2")
        );
        // A symbol whose tick is not known yet: six significant digits.
        let Ok(eth) = Symbol::new("ETHUSDT") else {
            panic!("symbol")
        };
        assert_eq!(price(&ticks, &eth, d("3012.456789")).to_string(), "3012.46");
    }

    #[test]
    fn risk_equities_go_out_as_money_and_loss_figures_at_six_places() {
        use tradeengine_core::risk::portfolio::{LossFigures, PeriodStart, PortfolioTracker};
        let at = chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default();
        let v = AccountView {
            risk: Some(PortfolioTracker {
                last_equity: Some(d("9876.543219876543")),
                high_water: Some(d("10000.004999")),
                day: Some(PeriodStart {
                    period: at,
                    equity: d("9990.1234567"),
                }),
                figures: LossFigures {
                    daily: Some(d("0.01234567890123")),
                    weekly: None,
                    monthly: Some(d("-0.0000049")),
                    drawdown: Some(d("0.0123456")),
                },
                ..PortfolioTracker::default()
            }),
            ..AccountView::default()
        };
        let shown = account(&Ticks::new(), &v);
        let Some(r) = shown.risk else {
            panic!("risk kept")
        };
        let s = |x: Option<Decimal>| x.map(|x| x.to_string());
        assert_eq!(s(r.last_equity).as_deref(), Some("9876.54"));
        assert_eq!(s(r.high_water).as_deref(), Some("10000"));
        assert_eq!(s(r.day.map(|p| p.equity)).as_deref(), Some("9990.12"));
        assert_eq!(s(r.figures.daily).as_deref(), Some("0.012346"));
        assert_eq!(s(r.figures.weekly), None);
        assert_eq!(s(r.figures.monthly).as_deref(), Some("-0.000005"));
        assert_eq!(s(r.figures.drawdown).as_deref(), Some("0.012346"));
    }
}
