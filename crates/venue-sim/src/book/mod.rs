//! The account behind a simulator, independent of protocol: instruments, prices, the USDT
//! wallet, one-way positions, leverage, margin mode, and orders (market orders fill at the
//! current price, limit orders rest until the price crosses them).
//!
//! ## Accounting (all USDT, sizes in base units, `S` signed size, `E` average entry)
//!
//! - a fill of `q` (signed) at `p` that grows the position: `E' = (|S|·E + |q|·p) / (|S| + |q|)`;
//! - one that shrinks it realises `min(|q|, |S|) · (p − E) · sign(S)` into the wallet; the rest,
//!   if any, opens the other side at `p`;
//! - every fill pays `fee = |q| · p · taker_fee_rate` from the wallet;
//! - equity = wallet + Σ (mark − E) · S; initial margin = Σ |S| · mark / leverage, and an order
//!   that grows exposure is refused if initial margin after the fill would exceed equity.
//!
//! ## Rules enforced, as the venues do
//!
//! unknown symbol; quantity on the step, ≥ minimum, ≤ maximum (market maximum for market
//! orders); price on the tick; `qty · price ≥ min_notional` unless reduce-only; reduce-only must
//! shrink an existing position (and is cut to the position's size); client order ids are unique
//! for ever; hedge-mode accounts refuse one-way orders.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::{Decimal, RoundingStrategy};
use tokio::sync::broadcast;
use tradeengine_model::{MarginMode, Side};

use crate::options::{SimInstrument, SimOptions};

mod types;

pub use types::{NewOrder, OrderType, Reject, SimEvent, SimOrder, SimPosition, SimStatus};

/// The simulated account.
#[derive(Debug)]
pub struct Exchange {
    instruments: BTreeMap<String, SimInstrument>,
    prices: BTreeMap<String, Decimal>,
    wallet: Decimal,
    positions: BTreeMap<String, SimPosition>,
    leverage: BTreeMap<String, Decimal>,
    default_leverage: Decimal,
    account_margin: MarginMode,
    symbol_margin: BTreeMap<String, MarginMode>,
    pub hedge_mode: bool,
    fee_rate: Decimal,
    orders: Vec<SimOrder>,
    by_client: HashMap<String, usize>,
    /// Every client id ever submitted, with how many create requests carried it.
    submissions: BTreeMap<String, u32>,
    next_id: u64,
    /// Fault: the next market order fills only this fraction.
    pub partial_next: Option<Decimal>,
    /// Fault: the next order placed is refused for insufficient margin (see `Fault::Reject`).
    pub reject_next: bool,
    /// Fault: the next limit order fills at once, in full, at its limit price, however far
    /// from the mark it is: the book moved through it between the client's quote and its order
    /// (what a self-test's far-from-market order must notice and report).
    pub fill_limit_next: bool,
    events: broadcast::Sender<SimEvent>,
    /// Every price set, for the kline endpoints.
    history: crate::klines::PriceHistory,
}

/// The instrument's grid: a positive quantity on its step, within its minimum and the maximum
/// for the order type, and a positive price on its tick.
fn check_grid(inst: &SimInstrument, req: &NewOrder) -> Result<(), Reject> {
    let qty = req.qty;
    if qty <= Decimal::ZERO || !on_step(qty, inst.qty_step) {
        return Err(Reject::BadQty(format!(
            "qty {qty} is not a positive multiple of {}",
            inst.qty_step
        )));
    }
    if qty < inst.min_qty {
        return Err(Reject::BadQty(format!(
            "qty {qty} below the minimum {}",
            inst.min_qty
        )));
    }
    let max = if req.order_type == OrderType::Market {
        inst.max_market_qty
    } else {
        inst.max_qty
    };
    if qty > max {
        return Err(Reject::QtyAboveMax(format!(
            "qty {qty} above the maximum {max}"
        )));
    }
    if let Some(p) = req.price
        && (p <= Decimal::ZERO || !on_step(p, inst.tick_size))
    {
        return Err(Reject::BadPrice(format!(
            "price {p} is not a positive multiple of {}",
            inst.tick_size
        )));
    }
    Ok(())
}

