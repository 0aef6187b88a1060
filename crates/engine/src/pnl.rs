//! P&L by source from the store: the attribution books of `tradeengine-core::attribution`
//! rebuilt from the engine's stored plan events (`pnl_events`) and its stored fills, merged in
//! time order. Nothing else is kept, so a restart loses nothing and the books can always be
//! recomputed from what the store holds; `tradeengine pnl` and `GET /api/v1/pnl` read them here.
//!
//! Marks: each symbol is marked at the newest price the store holds for it: a cycle's mark
//! reading (the prices every cycle planned at, stored when they moved), a plan's reference
//! price or a fill's price, whichever came last. An open position is therefore worth what the
//! market said at the last cycle, not what it was at the last trade.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use tradeengine_core::CoreError;
use tradeengine_core::attribution::{Event, Ledger};
pub use tradeengine_core::attribution::{GroupBy, PnlLine};
use tradeengine_core::blend::Blend;
use tradeengine_core::size::SizedTarget;
use tradeengine_model::{AccountName, Price, Side, SourceId, Symbol, Timestamp};
use tradeengine_store::{MarkReading, PnlEventRecord, Store, StoreError, StoredFill};

/// Rows read per store call while rebuilding.
const PAGE: i64 = 5_000;

#[derive(Debug, thiserror::Error)]
pub enum PnlError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("P&L attribution: {0}")]
    Core(#[from] CoreError),
    #[error("stored P&L event {seq} cannot be read: {reason}")]
    BadEvent { seq: i64, reason: String },
}

/// One account's desired source positions in one symbol for this cycle's target (see
/// [`tradeengine_core::attribution::desired_positions`]: a target the engine moved, to zero
/// for close-only or the kill switch, moves every source's sleeve alike).
pub fn desired_for(
    blend: &Blend,
    target: &SizedTarget,
    account_value: Decimal,
) -> Result<BTreeMap<SourceId, Decimal>, CoreError> {
    tradeengine_core::attribution::desired_positions(blend, target, account_value)
}

/// What a symbol job carries for attribution: the sources' desired positions, and whether
/// their blend contributions changed since the last stored attribution event of the symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanAttribution {
    pub desired: BTreeMap<SourceId, Decimal>,
    /// What the sources asked for (`weight × exposure` each, and whether the engine forced the
    /// target to zero): it changes with signals, not with prices.
    pub key: ContributionKey,
    /// The key differs from the last one stored: an event is stored even when the plan sends
    /// nothing, so sources that net each other out still swap their sleeves.
    pub changed: bool,
}

/// See [`PlanAttribution::key`].
pub type ContributionKey = (Vec<(SourceId, tradeengine_model::SleeveOrigin)>, bool);

/// The key of `blend` behind `target`.
pub fn contribution_key(blend: &Blend, target: &SizedTarget) -> ContributionKey {
    (
        blend
            .contributions
            .iter()
            .map(|c| (c.source.clone(), c.contribution))
            .collect(),
        target.qty.is_zero(),
    )
}

/// The books as of `until` (everything when `None`), with the newest price seen per symbol up
/// to then.
#[derive(Debug, Default)]
pub struct Books {
    pub ledger: Ledger,
    pub marks: BTreeMap<Symbol, Price>,
}

/// See [`Input::key`].
pub type InputKey = (Timestamp, u8, i64);

/// Of one account's symbol: the key of the last plan or fill applied, and the newest mark with
/// the key of the input that set it.
type LastApplied = (Option<InputKey>, Option<(InputKey, Price)>);

/// One timed input of the books: a stored plan event, a stored fill, or a cycle's stored mark
/// reading (prices only: it moves the marks, never the ledger).
#[derive(Debug)]
pub enum Input {
    Plan {
        record: PnlEventRecord,
        event: Event,
    },
    Fill(StoredFill),
    Marks(MarkReading),
}

impl Input {
    pub fn at(&self) -> Timestamp {
        match self {
            Self::Plan { record, .. } => record.at,
            Self::Fill(f) => f.fill.filled_at,
            Self::Marks(m) => m.at,
        }
    }

