//! A replay of the store's own session beside the session itself: whether it gives the same
//! orders, fills and P&L by source, and what differs when it does not.

use rust_decimal::Decimal;
use tradeengine_engine::pnl::GroupBy;
use tradeengine_model::Symbol;

use super::money;

/// The live session a replay of the store's own session stands beside: its orders, fills and
/// P&L by source, as the store holds them.
#[derive(Debug)]
pub(super) struct LiveComparison {
    orders: usize,
    fills: usize,
    pnl: Decimal,
    /// Whether the replay gave the same orders (symbol, side, quantity), fills (and their
    /// prices and fees) and P&L by source, to the last decimal.
    same: bool,
    /// What differs, and what the session held that a replay does not simulate.
    differences: Vec<String>,
}

impl LiveComparison {
    pub(super) fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "orders": self.orders,
            "fills": self.fills,
            "pnl": self.pnl,
            "same": self.same,
            "differences": self.differences,
        })
    }

    pub(super) fn lines(&self) -> Vec<String> {
        let head = format!(
            "live session: {} orders, {} fills, P&L {}",
            self.orders,
            self.fills,
            money(self.pnl)
        );
        if self.same {
            return vec![format!(
                "{head}: the replay gives the same orders, fills and P&L by source"
            )];
        }
        let mut out = vec![format!("{head}: THE REPLAY DIFFERS from the live session")];
        out.extend(self.differences.iter().map(|d| format!("  {d}")));
        out
    }
}

/// Compares a replay of the store's own session with the session itself.
pub(super) async fn compare_live(
    store: &dyn tradeengine_store::Store,
    account: &tradeengine_model::AccountName,
    outcome: &tradeengine_engine::replay::ReplayOutcome,
) -> anyhow::Result<LiveComparison> {
    let page = tradeengine_store::MAX_PAGE;
    let mut orders = Vec::new();
    loop {
        let more = store
            .orders(&tradeengine_store::OrderFilter {
                account: Some(account.clone()),
                limit: Some(page),
                offset: Some(i64::try_from(orders.len())?),
                ..Default::default()
            })
            .await?;
        let done = more.len() < usize::try_from(page)?;
        orders.extend(more);
        if done {
            break;
        }
    }
    orders.reverse(); // newest first from the store
    let mut fills = Vec::new();
    loop {
        let after = fills
            .last()
            .map_or(0, |f: &tradeengine_store::StoredFill| f.seq);
        let more = store.fills_in_order(Some(account), after, page).await?;
        if more.is_empty() {
            break;
        }
        fills.extend(more);
    }
    let books = tradeengine_engine::pnl::rebuild(store, Some(account), None).await?;
    let (live_lines, live_total) =
        books
            .ledger
            .report(Some(account), &books.marks, GroupBy::Source)?;
    let (lines, _) = outcome.ledger.report(None, &books.marks, GroupBy::Source)?;
    let mut differences = Vec::new();
    // Per symbol: the live engine plans symbols in parallel, so only their own order is fixed.
    let shape = |symbol: &Symbol, side, qty: Decimal| (symbol.clone(), side, qty.normalize());
    let mut live_orders: Vec<_> = orders
        .iter()
        .map(|o| shape(&o.symbol, o.side, o.qty))
        .collect();
    let mut replayed: Vec<_> = outcome
        .orders
        .iter()
        .map(|o| shape(&o.symbol, o.side, o.qty))
        .collect();
    live_orders.sort_by(|a, b| a.0.cmp(&b.0));
    replayed.sort_by(|a, b| a.0.cmp(&b.0));
    if live_orders != replayed {
        differences.push(format!(
            "orders: {} live, {} replayed{}",
            orders.len(),
            outcome.orders.len(),
            first_difference(&live_orders, &replayed)
        ));
    }
    let fill = |f: &tradeengine_model::Fill| {
        (
            f.symbol.clone(),
            f.side,
            f.qty.normalize(),
            f.price.get().normalize(),
            f.fee.normalize(),
        )
    };
    let mut live_fills: Vec<_> = fills.iter().map(|f| fill(&f.fill)).collect();
    let mut replayed_fills: Vec<_> = outcome.fills.iter().map(fill).collect();
    live_fills.sort_by(|a, b| a.0.cmp(&b.0));
    replayed_fills.sort_by(|a, b| a.0.cmp(&b.0));
    if live_fills != replayed_fills {
        let repriced = live_fills
            .iter()
            .zip(&replayed_fills)
            .filter(|(l, r)| (&l.0, l.1, l.2) == (&r.0, r.1, r.2) && l.3 != r.3)
            .count();
        differences.push(format!(
            "fills: {} live, {} replayed; {repriced} of the same order filled at another price \
             (the live paper venue fills at the market price when the order reaches it, which \
             can have moved since the cycle's reading)",
            fills.len(),
            outcome.fills.len(),
        ));
    }
    if lines != live_lines {
        differences.push("P&L by source differs".to_string());
    }
    let same = differences.is_empty();
    if !same {
        differences.push(
            "not simulated by a replay: stop-loss / take-profit exits, the pre-trade risk gate \
             and loss limits, the kill switch, positions the engine did not open, the \
             venue-refusal back-off, and sessions stored before readings listed their signals"
                .to_string(),
        );
    }
    Ok(LiveComparison {
        orders: orders.len(),
        fills: fills.len(),
        pnl: live_total.pnl,
        same,
        differences,
    })
}

/// ", first at symbol S: live …, replayed …" for the first position two lists differ at.
fn first_difference<T: std::fmt::Debug + PartialEq>(live: &[T], replayed: &[T]) -> String {
    let n = live
        .iter()
        .zip(replayed)
        .take_while(|(a, b)| a == b)
        .count();
    match (live.get(n), replayed.get(n)) {
        (Some(l), Some(r)) => format!(
            ", first difference at #{}: live {l:?}, replayed {r:?}",
            n + 1
        ),
        (Some(l), None) => format!(", live goes on with {l:?}"),
        (None, Some(r)) => format!(", replay goes on with {r:?}"),
        (None, None) => String::new(),
    }
}