fn on_step(v: Decimal, step: Decimal) -> bool {
    step > Decimal::ZERO && v.checked_rem(step).is_some_and(|r| r.is_zero())
}

impl Exchange {
    pub fn new(opts: &SimOptions, events: broadcast::Sender<SimEvent>) -> Self {
        Self {
            instruments: opts
                .instruments
                .iter()
                .map(|i| (i.symbol.clone(), i.clone()))
                .collect(),
            prices: opts.prices.clone(),
            wallet: opts.balance,
            positions: BTreeMap::new(),
            leverage: BTreeMap::new(),
            default_leverage: opts.default_leverage,
            account_margin: MarginMode::Cross,
            symbol_margin: BTreeMap::new(),
            hedge_mode: opts.hedge_mode,
            fee_rate: opts.taker_fee_rate,
            orders: Vec::new(),
            by_client: HashMap::new(),
            submissions: BTreeMap::new(),
            next_id: 1_000_001,
            partial_next: None,
            reject_next: false,
            fill_limit_next: false,
            events,
            history: {
                let mut h = crate::klines::PriceHistory::default();
                for (symbol, price) in &opts.prices {
                    h.record(symbol, 0, *price, Decimal::ZERO);
                }
                h
            },
        }
    }

    /// The price path the kline endpoints serve.
    pub fn history(&self) -> &crate::klines::PriceHistory {
        &self.history
    }

    pub fn history_mut(&mut self) -> &mut crate::klines::PriceHistory {
        &mut self.history
    }

    pub fn instruments(&self) -> impl Iterator<Item = &SimInstrument> {
        self.instruments.values()
    }

    pub fn instrument(&self, symbol: &str) -> Option<&SimInstrument> {
        self.instruments.get(symbol)
    }

    pub fn price(&self, symbol: &str) -> Option<Decimal> {
        self.prices.get(symbol).copied()
    }

    pub fn prices(&self) -> &BTreeMap<String, Decimal> {
        &self.prices
    }

    pub fn wallet(&self) -> Decimal {
        self.wallet
    }

    pub fn unrealised(&self, symbol: &str) -> Decimal {
        match (self.positions.get(symbol), self.price(symbol)) {
            (Some(p), Some(mark)) if !p.size.is_zero() => (mark - p.entry) * p.size,
            _ => Decimal::ZERO,
        }
    }

    pub fn equity(&self) -> Decimal {
        self.wallet
            + self
                .positions
                .keys()
                .map(|s| self.unrealised(s))
                .sum::<Decimal>()
    }

    pub fn initial_margin(&self) -> Decimal {
        self.positions
            .iter()
            .map(|(s, p)| p.size.abs() * self.price(s).unwrap_or_default() / self.leverage(s))
            .sum()
    }

    pub fn positions(&self) -> &BTreeMap<String, SimPosition> {
        &self.positions
    }

    pub fn position(&self, symbol: &str) -> SimPosition {
        self.positions.get(symbol).cloned().unwrap_or_default()
    }

    pub fn leverage(&self, symbol: &str) -> Decimal {
        self.leverage
            .get(symbol)
            .copied()
            .unwrap_or(self.default_leverage)
    }

    pub fn account_margin(&self) -> MarginMode {
        self.account_margin
    }

    pub fn symbol_margin(&self, symbol: &str) -> MarginMode {
        self.symbol_margin
            .get(symbol)
            .copied()
            .unwrap_or(self.account_margin)
    }

    pub fn submissions(&self) -> &BTreeMap<String, u32> {
        &self.submissions
    }

    /// The taker fee rate every fill pays.
    pub fn fee_rate(&self) -> Decimal {
        self.fee_rate
    }

    pub fn orders(&self) -> &[SimOrder] {
        &self.orders
    }

    pub fn set_leverage(&mut self, symbol: &str, leverage: Decimal) -> Result<(), Reject> {
        let max = self
            .instrument(symbol)
            .ok_or_else(|| Reject::UnknownSymbol(symbol.into()))?
            .max_leverage;
        if leverage < Decimal::ONE || leverage > max {
            return Err(Reject::BadLeverage(format!(
                "leverage {leverage} outside 1..={max}"
            )));
        }
        if self.leverage(symbol) == leverage {
            return Err(Reject::NotModified);
        }
        self.leverage.insert(symbol.to_string(), leverage);
        Ok(())
    }

