//! Signals and sleeves.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row, Transaction, Type};
use tradeengine_model::{Signal, Sleeve};

use super::audit_chain::NewEvent;
use super::multirow::{Col, MultiRow, chunks};
use super::rows::ColReader;
use super::{Dialect, SqlStore, decode_all, page, rows};
use crate::codec::{ms, name, opt_dec_text, opt_ms, opt_price_text, payload};
use crate::encoded::{BatchEntry, SignalBatch};
use crate::{AuditKind, BatchOutcome, SignalRecordOutcome, StoreError};

/// `ON CONFLICT … DO NOTHING` makes a duplicate a no-op even when two deliveries race on
/// PostgreSQL: the second waits for the first to commit, then inserts nothing and returns no row.
const INSERT_SIGNAL: &str = "INSERT INTO signals \
     (id, source, symbol, idempotency_key, intent, emitted_at_ms, received_at_ms, raw) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (source, idempotency_key) DO NOTHING RETURNING seq";

/// The batch form of [`INSERT_SIGNAL`]. Rows go in in order, so a key repeated within the batch
/// is stored for its first entry and skipped for the later ones, exactly as one statement per
/// row would. `RETURNING` names the rows stored (in no guaranteed order), which tells the
/// duplicates apart.
static INSERT_SIGNALS: LazyLock<MultiRow> = LazyLock::new(|| {
    use Col::{BigInt, Text};
    MultiRow::new(
        "INSERT INTO signals \
         (id, source, symbol, idempotency_key, intent, emitted_at_ms, received_at_ms, raw)",
        &[Text, Text, Text, Text, Text, BigInt, BigInt, Text],
        "ON CONFLICT (source, idempotency_key) DO NOTHING RETURNING id, source, idempotency_key",
    )
});

const SELECT_SIGNALS: &str = concat!(
    "SELECT ",
    signal_columns!(),
    " FROM signals ORDER BY received_at_ms DESC, seq DESC LIMIT $1 OFFSET $2"
);

const SELECT_SIGNALS_IN_ORDER: &str = concat!(
    "SELECT seq, ",
    signal_columns!(),
    " FROM signals WHERE seq > $1 ORDER BY seq LIMIT $2"
);

const UPSERT_SLEEVE: &str = "INSERT INTO sleeves \
     (source, symbol, state, exposure_unit, exposure, leverage, entry_price, stop_loss, \
      take_profit, opened_at_ms, closed_at_ms, updated_at_ms, last_signal) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
     ON CONFLICT (source, symbol) DO UPDATE SET \
     state = excluded.state, exposure_unit = excluded.exposure_unit, \
     exposure = excluded.exposure, leverage = excluded.leverage, \
     entry_price = excluded.entry_price, stop_loss = excluded.stop_loss, \
     take_profit = excluded.take_profit, opened_at_ms = excluded.opened_at_ms, \
     closed_at_ms = excluded.closed_at_ms, updated_at_ms = excluded.updated_at_ms, \
     last_signal = excluded.last_signal";

/// The batch form of [`UPSERT_SLEEVE`]. A key may appear once per statement (PostgreSQL refuses
/// to update one row twice in one statement), so the batch writes each sleeve's final state.
static UPSERT_SLEEVES: LazyLock<MultiRow> = LazyLock::new(|| {
    use Col::{BigInt, Text};
    MultiRow::new(
        "INSERT INTO sleeves \
         (source, symbol, state, exposure_unit, exposure, leverage, entry_price, stop_loss, \
          take_profit, opened_at_ms, closed_at_ms, updated_at_ms, last_signal)",
        &[
            Text, Text, Text, Text, Text, Text, Text, Text, Text, BigInt, BigInt, BigInt, Text,
        ],
        "ON CONFLICT (source, symbol) DO UPDATE SET \
         state = excluded.state, exposure_unit = excluded.exposure_unit, \
         exposure = excluded.exposure, leverage = excluded.leverage, \
         entry_price = excluded.entry_price, stop_loss = excluded.stop_loss, \
         take_profit = excluded.take_profit, opened_at_ms = excluded.opened_at_ms, \
         closed_at_ms = excluded.closed_at_ms, updated_at_ms = excluded.updated_at_ms, \
         last_signal = excluded.last_signal",
    )
});

const SELECT_SLEEVES: &str = concat!(
    "SELECT ",
    sleeve_columns!(),
    " FROM sleeves ORDER BY source, symbol"
);

