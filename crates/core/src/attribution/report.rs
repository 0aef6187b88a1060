//! P&L lines: books marked to a price, and rolled up by source or by symbol.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tradeengine_model::{AccountName, Price, Symbol};

use super::book::SymbolBook;
use super::bucket::{Bucket, BucketBook};
use crate::CoreError;
use crate::num::{add, sub};

/// One line of a P&L report, quote units except `qty`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PnlLine {
    /// The source id, `unattributed`, a symbol or `account`, depending on the roll-up.
    pub name: String,
    /// The position in base units, when the line covers one symbol; `None` for a line that
    /// spans several (a source trading BTC and ETH, an account's total): base units of
    /// different symbols do not add up to anything.
    pub qty: Option<Decimal>,
    pub realised: Decimal,
    pub unrealised: Decimal,
    pub fees: Decimal,
    pub funding: Decimal,
    pub slippage: Decimal,
    pub netting_saving: Decimal,
    pub turnover: Decimal,
    /// realised + unrealised − fees + funding.
    pub pnl: Decimal,
}

impl PnlLine {
    fn of(name: &str, book: &BucketBook, mark: Decimal) -> Result<Self, CoreError> {
        Ok(Self {
            name: name.to_owned(),
            qty: Some(book.qty),
            realised: book.realised,
            unrealised: book.unrealised(mark)?,
            fees: book.fees,
            funding: book.funding,
            slippage: book.slippage,
            netting_saving: book.netting_saving,
            turnover: book.turnover,
            pnl: book.pnl(mark)?,
        })
    }

    /// Adds `other`'s amounts into `self` (the name stays).
    pub fn absorb(&mut self, other: &Self) -> Result<(), CoreError> {
        let w = "P&L roll-up";
        self.qty = match (self.qty, other.qty) {
            (Some(a), Some(b)) => Some(add(a, b, w)?),
            _ => None,
        };
        self.realised = add(self.realised, other.realised, w)?;
        self.unrealised = add(self.unrealised, other.unrealised, w)?;
        self.fees = add(self.fees, other.fees, w)?;
        self.funding = add(self.funding, other.funding, w)?;
        self.slippage = add(self.slippage, other.slippage, w)?;
        self.netting_saving = add(self.netting_saving, other.netting_saving, w)?;
        self.turnover = add(self.turnover, other.turnover, w)?;
        self.pnl = add(self.pnl, other.pnl, w)?;
        Ok(())
    }
}

/// One account's attribution in one symbol at one mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolPnl {
    pub mark: Decimal,
    /// Each source, then `unattributed` (always present).
    pub buckets: Vec<(Bucket, PnlLine)>,
    /// The account's own P&L from its fills.
    pub account: PnlLine,
    /// What marking lost to `Decimal`'s 28 digits (`position × mark` per bucket against the
    /// account's): booked into the unattributed line so the identity holds; zero at any
    /// realistic scale.
    pub rounding: Decimal,
}

impl SymbolBook {
    /// Marks every bucket and the account at `mark`. Σ buckets' `pnl` = the account's `pnl`
    /// exactly.
    pub fn mark(&self, mark: Price) -> Result<SymbolPnl, CoreError> {
        let m = mark.get();
        let mut buckets = Vec::new();
        let mut sum = Decimal::ZERO;
        let mut unattributed = PnlLine {
            name: Bucket::Unattributed.name().to_owned(),
            ..PnlLine::default()
        };
        for (bucket, book) in self.buckets() {
            let line = PnlLine::of(bucket.name(), book, m)?;
            sum = add(sum, line.pnl, "P&L identity")?;
            if *bucket == Bucket::Unattributed {
                unattributed = line;
            } else {
                buckets.push((bucket.clone(), line));
            }
        }
        let mut account = PnlLine::of("account", self.account(), m)?;
        // The account itself nets nothing against anyone: its saving is its buckets'.
        for (_, book) in self.buckets() {
            account.netting_saving = add(
                account.netting_saving,
                book.netting_saving,
                "netting saving",
            )?;
        }
        let rounding = sub(account.pnl, sum, "P&L identity")?;
        unattributed.pnl = add(unattributed.pnl, rounding, "P&L identity")?;
        unattributed.unrealised = add(unattributed.unrealised, rounding, "P&L identity")?;
        buckets.push((Bucket::Unattributed, unattributed));
        Ok(SymbolPnl {
            mark: m,
            buckets,
            account,
            rounding,
        })
    }
}

/// How a report groups its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Source,
    Symbol,
}