    /// Bybit UTA: one margin mode for the account.
    pub fn set_account_margin(&mut self, mode: MarginMode) -> Result<(), Reject> {
        if self.account_margin == mode {
            return Err(Reject::NotModified);
        }
        self.account_margin = mode;
        self.symbol_margin.clear();
        Ok(())
    }

    /// Binance: per symbol, refused while a position is open.
    pub fn set_symbol_margin(&mut self, symbol: &str, mode: MarginMode) -> Result<(), Reject> {
        if self.instrument(symbol).is_none() {
            return Err(Reject::UnknownSymbol(symbol.into()));
        }
        if self.symbol_margin(symbol) == mode {
            return Err(Reject::NotModified);
        }
        if !self.position(symbol).size.is_zero() {
            return Err(Reject::PositionOpen);
        }
        self.symbol_margin.insert(symbol.to_string(), mode);
        Ok(())
    }

    pub fn find(
        &self,
        symbol: Option<&str>,
        client_id: Option<&str>,
        order_id: Option<u64>,
    ) -> Option<&SimOrder> {
        let found = match (client_id, order_id) {
            (Some(c), _) => self.by_client.get(c).map(|i| &self.orders[*i]),
            (None, Some(id)) => self.orders.iter().find(|o| o.order_id == id),
            (None, None) => None,
        }?;
        symbol.is_none_or(|s| s == found.symbol).then_some(found)
    }

    pub fn open_orders(&self, symbol: Option<&str>) -> Vec<SimOrder> {
        self.orders
            .iter()
            .filter(|o| o.status.is_open() && symbol.is_none_or(|s| s == o.symbol))
            .cloned()
            .collect()
    }

    /// Validates, records and (for market or marketable orders) fills a new order.
    pub fn place(&mut self, req: NewOrder, now_ms: i64) -> Result<SimOrder, Reject> {
        if !req.client_id.is_empty() {
            *self.submissions.entry(req.client_id.clone()).or_insert(0) += 1;
            if self.by_client.contains_key(&req.client_id) {
                return Err(Reject::DuplicateClientId(req.client_id));
            }
        }
        if std::mem::take(&mut self.reject_next) {
            return Err(Reject::InsufficientMargin(
                "refused by the simulator (injected reject)".into(),
            ));
        }
        if self.hedge_mode {
            return Err(Reject::HedgeMode);
        }
        let inst = self
            .instrument(&req.symbol)
            .cloned()
            .ok_or_else(|| Reject::UnknownSymbol(req.symbol.clone()))?;
        let mark = self
            .price(&req.symbol)
            .ok_or_else(|| Reject::UnknownSymbol(req.symbol.clone()))?;
        check_grid(&inst, &req)?;
        let qty = self.admit(&req, &inst, mark)?;
        let order = SimOrder {
            order_id: self.next_id,
            client_id: req.client_id.clone(),
            symbol: req.symbol.clone(),
            side: req.side,
            order_type: req.order_type,
            price: req.price,
            qty,
            filled: Decimal::ZERO,
            avg_price: None,
            fee: Decimal::ZERO,
            reduce_only: req.reduce_only,
            status: SimStatus::New,
            created_ms: now_ms,
            updated_ms: now_ms,
            last_fill: None,
        };
        self.next_id += 1;
        let idx = self.orders.len();
        self.orders.push(order);
        if !req.client_id.is_empty() {
            self.by_client.insert(req.client_id.clone(), idx);
        }
        self.execute_new(idx, &req, &inst, mark, now_ms);
        Ok(self.orders[idx].clone())
    }

