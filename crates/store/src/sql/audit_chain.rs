//! Appending to, reading and verifying the audit chain (hash layout in [`crate::audit`]).

use std::sync::LazyLock;

use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Transaction, Type};
use tradeengine_model::Timestamp;

use super::multirow::{Col, MultiRow, chunks};
use super::{Dialect, SqlStore, decode_all, rows};
use crate::anchor::AuditHead;
use crate::audit::{ChainWalker, GENESIS_HASH, event_hash};
use crate::codec::ms;
use crate::{AuditEvent, AuditKind, AuditVerification, StoreError};

/// Rows fetched per query while verifying, to bound memory on long chains.
const VERIFY_BATCH: i64 = 2_000;

const SELECT_HEAD: &str = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1";
/// Events after a seq, oldest first.
const SELECT_AFTER: &str = concat!(
    "SELECT ",
    audit_columns!(),
    " FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2"
);
static INSERT_EVENTS: LazyLock<MultiRow> = LazyLock::new(|| {
    use Col::{BigInt, Text};
    MultiRow::new(
        "INSERT INTO audit_events (seq, at_ms, kind, account, symbol, payload, prev_hash, hash)",
        &[BigInt, BigInt, Text, Text, Text, Text, Text, Text],
        "",
    )
});

/// An event to append; seq and hash are assigned when it is.
#[derive(Debug)]
pub(crate) struct NewEvent {
    pub kind: AuditKind,
    pub account: Option<String>,
    pub symbol: Option<String>,
    /// Canonical JSON text ([`crate::audit::canonical_json`]), stored and hashed as is.
    pub payload: String,
    pub at: Timestamp,
}

/// Where an appended event landed in the chain.
#[derive(Debug)]
pub(crate) struct Appended {
    pub seq: i64,
    pub hash: String,
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
    /// Appends `events` in order at the head of the chain, inside `tx`. Call it after the
    /// transaction's data writes (see the module docs on lock order). The hashes are computed
    /// here, one after the other; the rows go in with a few multi-row INSERTs.
    pub(crate) async fn append_events(
        tx: &mut Transaction<'_, DB>,
        events: Vec<NewEvent>,
    ) -> Result<Vec<Appended>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(lock) = DB::LOCK_AUDIT_CHAIN {
            sqlx::query(lock).execute(&mut **tx).await?;
        }
        let head: Option<(i64, String)> = sqlx::query_as(SELECT_HEAD)
            .fetch_optional(&mut **tx)
            .await?;
        let (head_seq, head_hash) = head.unwrap_or((0, GENESIS_HASH.to_string()));
        let mut appended: Vec<Appended> = Vec::with_capacity(events.len());
        for e in &events {
            let (prev_seq, prev) = match appended.last() {
                Some(a) => (a.seq, a.hash.as_str()),
                None => (head_seq, head_hash.as_str()),
            };
            let seq = prev_seq
                .checked_add(1)
                .ok_or_else(|| StoreError::corrupt("audit_events.seq", "chain is full"))?;
            let hash = event_hash(
                prev,
                seq,
                ms(e.at),
                e.kind.as_str(),
                e.account.as_deref(),
                e.symbol.as_deref(),
                &e.payload,
            );
            appended.push(Appended { seq, hash });
        }
        for chunk in chunks(events.len()) {
            let mut insert = sqlx::query(INSERT_EVENTS.sql(chunk.size, DB::NUMBERED_PARAMS));
            for i in chunk.start..chunk.start + chunk.rows {
                let (e, a) = (&events[i], &appended[i]);
                let prev = match i.checked_sub(1) {
                    Some(p) => appended[p].hash.as_str(),
                    None => head_hash.as_str(),
                };
                insert = insert
                    .bind(a.seq)
                    .bind(ms(e.at))
                    .bind(e.kind.as_str())
                    .bind(e.account.as_deref())
                    .bind(e.symbol.as_deref())
                    .bind(e.payload.as_str())
                    .bind(prev)
                    .bind(a.hash.as_str());
            }
            INSERT_EVENTS.pad(insert, chunk).execute(&mut **tx).await?;
        }
        Ok(appended)
    }

    pub(crate) async fn select_audit_events(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let (limit, _) = super::page(limit, 0)?;
        let rows = sqlx::query(SELECT_AFTER)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        decode_all(&rows, |c| rows::audit_event(c))
    }

    /// The newest event's seq and hash (`None` for an empty chain).
    pub(crate) async fn select_audit_head(&self) -> Result<Option<AuditHead>, StoreError> {
        let head: Option<(i64, String)> = sqlx::query_as(SELECT_HEAD)
            .fetch_optional(&self.read)
            .await?;
        Ok(head.map(|(seq, hash)| AuditHead { seq, hash }))
    }

    /// Walks the chain from seq 1 (or, given an anchor, from the anchored event, which must
    /// still be there with its hash) in batches and stops at the first break.
    pub(crate) async fn walk_audit_chain(
        &self,
        from: Option<&AuditHead>,
    ) -> Result<AuditVerification, StoreError> {
        let mut walker = match from {
            None => ChainWalker::default(),
            Some(anchor) => {
                let at = sqlx::query(SELECT_AFTER)
                    .bind(anchor.seq.saturating_sub(1))
                    .bind(1_i64)
                    .fetch_all(&self.read)
                    .await?;
                let found = decode_all(&at, |c| rows::chain_row(c))?;
                let found = found.first();
                if let Some(bad) =
                    crate::anchor::anchor_mismatch(anchor, found.map(|r| (r.seq, &r.hash)))
                {
                    return Ok(AuditVerification {
                        events: 0,
                        first_bad: Some(bad),
                        head: None,
                        head_seq: None,
                    });
                }
                ChainWalker::resume(anchor.seq, &anchor.hash)
            }
        };
        loop {
            let batch = sqlx::query(SELECT_AFTER)
                .bind(walker.last_seq())
                .bind(VERIFY_BATCH)
                .fetch_all(&self.read)
                .await?;
            let fetched = batch.len();
            for row in decode_all(&batch, |c| rows::chain_row(c))? {
                if !walker.push(&row) {
                    return Ok(walker.finish());
                }
            }
            if (fetched as i64) < VERIFY_BATCH {
                return Ok(walker.finish());
            }
        }
    }
}