/// Every book of every account, keyed by account and symbol.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    books: BTreeMap<(AccountName, Symbol), SymbolBook>,
}

impl Ledger {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `event` to the book of `account` in `symbol`; on error nothing changes.
    pub fn apply(
        &mut self,
        account: &AccountName,
        symbol: &Symbol,
        event: &super::Event,
    ) -> Result<(), CoreError> {
        let key = (account.clone(), symbol.clone());
        match self.books.get_mut(&key) {
            Some(book) => book.apply(event),
            None => {
                let mut book = SymbolBook::new();
                book.apply(event)?;
                self.books.insert(key, book);
                Ok(())
            }
        }
    }

    /// A copy holding only `account`'s books (all when `None`).
    pub fn only(&self, account: Option<&AccountName>) -> Self {
        match account {
            None => self.clone(),
            Some(a) => Self {
                books: (self.books.iter())
                    .filter(|((acct, _), _)| acct == a)
                    .map(|(k, b)| (k.clone(), b.clone()))
                    .collect(),
            },
        }
    }

    pub fn book(&self, account: &AccountName, symbol: &Symbol) -> Option<&SymbolBook> {
        self.books.get(&(account.clone(), symbol.clone()))
    }

    pub fn books(&self) -> impl Iterator<Item = (&(AccountName, Symbol), &SymbolBook)> {
        self.books.iter()
    }

    /// Lines grouped by source (`unattributed` last) or by symbol, over one account or all,
    /// each symbol marked at `marks` (a symbol without a mark is refused: marking it at anything
    /// else would invent P&L), plus the total, which equals the accounts' P&L from fills.
    pub fn report(
        &self,
        account: Option<&AccountName>,
        marks: &BTreeMap<Symbol, Price>,
        by: GroupBy,
    ) -> Result<(Vec<PnlLine>, PnlLine), CoreError> {
        let mut lines: BTreeMap<(u8, String), PnlLine> = BTreeMap::new();
        // The symbol each line covers, or `None` once it covers two (its `qty` is then none).
        let mut covers: BTreeMap<(u8, String), Option<Symbol>> = BTreeMap::new();
        let mut total = PnlLine {
            name: "account".to_owned(),
            qty: Some(Decimal::ZERO),
            ..PnlLine::default()
        };
        let mut total_covers: Option<Option<Symbol>> = None;
        for ((acc, symbol), book) in &self.books {
            if account.is_some_and(|a| a != acc) {
                continue;
            }
            let Some(mark) = marks.get(symbol) else {
                return Err(CoreError::BadInput {
                    field: "mark",
                    value: symbol.to_string(),
                    rule: "every symbol with P&L needs a mark price",
                });
            };
            let marked = book.mark(*mark)?;
            total.absorb(&marked.account)?;
            cover(&mut total_covers, symbol);
            match by {
                GroupBy::Symbol => {
                    let mut line = marked.account.clone();
                    line.name = symbol.to_string();
                    merge(&mut lines, (0, symbol.to_string()), &line)?;
                }
                GroupBy::Source => {
                    for (bucket, line) in &marked.buckets {
                        let key = (
                            u8::from(*bucket == Bucket::Unattributed),
                            bucket.name().to_owned(),
                        );
                        let mut seen = covers.remove(&key);
                        cover(&mut seen, symbol);
                        covers.insert(key.clone(), seen.flatten());
                        merge(&mut lines, key, line)?;
                    }
                }
            }
        }
        for (key, line) in lines.iter_mut() {
            if covers.get(key).is_some_and(Option::is_none) {
                line.qty = None;
            }
        }
        if matches!(total_covers, Some(None)) {
            total.qty = None;
        }
        Ok((lines.into_values().collect(), total))
    }
}

/// Notes that a line covers `symbol`: `seen` is `None` before the first symbol, then the one
/// symbol covered, or `Some(None)` once a second one comes.
fn cover(seen: &mut Option<Option<Symbol>>, symbol: &Symbol) {
    *seen = match seen.take() {
        None => Some(Some(symbol.clone())),
        Some(Some(s)) if s == *symbol => Some(Some(s)),
        Some(_) => Some(None),
    };
}

fn merge(
    lines: &mut BTreeMap<(u8, String), PnlLine>,
    key: (u8, String),
    line: &PnlLine,
) -> Result<(), CoreError> {
    match lines.get_mut(&key) {
        Some(l) => l.absorb(line),
        None => {
            lines.insert(key, line.clone());
            Ok(())
        }
    }
}