    /// Where the input falls in the books' order: by time; at equal times a plan, then its
    /// fills, then the cycle's mark reading (written last, in the cycle's closing
    /// transaction); then in the order stored.
    pub fn key(&self) -> InputKey {
        match self {
            Self::Plan { record, .. } => (record.at, 0, record.seq),
            Self::Fill(f) => (f.fill.filled_at, 1, f.seq),
            Self::Marks(m) => (m.at, 2, m.seq),
        }
    }

    pub fn account(&self) -> &AccountName {
        match self {
            Self::Plan { record, .. } => &record.account,
            Self::Fill(f) => &f.account,
            Self::Marks(m) => &m.account,
        }
    }

    /// The one symbol a plan event or a fill is of; `None` for a mark reading (it prices every
    /// symbol of its account's cycle).
    pub fn symbol(&self) -> Option<&Symbol> {
        match self {
            Self::Plan { record, .. } => Some(&record.symbol),
            Self::Fill(f) => Some(&f.fill.symbol),
            Self::Marks(_) => None,
        }
    }

    /// The prices this input marks at: a plan's reference price, a fill's price, or every
    /// price of a mark reading.
    fn marks(&self) -> Vec<(&Symbol, Price)> {
        match self {
            Self::Plan {
                record,
                event: Event::Rebalance { reference, .. },
            } => vec![(&record.symbol, *reference)],
            Self::Plan { .. } => Vec::new(),
            Self::Fill(f) => vec![(&f.fill.symbol, f.fill.price)],
            Self::Marks(m) => m.prices.iter().map(|(s, p)| (s, *p)).collect(),
        }
    }

    fn plan(record: PnlEventRecord) -> Result<Self, PnlError> {
        let event: Event =
            serde_json::from_value(record.event.clone()).map_err(|e| PnlError::BadEvent {
                seq: record.seq,
                reason: e.to_string(),
            })?;
        Ok(Self::Plan { record, event })
    }
}

/// Which stored inputs [`inputs`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marks {
    /// Plan events, fills and the cycles' mark readings: what P&L is marked at.
    Read,
    /// Plan events and fills only: enough for positions and sleeves, which prices never move.
    Skip,
}

