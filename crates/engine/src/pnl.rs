//! P&L by source from the store: the attribution books of `tradeengine-core::attribution`
//! rebuilt from the engine's stored plan events (`pnl_events`) and its stored fills, merged in
//! time order. Nothing else is kept, so a restart loses nothing and the books can always be
//! recomputed from what the store holds; `tradeengine pnl` and `GET /api/v1/pnl` read them here.
//!
//! Marks: each symbol is marked at the last price the store saw for it (a plan's reference
//! price or a fill's price), the newest the engine knew of.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use tradeengine_core::CoreError;
use tradeengine_core::attribution::{Event, Ledger};
pub use tradeengine_core::attribution::{GroupBy, PnlLine};
use tradeengine_core::blend::Blend;
use tradeengine_core::size::SizedTarget;
use tradeengine_model::{AccountName, Price, Side, SourceId, Symbol, Timestamp};
use tradeengine_store::{PnlEventRecord, Store, StoreError, StoredFill};

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

/// The books as of `until` (everything when `None`), with the last price seen per symbol up to
/// then.
#[derive(Debug, Default)]
pub struct Books {
    pub ledger: Ledger,
    pub marks: BTreeMap<Symbol, Price>,
}

/// See [`Input::key`].
type InputKey = (Timestamp, u8, i64);

/// Of one account's symbol: the key of the last input applied, and the last mark with the key
/// of the input that set it.
type LastApplied = (InputKey, Option<(InputKey, Price)>);

/// One timed input of the books: a stored plan event or a stored fill.
enum Input {
    Plan(PnlEventRecord),
    Fill(StoredFill),
}

impl Input {
    fn at(&self) -> Timestamp {
        match self {
            Self::Plan(e) => e.at,
            Self::Fill(f) => f.fill.filled_at,
        }
    }

    /// Where the input falls in the books' order: by time, plans before fills at equal times
    /// (a plan precedes its fills), then in the order stored.
    fn key(&self) -> InputKey {
        match self {
            Self::Plan(e) => (e.at, 0, e.seq),
            Self::Fill(f) => (f.fill.filled_at, 1, f.seq),
        }
    }

    fn book(&self) -> (&AccountName, &Symbol) {
        match self {
            Self::Plan(e) => (&e.account, &e.symbol),
            Self::Fill(f) => (&f.account, &f.fill.symbol),
        }
    }
}

/// Rebuilds the books of `account` (all accounts when `None`) from the store, up to `until`.
pub async fn rebuild(
    store: &dyn Store,
    account: Option<&AccountName>,
    until: Option<Timestamp>,
) -> Result<Books, PnlError> {
    let mut inputs = Vec::new();
    let mut after = 0;
    loop {
        let page = store.pnl_events(account, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        inputs.extend(page.into_iter().map(Input::Plan));
    }
    after = 0;
    loop {
        let page = store.fills_in_order(account, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        inputs.extend(page.into_iter().map(Input::Fill));
    }
    // Stable: at equal times plans (read first) come before fills, as a plan precedes its fills.
    inputs.sort_by_key(Input::at);
    let mut books = Books::default();
    for input in inputs {
        if until.is_some_and(|u| input.at() > u) {
            break;
        }
        apply(&mut books, input)?;
    }
    Ok(books)
}

/// Applies one input; returns the price it marks its symbol at, if any.
fn apply(books: &mut Books, input: Input) -> Result<Option<Price>, PnlError> {
    Ok(match input {
        Input::Plan(record) => {
            let event: Event =
                serde_json::from_value(record.event).map_err(|e| PnlError::BadEvent {
                    seq: record.seq,
                    reason: e.to_string(),
                })?;
            let mark = match &event {
                Event::Rebalance { reference, .. } => {
                    books.marks.insert(record.symbol.clone(), *reference);
                    Some(*reference)
                }
                _ => None,
            };
            books
                .ledger
                .apply(&record.account, &record.symbol, &event)?;
            mark
        }
        Input::Fill(f) => {
            let qty = match f.fill.side {
                Side::Buy => f.fill.qty,
                Side::Sell => -f.fill.qty,
            };
            let event = Event::Fill {
                client_order_id: Some(f.fill.client_order_id.clone()),
                qty,
                price: f.fill.price,
                fee: f.fill.fee,
            };
            books.marks.insert(f.fill.symbol.clone(), f.fill.price);
            books.ledger.apply(&f.account, &f.fill.symbol, &event)?;
            Some(f.fill.price)
        }
    })
}

/// The books of every account, kept between reads and brought up to date with only what was
/// stored since (`GET /api/v1/pnl` and `/metrics` read it at every request; rebuilding from
/// every stored event each time grew with the engine's age).
///
/// Exactly the books [`rebuild`] gives: an input is applied on top only when it comes after
/// everything already applied to its account and symbol in the rebuild's order (time, plans
/// before fills, order stored); one that does not (a fill stored before its plan's event by
/// a racing write, a clock that moved back) throws the cache away and the next read rebuilds
/// from the store. Fills are read before plan events, so a fill read always finds its plan's
/// event (stored first, in the plan's transaction) in the same read.
#[derive(Debug, Default)]
pub struct BooksCache {
    inner: tokio::sync::Mutex<Cached>,
}

#[derive(Debug, Default)]
struct Cached {
    ledger: Ledger,
    after_event: i64,
    after_fill: i64,
    /// Per account and symbol: the order key of the last input applied, and the last mark
    /// with its input's key.
    last: BTreeMap<(AccountName, Symbol), LastApplied>,
}

impl BooksCache {
    /// The books of `account` (all when `None`) as [`rebuild`] would give them now.
    pub async fn books(
        &self,
        store: &dyn Store,
        account: Option<&AccountName>,
    ) -> Result<Books, PnlError> {
        let mut cached = self.inner.lock().await;
        if let Err(e) = catch_up(&mut cached, store).await {
            // Half-applied reads are not kept: the next read starts over.
            *cached = Cached::default();
            return Err(e);
        }
        // The marks as the rebuild sets them: per symbol, the last input (in its order) of the
        // accounts asked for.
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
        inputs.extend(page.into_iter().map(Input::Plan));
    }
    inputs.sort_by_key(Input::key);
    let in_order = inputs.iter().all(|i| {
        let (a, s) = i.book();
        cached
            .last
            .get(&(a.clone(), s.clone()))
            .is_none_or(|(k, _)| *k < i.key())
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
        let (a, s) = input.book();
        let book = (a.clone(), s.clone());
        let applied = apply(&mut books, input);
        let mark = match applied {
            Ok(m) => m,
            Err(e) => {
                cached.ledger = books.ledger;
                return Err(e);
            }
        };
        let kept = cached.last.get(&book).and_then(|(_, m)| *m);
        cached
            .last
            .insert(book, (key, mark.map(|p| (key, p)).or(kept)));
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