/// A signal's row and events, from its encoded batch entry (see [`crate::encoded`]): nothing
/// that can fail on our side happens while the write lock is held.
struct Prepared<'a> {
    signal: &'a Signal,
    intent: &'a str,
    raw: &'a str,
    events: Vec<NewEvent>,
}

fn prepared(entry: &BatchEntry) -> Prepared<'_> {
    let encoded = &*entry.signal;
    let signal = encoded.signal();
    let mut events = vec![NewEvent {
        kind: AuditKind::SignalAccepted,
        account: None,
        symbol: Some(signal.symbol.to_string()),
        payload: encoded.payload.clone(),
        at: signal.received_at,
    }];
    if let (Some(s), Some(p)) = (&entry.sleeve, &entry.sleeve_payload) {
        events.push(NewEvent {
            kind: AuditKind::SleeveChanged,
            account: None,
            symbol: Some(s.symbol.to_string()),
            payload: p.clone(),
            at: s.updated_at,
        });
    }
    Prepared {
        signal,
        intent: &encoded.intent,
        raw: &encoded.raw,
        events,
    }
}

/// The last sleeve given for each (source, symbol) of a batch: what the sleeves table holds
/// once the batch is in. Every intermediate sleeve still gets its own audit event.
fn final_sleeves(batch: &SignalBatch) -> Vec<&Sleeve> {
    let mut last: BTreeMap<(&str, &str), &Sleeve> = BTreeMap::new();
    for s in batch.entries.iter().filter_map(|e| e.sleeve.as_ref()) {
        last.insert((s.source.as_str(), s.symbol.as_str()), s);
    }
    last.into_values().collect()
}

/// A sleeve's column values, encoded before the transaction starts.
struct SleeveRow<'a> {
    sleeve: &'a Sleeve,
    state: String,
    unit: &'static str,
    amount: String,
    leverage: Option<String>,
    entry_price: Option<String>,
    stop_loss: Option<String>,
    take_profit: Option<String>,
}

impl<'a> SleeveRow<'a> {
    fn new(s: &'a Sleeve) -> Result<Self, StoreError> {
        let (unit, amount) = rows::exposure_columns(&s.exposure);
        Ok(Self {
            sleeve: s,
            state: name("sleeve state", &s.state)?,
            unit,
            amount,
            leverage: opt_dec_text(s.leverage),
            entry_price: opt_price_text(s.entry_price),
            stop_loss: opt_price_text(s.stop_loss),
            take_profit: opt_price_text(s.take_profit),
        })
    }
}

/// Indices of the entries the database did not store, given the (id, source, idempotency key)
/// of the rows it did. Equal entries are matched in batch order, so of two entries with the
/// same key the later one is the duplicate, as it is when the rows are inserted one by one.
fn unmatched(prepared: &[Prepared<'_>], stored: Vec<(String, String, String)>) -> Vec<usize> {
    let mut left: HashMap<(String, String, String), usize> = HashMap::with_capacity(stored.len());
    for row in stored {
        *left.entry(row).or_default() += 1;
    }
    let mut duplicates = Vec::new();
    for (i, p) in prepared.iter().enumerate() {
        let s = p.signal;
        let key = (
            s.id.to_string(),
            s.source.to_string(),
            s.idempotency_key.clone(),
        );
        match left.get_mut(&key) {
            Some(n) if *n > 0 => *n -= 1,
            _ => duplicates.push(i),
        }
    }
    duplicates
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|db| db.is_unique_violation())
}

