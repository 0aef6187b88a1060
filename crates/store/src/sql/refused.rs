//! Refused signals, deduplicated by (source, idempotency key) as accepted ones are.
//!
//! Webhook senders and brokers redeliver: a refusal recorded on every delivery filled the audit
//! trail with copies of one decision. A keyed refusal is stored once in `refused_signals` with
//! its audit event; a redelivery finds the key (there, or in `signals` when the first delivery
//! was accepted) and writes nothing.

use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use tradeengine_model::Timestamp;

use super::SqlStore;
use super::audit_chain::NewEvent;
use super::dialect::Dialect;
use crate::audit::canonical_json;
use crate::codec::ms;
use crate::{AuditKind, SignalRecordOutcome, StoreError};

/// Any BIGINT column will do (see `PLAN_EXISTS`); served by `signals_source_idempotency`.
const ACCEPTED_EXISTS: &str = "SELECT seq FROM signals WHERE source = $1 AND idempotency_key = $2";
/// `ON CONFLICT … DO NOTHING`: two deliveries racing on PostgreSQL store one row; the second
/// waits for the first to commit and returns no row.
const INSERT_REFUSED: &str = "INSERT INTO refused_signals \
     (source, idempotency_key, reason, refused_at_ms) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (source, idempotency_key) DO NOTHING RETURNING seq";

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
        source: &str,
        idempotency_key: Option<&str>,
        reason: &str,
        raw: &serde_json::Value,
        at: Timestamp,
    ) -> Result<SignalRecordOutcome, StoreError> {
        let key = idempotency_key.filter(|k| !k.is_empty());
        let mut payload = serde_json::json!({ "source": source, "reason": reason, "raw": raw });
        if let Some(k) = key {
            payload["idempotency_key"] = serde_json::Value::from(k);
        }
        let event = NewEvent {
            kind: AuditKind::SignalRefused,
            account: None,
            symbol: None,
            payload: canonical_json(&payload),
            at,
        };
        let mut conn = self.writer().await?;
        let mut tx = conn.begin().await?;
        if let Some(k) = key {
            let accepted: Option<(i64,)> = sqlx::query_as(ACCEPTED_EXISTS)
                .bind(source)
                .bind(k)
                .fetch_optional(&mut *tx)
                .await?;
            let refused: Option<(i64,)> = match accepted {
                Some(_) => None,
                None => {
                    sqlx::query_as(INSERT_REFUSED)
                        .bind(source)
                        .bind(k)
                        .bind(reason)
                        .bind(ms(at))
                        .fetch_optional(&mut *tx)
                        .await?
                }
            };
            if refused.is_none() {
                tx.rollback().await?;
                return Ok(SignalRecordOutcome::Duplicate);
            }
        }
        Self::append_events(&mut tx, vec![event]).await?;
        tx.commit().await?;
        Ok(SignalRecordOutcome::Stored)
    }
}
