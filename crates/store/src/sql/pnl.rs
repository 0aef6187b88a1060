//! P&L attribution's table (`pnl_events`), the ordered read of `fills` it rebuilds from, and the
//! cycles' mark readings (`mark_readings`) a replay of the session trades at.
//!
//! No audit event: a plan's attribution event follows the plan, which is audited itself, and
//! the fills are audited with their orders.

use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use tradeengine_model::AccountName;

use super::rows::ColReader;
use super::{Dialect, SqlStore, decode_all, page, rows};
use crate::codec::{from_json, id, json, ms, time};
use crate::{
    FillPrice, MarkReading, PnlEventRecord, RecordedReading, SeenSignal, StoreError, StoredFill,
};

const INSERT_EVENT: &str =
    "INSERT INTO pnl_events (account, symbol, event, at_ms) VALUES ($1, $2, $3, $4)";
const SELECT_EVENTS: &str = "SELECT seq, account, symbol, event, at_ms FROM pnl_events \
     WHERE ($1 IS NULL OR account = $1) AND seq > $2 ORDER BY seq LIMIT $3";
const INSERT_MARKS: &str = "INSERT INTO mark_readings (account, prices, at_ms, signals, \
     fill_prices) VALUES ($1, $2, $3, $4, $5)";
const SELECT_MARKS: &str = "SELECT seq, account, prices, at_ms FROM mark_readings \
     WHERE ($1 IS NULL OR account = $1) AND seq > $2 ORDER BY seq LIMIT $3";
const SELECT_MARKS_WITH: &str = "SELECT seq, account, prices, at_ms, signals, fill_prices \
     FROM mark_readings \
     WHERE ($1 IS NULL OR account = $1) AND seq > $2 ORDER BY seq LIMIT $3";
const SELECT_FILLS: &str = concat!(
    "SELECT seq, account, ",
    fill_columns!(),
    " FROM fills WHERE ($1 IS NULL OR account = $1) AND seq > $2 ORDER BY seq LIMIT $3"
);

fn event_row(r: &mut impl ColReader) -> Result<PnlEventRecord, StoreError> {
    Ok(PnlEventRecord {
        seq: r.int("pnl_events.seq")?,
        account: id("pnl_events.account", r.text("pnl_events.account")?)?,
        symbol: id("pnl_events.symbol", r.text("pnl_events.symbol")?)?,
        event: from_json("pnl_events.event", &r.text("pnl_events.event")?)?,
        at: time("pnl_events.at_ms", r.int("pnl_events.at_ms")?)?,
    })
}

fn marks_row(r: &mut impl ColReader) -> Result<MarkReading, StoreError> {
    Ok(MarkReading {
        seq: r.int("mark_readings.seq")?,
        account: id("mark_readings.account", r.text("mark_readings.account")?)?,
        prices: from_json("mark_readings.prices", &r.text("mark_readings.prices")?)?,
        at: time("mark_readings.at_ms", r.int("mark_readings.at_ms")?)?,
    })
}