impl<DB> SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    usize: ColumnIndex<DB::Row>,
    String: for<'q> Encode<'q, DB> + for<'q> Decode<'q, DB> + Type<DB>,
    Option<String>: for<'q> Encode<'q, DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> Option<&'a str>: Encode<'a, DB>,
    i64: for<'q> Encode<'q, DB> + for<'q> Decode<'q, DB> + Type<DB>,
    Option<i64>: for<'q> Encode<'q, DB>,
    bool: for<'q> Encode<'q, DB> + for<'q> Decode<'q, DB> + Type<DB>,
{
    pub(crate) async fn insert_signal(
        &self,
        signal: &Signal,
        sleeve: Option<&Sleeve>,
    ) -> Result<SignalRecordOutcome, StoreError> {
        let batch = SignalBatch::of_signals(&[(signal.clone(), sleeve.cloned())])?;
        let Some(entry) = batch.entries.first() else {
            return Ok(SignalRecordOutcome::Stored);
        };
        let prepared = prepared(entry);
        let mut conn = self.writer().await?;
        let mut tx = conn.begin().await?;
        if !Self::insert_one(&mut tx, &prepared).await? {
            tx.rollback().await?;
            return Ok(SignalRecordOutcome::Duplicate);
        }
        if let Some(s) = sleeve {
            Self::write_sleeve(&mut tx, s).await?;
        }
        Self::append_events(&mut tx, prepared.events).await?;
        tx.commit().await?;
        Ok(SignalRecordOutcome::Stored)
    }

    /// All or nothing: any duplicate rolls the whole batch back and is reported by index.
    ///
    /// One transaction of a few multi-row statements: the signals (the rows stored come back
    /// with `RETURNING`; every other entry is a duplicate), then each sleeve's final state, then
    /// the audit events in batch order. A unique key other than (source, idempotency key), in
    /// practice a signal id already taken, fails the statement without saying which row; the
    /// batch is then rolled back and redone row by row, which names it.
    pub(crate) async fn insert_signals(
        &self,
        batch: &[(Signal, Option<Sleeve>)],
    ) -> Result<BatchOutcome, StoreError> {
        self.insert_batch(&SignalBatch::of_signals(batch)?).await
    }

    /// [`Self::insert_signals`] of a batch encoded beforehand.
    pub(crate) async fn insert_batch(
        &self,
        batch: &SignalBatch,
    ) -> Result<BatchOutcome, StoreError> {
        if batch.is_empty() {
            return Ok(BatchOutcome::Stored);
        }
        let prepared: Vec<Prepared<'_>> = batch.entries.iter().map(prepared).collect();
        let sleeves = final_sleeves(batch)
            .into_iter()
            .map(SleeveRow::new)
            .collect::<Result<Vec<_>, _>>()?;
        let mut conn = self.writer().await?;
        let mut tx = conn.begin().await?;
        let stored = match Self::insert_many(&mut tx, &prepared).await {
            Ok(stored) => stored,
            Err(e) if is_unique_violation(&e) => {
                tx.rollback().await?;
                // Free the writer for the second attempt.
                drop(conn);
                return self.insert_signals_row_by_row(prepared, batch).await;
            }
            Err(e) => return Err(e.into()),
        };
        let duplicates = unmatched(&prepared, stored);
        if !duplicates.is_empty() {
            tx.rollback().await?;
            return Ok(BatchOutcome::Duplicates(duplicates));
        }
        for chunk in chunks(sleeves.len()) {
            let mut upsert = sqlx::query(UPSERT_SLEEVES.sql(chunk.size, DB::NUMBERED_PARAMS));
            for row in &sleeves[chunk.start..chunk.start + chunk.rows] {
                let s = row.sleeve;
                upsert = upsert
                    .bind(s.source.as_str())
                    .bind(s.symbol.as_str())
                    .bind(row.state.as_str())
                    .bind(row.unit)
                    .bind(row.amount.as_str())
                    .bind(row.leverage.as_deref())
                    .bind(row.entry_price.as_deref())
                    .bind(row.stop_loss.as_deref())
                    .bind(row.take_profit.as_deref())
                    .bind(opt_ms(s.opened_at))
                    .bind(opt_ms(s.closed_at))
                    .bind(ms(s.updated_at))
                    .bind(s.last_signal.as_ref().map(|id| id.as_str()));
            }
            UPSERT_SLEEVES.pad(upsert, chunk).execute(&mut *tx).await?;
        }
        let events = prepared.into_iter().flat_map(|p| p.events).collect();
        Self::append_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok(BatchOutcome::Stored)
    }

    /// Inserts every prepared signal row with multi-row statements and returns (id, source,
    /// idempotency key) of the rows stored.
    async fn insert_many(
        tx: &mut Transaction<'_, DB>,
        prepared: &[Prepared<'_>],
    ) -> Result<Vec<(String, String, String)>, sqlx::Error> {
        let mut stored = Vec::with_capacity(prepared.len());
        for chunk in chunks(prepared.len()) {
            let mut insert = sqlx::query(INSERT_SIGNALS.sql(chunk.size, DB::NUMBERED_PARAMS));
            for p in &prepared[chunk.start..chunk.start + chunk.rows] {
                let signal = p.signal;
                insert = insert
                    .bind(signal.id.as_str())
                    .bind(signal.source.as_str())
                    .bind(signal.symbol.as_str())
                    .bind(signal.idempotency_key.as_str())
                    .bind(p.intent)
                    .bind(opt_ms(signal.emitted_at))
                    .bind(ms(signal.received_at))
                    .bind(p.raw);
            }
            let rows = INSERT_SIGNALS
                .pad(insert, chunk)
                .fetch_all(&mut **tx)
                .await?;
            for row in rows {
                stored.push((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?));
            }
        }
        Ok(stored)
    }

    /// One statement per row: the exact error for a batch the multi-row path refused.
    async fn insert_signals_row_by_row(
        &self,
        prepared: Vec<Prepared<'_>>,
        batch: &SignalBatch,
    ) -> Result<BatchOutcome, StoreError> {
        let mut conn = self.writer().await?;
        let mut tx = conn.begin().await?;
        let mut duplicates = Vec::new();
        let mut events = Vec::with_capacity(prepared.len() * 2);
        for (i, (item, entry)) in prepared.into_iter().zip(&batch.entries).enumerate() {
            if !Self::insert_one(&mut tx, &item).await? {
                duplicates.push(i);
                continue;
            }
            if duplicates.is_empty() {
                if let Some(s) = &entry.sleeve {
                    Self::write_sleeve(&mut tx, s).await?;
                }
                events.extend(item.events);
            }
        }
        if !duplicates.is_empty() {
            tx.rollback().await?;
            return Ok(BatchOutcome::Duplicates(duplicates));
        }
        Self::append_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok(BatchOutcome::Stored)
    }

    /// Inserts one prepared signal row; `false` when (source, idempotency key) is stored.
    async fn insert_one(
        tx: &mut Transaction<'_, DB>,
        p: &Prepared<'_>,
    ) -> Result<bool, StoreError> {
        let signal = p.signal;
        let inserted: Option<(i64,)> = sqlx::query_as(INSERT_SIGNAL)
            .bind(signal.id.as_str())
            .bind(signal.source.as_str())
            .bind(signal.symbol.as_str())
            .bind(signal.idempotency_key.as_str())
            .bind(p.intent)
            .bind(opt_ms(signal.emitted_at))
            .bind(ms(signal.received_at))
            .bind(p.raw)
            .fetch_optional(&mut **tx)
            .await
            .map_err(|e| StoreError::on_conflict(e, || format!("signal id {}", signal.id)))?;
        Ok(inserted.is_some())
    }

    pub(crate) async fn select_signals(
        &self,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Signal>, StoreError> {
        let (limit, offset) = page(limit, offset)?;
        let rows = sqlx::query(SELECT_SIGNALS)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.read)
            .await?;
        decode_all(&rows, |c| rows::signal(c))
    }

    /// `Store::signals_in_order`.
    pub(crate) async fn select_signals_in_order(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<(i64, Signal)>, StoreError> {
        let (limit, _) = page(limit, 0)?;
        let rows = sqlx::query(SELECT_SIGNALS_IN_ORDER)
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        decode_all(&rows, |c| Ok((c.int("signals.seq")?, rows::signal(c)?)))
    }

    pub(crate) async fn upsert_sleeve(&self, sleeve: &Sleeve) -> Result<(), StoreError> {
        let event = NewEvent {
            kind: AuditKind::SleeveChanged,
            account: None,
            symbol: Some(sleeve.symbol.to_string()),
            payload: payload("sleeve", sleeve)?,
            at: sleeve.updated_at,
        };
        let mut conn = self.writer().await?;
        let mut tx = conn.begin().await?;
        Self::write_sleeve(&mut tx, sleeve).await?;
        Self::append_events(&mut tx, vec![event]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn write_sleeve(tx: &mut Transaction<'_, DB>, s: &Sleeve) -> Result<(), StoreError> {
        let (unit, amount) = rows::exposure_columns(&s.exposure);
        sqlx::query(UPSERT_SLEEVE)
            .bind(s.source.as_str())
            .bind(s.symbol.as_str())
            .bind(name("sleeve state", &s.state)?)
            .bind(unit)
            .bind(amount)
            .bind(opt_dec_text(s.leverage))
            .bind(opt_price_text(s.entry_price))
            .bind(opt_price_text(s.stop_loss))
            .bind(opt_price_text(s.take_profit))
            .bind(opt_ms(s.opened_at))
            .bind(opt_ms(s.closed_at))
            .bind(ms(s.updated_at))
            .bind(s.last_signal.as_ref().map(|id| id.as_str()))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub(crate) async fn select_sleeves(&self) -> Result<Vec<Sleeve>, StoreError> {
        let rows = sqlx::query(SELECT_SLEEVES).fetch_all(&self.read).await?;
        decode_all(&rows, |c| rows::sleeve(c))
    }
}