/// Every stored input of `account` (all accounts when `None`), in the books' order
/// ([`Input::key`]).
pub async fn inputs(
    store: &dyn Store,
    account: Option<&AccountName>,
    marks: Marks,
) -> Result<Vec<Input>, PnlError> {
    let mut inputs = Vec::new();
    let mut after = 0;
    loop {
        let page = store.pnl_events(account, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for record in page {
            inputs.push(Input::plan(record)?);
        }
    }
    after = 0;
    loop {
        let page = store.fills_in_order(account, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        inputs.extend(page.into_iter().map(Input::Fill));
    }
    if marks == Marks::Read {
        after = 0;
        loop {
            let page = store.marks(account, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            inputs.extend(page.into_iter().map(Input::Marks));
        }
    }
    inputs.sort_by_key(Input::key);
    Ok(inputs)
}

/// Rebuilds the books of `account` (all accounts when `None`) from the store, up to `until`.
pub async fn rebuild(
    store: &dyn Store,
    account: Option<&AccountName>,
    until: Option<Timestamp>,
) -> Result<Books, PnlError> {
    let mut books = Books::default();
    for input in inputs(store, account, Marks::Read).await? {
        if until.is_some_and(|u| input.at() > u) {
            break;
        }
        books.apply(&input)?;
    }
    Ok(books)
}

impl Books {
    /// Applies one input: a plan event or a fill to the ledger; every input marks the symbols
    /// it prices (inputs come in [`Input::key`] order, so the last mark is the newest).
    pub fn apply(&mut self, input: &Input) -> Result<(), PnlError> {
        for (symbol, price) in input.marks() {
            self.marks.insert(symbol.clone(), price);
        }
        match input {
            Input::Plan { record, event } => {
                self.ledger.apply(&record.account, &record.symbol, event)?;
            }
            Input::Fill(f) => {
                self.ledger
                    .apply(&f.account, &f.fill.symbol, &fill_event(f))?;
            }
            Input::Marks(_) => {}
        }
        Ok(())
    }
}

/// A stored fill as the ledger's event: signed quantity, price, fee.
fn fill_event(f: &StoredFill) -> Event {
    let qty = match f.fill.side {
        Side::Buy => f.fill.qty,
        Side::Sell => -f.fill.qty,
    };
    Event::Fill {
        client_order_id: Some(f.fill.client_order_id.clone()),
        qty,
        price: f.fill.price,
        fee: f.fill.fee,
    }
}

/// The books of every account, kept between reads and brought up to date with only what was
/// stored since (`GET /api/v1/pnl` and `/metrics` read it at every request; rebuilding from
/// every stored event each time grew with the engine's age).
///
/// Exactly the books [`rebuild`] gives: a plan event or fill is applied on top only when it
/// comes after every plan event and fill already applied to its account and symbol in the
/// rebuild's order (time, plans before fills, order stored); one that does not (a fill stored
/// before its plan's event by a racing write, a clock that moved back) throws the cache away
/// and the next read rebuilds from the store. Mark readings never touch the ledger: each
/// symbol keeps the mark of the greatest key seen, as the rebuild's last one. Fills are read
/// before plan events, so a fill read always finds its plan's event (stored first, in the
/// plan's transaction) in the same read.
#[derive(Debug, Default)]
pub struct BooksCache {
    inner: tokio::sync::Mutex<Cached>,
}

#[derive(Debug, Default)]
struct Cached {
    ledger: Ledger,
    after_event: i64,
    after_fill: i64,
    after_marks: i64,
    /// Per account and symbol: the key of the last plan or fill applied, and the newest mark
    /// with its input's key.
    last: BTreeMap<(AccountName, Symbol), LastApplied>,
}

impl BooksCache {
    /// The kept books, brought up to date with the store.
    async fn caught_up(
        &self,
        store: &dyn Store,
    ) -> Result<tokio::sync::MutexGuard<'_, Cached>, PnlError> {
        let mut cached = self.inner.lock().await;
        if let Err(e) = catch_up(&mut cached, store).await {
            // Half-applied reads are not kept: the next read starts over.
            *cached = Cached::default();
            return Err(e);
        }
        Ok(cached)
    }

    /// The accounts the books hold now (without copying their books, as [`Self::books`] does).
    pub async fn accounts(
        &self,
        store: &dyn Store,
    ) -> Result<std::collections::BTreeSet<AccountName>, PnlError> {
        let cached = self.caught_up(store).await?;
        Ok(cached.ledger.books().map(|((a, _), _)| a.clone()).collect())
    }

    /// The books of `account` (all when `None`) as [`rebuild`] would give them now.
    pub async fn books(
        &self,
        store: &dyn Store,
        account: Option<&AccountName>,
    ) -> Result<Books, PnlError> {
        let cached = self.caught_up(store).await?;
        // The marks as the rebuild sets them: per symbol, the newest input (in its order) of
        // the accounts asked for.
        let mut latest: BTreeMap<Symbol, (InputKey, Price)> = BTreeMap::new();
        for ((a, symbol), (_, mark)) in &cached.last {
            let (Some((key, mark)), true) = (mark, account.is_none_or(|want| want == a)) else {
                continue;
            };
            match latest.get(symbol) {
                Some((k, _)) if k > key => {}
                _ => {
                    latest.insert(symbol.clone(), (*key, *mark));
                }
            }
        }
        Ok(Books {
            ledger: cached.ledger.only(account),
            marks: latest.into_iter().map(|(s, (_, p))| (s, p)).collect(),
        })
    }
}

/// Applies what was stored since the last read, or starts over when that cannot be exact.
async fn catch_up(cached: &mut Cached, store: &dyn Store) -> Result<(), PnlError> {
    let mut inputs = Vec::new();
    loop {
        let page = store.fills_in_order(None, cached.after_fill, PAGE).await?;
        let Some(last) = page.last() else { break };
        cached.after_fill = last.seq;
        inputs.extend(page.into_iter().map(Input::Fill));
    }
    loop {
        let page = store.pnl_events(None, cached.after_event, PAGE).await?;
        let Some(last) = page.last() else { break };
        cached.after_event = last.seq;
        for record in page {
            inputs.push(Input::plan(record)?);
        }
    }
    loop {
        let page = store.marks(None, cached.after_marks, PAGE).await?;
        let Some(last) = page.last() else { break };
        cached.after_marks = last.seq;
        inputs.extend(page.into_iter().map(Input::Marks));
    }
    inputs.sort_by_key(Input::key);
    let in_order = inputs.iter().all(|i| {
        let Some(symbol) = i.symbol() else {
            return true;
        };
        cached
            .last
            .get(&(i.account().clone(), symbol.clone()))
            .and_then(|(k, _)| *k)
            .is_none_or(|k| k < i.key())
    });
    if !in_order {
        *cached = Cached::default();
        return Box::pin(catch_up(cached, store)).await;
    }
    let mut books = Books {
        ledger: std::mem::take(&mut cached.ledger),
        marks: BTreeMap::new(),
    };
    for input in inputs {
        let key = input.key();
        if let Err(e) = books.apply(&input) {
            cached.ledger = books.ledger;
            return Err(e);
        }
        for (symbol, price) in input.marks() {
            let entry = cached
                .last
                .entry((input.account().clone(), symbol.clone()))
                .or_default();
            if entry.1.is_none_or(|(k, _)| k < key) {
                entry.1 = Some((key, price));
            }
        }
        if let Some(symbol) = input.symbol() {
            let entry = cached
                .last
                .entry((input.account().clone(), symbol.clone()))
                .or_default();
            entry.0 = Some(key);
        }
    }
    cached.ledger = books.ledger;
    Ok(())
}

/// A P&L report: lines grouped by source or symbol, and the total (= the account's P&L from
/// fills).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub lines: Vec<PnlLine>,
    pub total: PnlLine,
}

/// The report of `account` (all when `None`) grouped `by`, over everything stored or, with
/// `since`, only what changed after it (each line now minus the same line at `since`, each
/// marked at its own time's last price).
pub async fn report(
    store: &dyn Store,
    account: Option<&AccountName>,
    by: GroupBy,
    since: Option<Timestamp>,
) -> Result<Report, PnlError> {
    let now = rebuild(store, account, None).await?;
    report_from(now, store, account, by, since).await
}

/// [`report`] with the books of now from `cache` (the books as of `since` are still rebuilt,
/// up to `since` only).
pub async fn report_cached(
    cache: &BooksCache,
    store: &dyn Store,
    account: Option<&AccountName>,
    by: GroupBy,
    since: Option<Timestamp>,
) -> Result<Report, PnlError> {
    let now = cache.books(store, account).await?;
    report_from(now, store, account, by, since).await
}

async fn report_from(
    now: Books,
    store: &dyn Store,
    account: Option<&AccountName>,
    by: GroupBy,
    since: Option<Timestamp>,
) -> Result<Report, PnlError> {
    let (lines, total) = now.ledger.report(account, &now.marks, by)?;
    let Some(since) = since else {
        return Ok(Report { lines, total });
    };
    let then = rebuild(store, account, Some(since)).await?;
    let (before, before_total) = then.ledger.report(account, &then.marks, by)?;
    let mut lines = lines;
    for line in lines.iter_mut() {
        if let Some(old) = before.iter().find(|b| b.name == line.name) {
            *line = difference(line, old)?;
        }
    }
    Ok(Report {
        lines,
        total: difference(&total, &before_total)?,
    })
}

/// `now − then`, amount by amount (the position is kept as it is now).
fn difference(now: &PnlLine, then: &PnlLine) -> Result<PnlLine, CoreError> {
    let neg = PnlLine {
        name: now.name.clone(),
        qty: Some(Decimal::ZERO),
        realised: -then.realised,
        unrealised: -then.unrealised,
        fees: -then.fees,
        funding: -then.funding,
        slippage: -then.slippage,
        netting_saving: -then.netting_saving,
        turnover: -then.turnover,
        pnl: -then.pnl,
    };
    let mut out = now.clone();
    out.absorb(&neg)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
    use chrono::{TimeDelta, TimeZone, Utc};
    use tradeengine_model::{ClientOrderId, Fill};

    use super::*;

    fn btc() -> Symbol {
        Symbol::new("BTCUSDT").unwrap()
    }

    fn price(p: i64) -> Price {
        Price::new(Decimal::from(p)).unwrap()
    }

    fn reading(account: &AccountName, at: Timestamp, p: i64) -> MarkReading {
        MarkReading {
            seq: 0,
            account: account.clone(),
            at,
            prices: BTreeMap::from([(btc(), price(p))]),
        }
    }

    /// An open position is worth what the newest cycle read, not what it was at the last
    /// trade: a long bought at 100 and marked at 90 by a later cycle has lost 10, in the
    /// report, the kept books and a rebuild as of any instant.
    #[tokio::test]
    async fn open_positions_are_marked_at_the_newest_mark_reading() {
        let dir = tempfile::tempdir().unwrap();
        let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
        let main = AccountName::new("main").unwrap();
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let at = |s: i64| t0 + TimeDelta::seconds(s);
        let cache = BooksCache::default();
        // A reading before the fill is older than the fill's own price: not the mark.
        store
            .record_marks(&reading(&main, at(0), 95))
            .await
            .unwrap();
        let fill = Fill {
            client_order_id: ClientOrderId::new("te-1").unwrap(),
            venue_order_id: None,
            symbol: btc(),
            side: Side::Buy,
            qty: Decimal::ONE,
            price: price(100),
            fee: Decimal::ZERO,
            filled_at: at(1),
        };
        store.record_fill(&main, &fill).await.unwrap();
        let unrealised = |r: Report| r.total.unrealised;
        let now = report(&*store, Some(&main), GroupBy::Source, None)
            .await
            .unwrap();
        assert_eq!(unrealised(now), Decimal::ZERO);
        assert_eq!(
            cache.books(&*store, None).await.unwrap().marks[&btc()],
            price(100)
        );
        store
            .record_marks(&reading(&main, at(2), 90))
            .await
            .unwrap();
        store
            .record_marks(&reading(&main, at(3), 88))
            .await
            .unwrap();
        let now = report(&*store, Some(&main), GroupBy::Source, None)
            .await
            .unwrap();
        assert_eq!(unrealised(now), Decimal::from(-12));
        let cached = report_cached(&cache, &*store, Some(&main), GroupBy::Source, None)
            .await
            .unwrap();
        assert_eq!(unrealised(cached), Decimal::from(-12));
        // As of an instant, the newest reading up to then.
        let then = rebuild(&*store, Some(&main), Some(at(2))).await.unwrap();
        assert_eq!(then.marks[&btc()], price(90));
        // What changed since the second reading: the move from 90 to 88.
        let since = report(&*store, Some(&main), GroupBy::Source, Some(at(2)))
            .await
            .unwrap();
        assert_eq!(since.total.unrealised, Decimal::from(-2));
        // The walked inputs give the same marks (the dashboard's history walks them).
        let mut walked = Books::default();
        for input in inputs(&*store, Some(&main), Marks::Read).await.unwrap() {
            walked.apply(&input).unwrap();
        }
        assert_eq!(walked.marks[&btc()], price(88));
        // Positions alone need no prices: skipping readings keeps the fill's mark.
        let skipped = inputs(&*store, Some(&main), Marks::Skip).await.unwrap();
        assert_eq!(skipped.len(), 1);
    }
}