    /// The quantity a new order may have: a reduce-only order is cut to the position it
    /// reduces (and refused when there is none); any other must meet the minimum notional and
    /// the margin it needs.
    fn admit(
        &self,
        req: &NewOrder,
        inst: &SimInstrument,
        mark: Decimal,
    ) -> Result<Decimal, Reject> {
        let pos = self.position(&req.symbol);
        if req.reduce_only {
            let reduces = (pos.size > Decimal::ZERO && req.side == Side::Sell)
                || (pos.size < Decimal::ZERO && req.side == Side::Buy);
            if !reduces {
                return Err(Reject::ReduceOnlyRefused(format!(
                    "no {} position to reduce",
                    req.symbol
                )));
            }
            return Ok(req.qty.min(pos.size.abs()));
        }
        let ref_price = req.price.unwrap_or(mark);
        let notional = req.qty * ref_price;
        if notional < inst.min_notional {
            return Err(Reject::NotionalBelowMin {
                notional,
                min: inst.min_notional,
            });
        }
        self.check_margin(&req.symbol, req.side, req.qty, mark)?;
        Ok(req.qty)
    }

    /// Fills the order just stored at `idx` as far as the book allows: a market order or a
    /// crossed limit at the mark (partly, when a partial fill was asked for), a limit forced
    /// to fill at its price, or none, leaving it resting.
    fn execute_new(
        &mut self,
        idx: usize,
        req: &NewOrder,
        inst: &SimInstrument,
        mark: Decimal,
        now_ms: i64,
    ) {
        let qty = self.orders[idx].qty;
        let marketable = match (req.order_type, req.price) {
            (OrderType::Market, _) => true,
            (OrderType::Limit, Some(p)) => {
                (req.side == Side::Buy && p >= mark) || (req.side == Side::Sell && p <= mark)
            }
            (OrderType::Limit, None) => false,
        };
        let forced =
            req.order_type == OrderType::Limit && std::mem::take(&mut self.fill_limit_next);
        if forced && !marketable {
            let at = req.price.unwrap_or(mark);
            self.fill(idx, qty, at, now_ms);
        } else if marketable {
            let mut fill_qty = qty;
            if req.order_type == OrderType::Market
                && let Some(fraction) = self.partial_next.take()
            {
                let part = (qty * fraction / inst.qty_step)
                    .round_dp_with_strategy(0, RoundingStrategy::ToZero)
                    * inst.qty_step;
                fill_qty = part.max(inst.qty_step).min(qty);
            }
            self.fill(idx, fill_qty, mark, now_ms);
            if fill_qty < qty {
                self.orders[idx].status = SimStatus::PartiallyFilledCancelled;
                self.emit_order(idx);
            }
        } else {
            self.emit_order(idx);
        }
    }

    fn check_margin(
        &self,
        symbol: &str,
        side: Side,
        qty: Decimal,
        mark: Decimal,
    ) -> Result<(), Reject> {
        let pos = self.position(symbol);
        let signed = if side == Side::Buy { qty } else { -qty };
        let after = pos.size + signed;
        if after.abs() <= pos.size.abs() {
            return Ok(());
        }
        let others: Decimal = self
            .positions
            .iter()
            .filter(|(s, _)| s.as_str() != symbol)
            .map(|(s, p)| p.size.abs() * self.price(s).unwrap_or_default() / self.leverage(s))
            .sum();
        let needed = others + after.abs() * mark / self.leverage(symbol);
        let equity = self.equity() - qty * mark * self.fee_rate;
        if needed > equity {
            return Err(Reject::InsufficientMargin(format!(
                "initial margin {} would exceed equity {}",
                needed.round_dp(2),
                equity.round_dp(2)
            )));
        }
        Ok(())
    }

