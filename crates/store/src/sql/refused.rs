//! Refused signals, deduplicated by (source, idempotency key) as accepted ones are.
//!
//! Webhook senders and brokers redeliver: a refusal recorded on every delivery filled the audit
//! trail with copies of one decision. A keyed refusal is stored once in `refused_signals` with
//! its audit event; a redelivery finds the key (there, or in `signals` when the first delivery
//! was accepted) and writes nothing.
//!
//! Every refusal is a row here, keyed or not, with its reason label and its (redacted, bounded)
//! body, so an operator can list them. The table is bounded per source at
//! [`REFUSALS_KEPT_PER_SOURCE`]: unkeyed refusals past it are deleted; keyed ones past it keep
//! their key (it still deduplicates redeliveries, as the `signals` table does for accepted
//! signals) but lose their body. Unkeyed refusals are what an unauthenticated sender can cause,
//! and their audit event is the caller's choice (`NewRefusal::audit`), so neither table grows
//! without bound from outside.

use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::audit_chain::NewEvent;
use super::dialect::Dialect;
use super::rows::ColReader;
use super::{SqlStore, decode_all, page};
use crate::audit::canonical_json;
use crate::codec::{ms, time};
use crate::{
    AuditKind, NewRefusal, REFUSALS_KEPT_PER_SOURCE, RefusedSignal, SignalRecordOutcome,
    StoreError, bound_body,
};

/// Any BIGINT column will do (see `PLAN_EXISTS`); served by `signals_source_idempotency`.
const ACCEPTED_EXISTS: &str = "SELECT seq FROM signals WHERE source = $1 AND idempotency_key = $2";
/// `ON CONFLICT … DO NOTHING`: two deliveries racing on PostgreSQL store one row; the second
/// waits for the first to commit and returns no row. A NULL key never conflicts.
const INSERT_REFUSED: &str = "INSERT INTO refused_signals \
     (source, idempotency_key, code, reason, body, refused_at_ms) VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (source, idempotency_key) DO NOTHING RETURNING seq";
/// Unkeyed refusals of a source past the newest `$2` are deleted (`$2` is the number kept).
/// The subquery finds the seq of the first row past the kept ones (none: nothing to delete).
const PRUNE_UNKEYED: &str = "DELETE FROM refused_signals WHERE source = $1 \
     AND idempotency_key IS NULL AND seq <= (SELECT seq FROM refused_signals \
     WHERE source = $1 AND idempotency_key IS NULL ORDER BY seq DESC LIMIT 1 OFFSET $2)";
/// Keyed refusals past the newest `$2` keep their key (deduplication) and lose their body.
const PRUNE_KEYED_BODIES: &str = "UPDATE refused_signals SET body = NULL WHERE source = $1 \
     AND idempotency_key IS NOT NULL AND body IS NOT NULL AND seq <= (SELECT seq \
     FROM refused_signals WHERE source = $1 AND idempotency_key IS NOT NULL \
     ORDER BY seq DESC LIMIT 1 OFFSET $2)";
macro_rules! refused_columns {
    () => {
        "seq, source, idempotency_key, code, reason, body, refused_at_ms"
    };
}
const SELECT_REFUSED: &str = concat!(
    "SELECT ",
    refused_columns!(),
    " FROM refused_signals ORDER BY seq DESC LIMIT $1"
);
const SELECT_REFUSED_OF: &str = concat!(
    "SELECT ",
    refused_columns!(),
    " FROM refused_signals WHERE source = $2 ORDER BY seq DESC LIMIT $1"
);

fn refused_row(r: &mut impl ColReader) -> Result<RefusedSignal, StoreError> {
    Ok(RefusedSignal {
        seq: r.int("refused_signals.seq")?,
        source: r.text("refused_signals.source")?,
        idempotency_key: r.opt_text("refused_signals.idempotency_key")?,
        code: r.text("refused_signals.code")?,
        reason: r.text("refused_signals.reason")?,
        body: r.opt_text("refused_signals.body")?,
        refused_at: time(
            "refused_signals.refused_at_ms",
            r.int("refused_signals.refused_at_ms")?,
        )?,
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
    /// `Store::record_refused_signal`.
    pub(crate) async fn insert_refused_signal(
        &self,
        r: &NewRefusal<'_>,
    ) -> Result<SignalRecordOutcome, StoreError> {
        let key = r.idempotency_key.filter(|k| !k.is_empty());
        let mut payload = serde_json::json!({
            "source": r.source, "reason": r.reason, "code": r.code, "raw": r.detail,
        });
        if let Some(k) = key {
            payload["idempotency_key"] = serde_json::Value::from(k);
        }
        let body = r.body.map(bound_body);
        let mut conn = self.writer().await?;
        let mut tx = conn.begin().await?;
        if let Some(k) = key {
            let accepted: Option<(i64,)> = sqlx::query_as(ACCEPTED_EXISTS)
                .bind(r.source)
                .bind(k)
                .fetch_optional(&mut *tx)
                .await?;
            if accepted.is_some() {
                tx.rollback().await?;
                return Ok(SignalRecordOutcome::Duplicate);
            }
        }
        let inserted: Option<(i64,)> = sqlx::query_as(INSERT_REFUSED)
            .bind(r.source)
            .bind(key)
            .bind(r.code)
            .bind(r.reason)
            .bind(body.as_deref())
            .bind(ms(r.at))
            .fetch_optional(&mut *tx)
            .await?;
        if inserted.is_none() {
            tx.rollback().await?;
            return Ok(SignalRecordOutcome::Duplicate);
        }
        let prune = if key.is_some() {
            PRUNE_KEYED_BODIES
        } else {
            PRUNE_UNKEYED
        };
        sqlx::query(prune)
            .bind(r.source)
            .bind(REFUSALS_KEPT_PER_SOURCE)
            .execute(&mut *tx)
            .await?;
        if key.is_some() || r.audit {
            let event = NewEvent {
                kind: AuditKind::SignalRefused,
                account: None,
                symbol: None,
                payload: canonical_json(&payload),
                at: r.at,
            };
            Self::append_events(&mut tx, vec![event]).await?;
        }
        tx.commit().await?;
        Ok(SignalRecordOutcome::Stored)
    }

    /// `Store::refused_signals`.
    pub(crate) async fn select_refused_signals(
        &self,
        source: Option<&str>,
        limit: i64,
    ) -> Result<Vec<RefusedSignal>, StoreError> {
        let (limit, _) = page(limit, 0)?;
        let rows = match source {
            Some(s) => {
                sqlx::query(SELECT_REFUSED_OF)
                    .bind(limit)
                    .bind(s)
                    .fetch_all(&self.read)
                    .await?
            }
            None => {
                sqlx::query(SELECT_REFUSED)
                    .bind(limit)
                    .fetch_all(&self.read)
                    .await?
            }
        };
        decode_all(&rows, |c| refused_row(c))
    }
}