fn recorded_row(r: &mut impl ColReader) -> Result<RecordedReading, StoreError> {
    let reading = marks_row(r)?;
    let seen = r
        .opt_text("mark_readings.signals")?
        .map(|t| from_json("mark_readings.signals", &t))
        .transpose()?;
    let fill_prices = r
        .opt_text("mark_readings.fill_prices")?
        .map(|t| from_json("mark_readings.fill_prices", &t))
        .transpose()?
        .unwrap_or_default();
    Ok(RecordedReading {
        reading,
        seen,
        fill_prices,
    })
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
    /// `Store::record_pnl_event`.
    pub(crate) async fn insert_pnl_event(&self, e: &PnlEventRecord) -> Result<(), StoreError> {
        let text = json("pnl event", &e.event)?;
        sqlx::query(INSERT_EVENT)
            .bind(e.account.as_str())
            .bind(e.symbol.as_str())
            .bind(text.as_str())
            .bind(ms(e.at))
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    /// One attribution event inside the caller's transaction (with its plan, see
    /// `insert_plan_attributed`).
    pub(crate) async fn insert_pnl_event_in(
        tx: &mut sqlx::Transaction<'_, DB>,
        e: &PnlEventRecord,
    ) -> Result<(), StoreError> {
        let text = json("pnl event", &e.event)?;
        sqlx::query(INSERT_EVENT)
            .bind(e.account.as_str())
            .bind(e.symbol.as_str())
            .bind(text.as_str())
            .bind(ms(e.at))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// `Store::pnl_events`.
    pub(crate) async fn select_pnl_events(
        &self,
        account: Option<&AccountName>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<PnlEventRecord>, StoreError> {
        let (limit, _) = page(limit, 0)?;
        let rows = sqlx::query(SELECT_EVENTS)
            .bind(account.map(|a| a.as_str()))
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        decode_all(&rows, |c| event_row(c))
    }

    /// `Store::record_marks`.
    pub(crate) async fn insert_marks(&self, m: &MarkReading) -> Result<(), StoreError> {
        let mut conn = self.writer().await?;
        let mut tx = conn.begin().await?;
        Self::write_marks(&mut tx, m, None, &[]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `Store::record_marks_seen`.
    pub(crate) async fn insert_marks_seen(
        &self,
        m: &MarkReading,
        seen: &[SeenSignal],
        fill_prices: &[FillPrice],
    ) -> Result<(), StoreError> {
        let mut conn = self.writer().await?;
        let mut tx = conn.begin().await?;
        Self::write_marks(&mut tx, m, Some(seen), fill_prices).await?;
        tx.commit().await?;
        Ok(())
    }

    /// [`Self::insert_marks`] inside `tx` (a cycle's closing transaction), with the signals the
    /// cycle blended (`None`: not known, stored as NULL) and its fills' market prices.
    pub(crate) async fn write_marks(
        tx: &mut sqlx::Transaction<'_, DB>,
        m: &MarkReading,
        seen: Option<&[SeenSignal]>,
        fill_prices: &[FillPrice],
    ) -> Result<(), StoreError> {
        let text = json("mark reading", &m.prices)?;
        let seen = seen.map(|s| json("mark reading signals", &s)).transpose()?;
        let fills = (!fill_prices.is_empty())
            .then(|| json("mark reading fill prices", &fill_prices))
            .transpose()?;
        sqlx::query(INSERT_MARKS)
            .bind(m.account.as_str())
            .bind(text.as_str())
            .bind(ms(m.at))
            .bind(seen)
            .bind(fills)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// `Store::marks`.
    pub(crate) async fn select_marks(
        &self,
        account: Option<&AccountName>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<MarkReading>, StoreError> {
        let (limit, _) = page(limit, 0)?;
        let rows = sqlx::query(SELECT_MARKS)
            .bind(account.map(|a| a.as_str()))
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        decode_all(&rows, |c| marks_row(c))
    }

    /// `Store::marks_with_signals`.
    pub(crate) async fn select_marks_with_signals(
        &self,
        account: Option<&AccountName>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<RecordedReading>, StoreError> {
        let (limit, _) = page(limit, 0)?;
        let rows = sqlx::query(SELECT_MARKS_WITH)
            .bind(account.map(|a| a.as_str()))
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&self.read)
            .await;
        match rows {
            Ok(rows) => decode_all(&rows, |c| recorded_row(c)),
            // A store opened read-only without the columns yet (migration 0010 runs when an
            // engine opens it): its readings are kept without them.
            Err(sqlx::Error::Database(e))
                if ["signals", "fill_prices"]
                    .iter()
                    .any(|c| e.message().contains(c)) =>
            {
                Ok(self
                    .select_marks(account, after_seq, limit)
                    .await?
                    .into_iter()
                    .map(|reading| RecordedReading {
                        reading,
                        seen: None,
                        fill_prices: Vec::new(),
                    })
                    .collect())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `Store::fills_in_order`.
    pub(crate) async fn select_fills_in_order(
        &self,
        account: Option<&AccountName>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<StoredFill>, StoreError> {
        let (limit, _) = page(limit, 0)?;
        let rows = sqlx::query(SELECT_FILLS)
            .bind(account.map(|a| a.as_str()))
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        decode_all(&rows, |c| {
            Ok(StoredFill {
                seq: c.int("fills.seq")?,
                account: id("fills.account", c.text("fills.account")?)?,
                fill: rows::fill(c)?,
            })
        })
    }
}