    fn fill(&mut self, idx: usize, qty: Decimal, price: Decimal, now_ms: i64) {
        let (symbol, side) = (self.orders[idx].symbol.clone(), self.orders[idx].side);
        let fee = qty * price * self.fee_rate;
        let signed = if side == Side::Buy { qty } else { -qty };
        let pos = self.position(&symbol);
        let mut next = pos.clone();
        if pos.size.is_zero() || pos.size.is_sign_positive() == signed.is_sign_positive() {
            let total = pos.size.abs() + qty;
            next.entry = (pos.size.abs() * pos.entry + qty * price) / total;
            next.size = pos.size + signed;
        } else {
            let closing = qty.min(pos.size.abs());
            let direction = if pos.size > Decimal::ZERO {
                Decimal::ONE
            } else {
                Decimal::NEGATIVE_ONE
            };
            self.wallet += closing * (price - pos.entry) * direction;
            next.size = pos.size + signed;
            if next.size.is_zero() {
                next.entry = Decimal::ZERO;
            } else if next.size.is_sign_positive() != pos.size.is_sign_positive() {
                next.entry = price;
            }
        }
        self.wallet -= fee;
        self.positions.insert(symbol.clone(), next.clone());
        let o = &mut self.orders[idx];
        let old_value = o.filled * o.avg_price.unwrap_or_default();
        o.filled += qty;
        o.avg_price = Some(
            ((old_value + qty * price) / o.filled)
                .round_dp(8)
                .normalize(),
        );
        o.fee += fee;
        o.status = if o.filled >= o.qty {
            SimStatus::Filled
        } else {
            SimStatus::PartiallyFilled
        };
        o.updated_ms = now_ms;
        o.last_fill = Some((qty, price));
        let _ = self.events.send(SimEvent::Order {
            order: self.orders[idx].clone(),
            trade: true,
        });
        let _ = self.events.send(SimEvent::Position {
            leverage: self.leverage(&symbol),
            mark: self.price(&symbol).unwrap_or(price),
            symbol,
            size: next.size,
            entry: next.entry,
            updated_ms: now_ms,
        });
        let _ = self.events.send(SimEvent::Wallet {
            balance: self.wallet,
            equity: self.equity(),
        });
    }

    fn emit_order(&self, idx: usize) {
        let _ = self.events.send(SimEvent::Order {
            order: self.orders[idx].clone(),
            trade: false,
        });
    }

    /// Cancels an open order.
    pub fn cancel(
        &mut self,
        symbol: &str,
        client_id: Option<&str>,
        order_id: Option<u64>,
        now_ms: i64,
    ) -> Result<SimOrder, Reject> {
        let idx = match (client_id, order_id) {
            (Some(c), _) => self.by_client.get(c).copied(),
            (None, Some(id)) => self.orders.iter().position(|o| o.order_id == id),
            _ => None,
        }
        .filter(|i| self.orders[*i].symbol == symbol)
        .ok_or(Reject::OrderNotFound)?;
        if !self.orders[idx].status.is_open() {
            return Err(Reject::OrderNotFound);
        }
        let o = &mut self.orders[idx];
        o.status = if o.filled.is_zero() {
            SimStatus::Cancelled
        } else {
            SimStatus::PartiallyFilledCancelled
        };
        o.updated_ms = now_ms;
        self.emit_order(idx);
        Ok(self.orders[idx].clone())
    }

    /// Moves a price and fills the resting limit orders it crosses, at their limit price.
    pub fn set_price(&mut self, symbol: &str, price: Decimal, now_ms: i64) {
        self.prices.insert(symbol.to_string(), price);
        self.history.record(symbol, now_ms, price, Decimal::ZERO);
        let crossed: Vec<usize> = self
            .orders
            .iter()
            .enumerate()
            .filter(|(_, o)| {
                o.symbol == symbol && o.status.is_open() && o.order_type == OrderType::Limit
            })
            .filter(|(_, o)| match (o.side, o.price) {
                (Side::Buy, Some(p)) => price <= p,
                (Side::Sell, Some(p)) => price >= p,
                _ => false,
            })
            .map(|(i, _)| i)
            .collect();
        for idx in crossed {
            let o = &self.orders[idx];
            let mut qty = o.qty - o.filled;
            let limit = o.price.unwrap_or(price);
            if o.reduce_only {
                let pos = self.position(symbol);
                let reduces = (pos.size > Decimal::ZERO && o.side == Side::Sell)
                    || (pos.size < Decimal::ZERO && o.side == Side::Buy);
                if !reduces {
                    let o = &mut self.orders[idx];
                    o.status = SimStatus::Cancelled;
                    o.updated_ms = now_ms;
                    self.emit_order(idx);
                    continue;
                }
                qty = qty.min(pos.size.abs());
            }
            self.fill(idx, qty, limit, now_ms);
        }
    }
}

#[cfg(test)]
mod tests;
