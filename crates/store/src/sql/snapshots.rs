//! Targets, position snapshots, equity points and named state blobs.

use std::collections::BTreeSet;

use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Transaction, Type};
use tradeengine_model::{AccountName, Position, Timestamp};

use super::audit_chain::NewEvent;
use super::{Dialect, SqlStore, decode_all, rows};
use crate::codec::{dec_text, from_json, json, ms, name, opt_price_text, payload};
use crate::{AuditKind, CycleEnd, EquitySnapshot, StoreError, TargetRecord};

const INSERT_TARGET: &str = "INSERT INTO targets \
     (account, symbol, depth, leverage, quantity, decided_at_ms) VALUES ($1, $2, $3, $4, $5, $6)";
/// The newest row per symbol (by insertion order), via the `targets_account_symbol` index.
const SELECT_TARGETS: &str = concat!(
    "SELECT ",
    target_columns!(),
    " FROM targets t WHERE t.account = $1 AND t.seq = \
     (SELECT MAX(l.seq) FROM targets l WHERE l.account = t.account AND l.symbol = t.symbol) \
     ORDER BY t.symbol"
);

const DELETE_POSITIONS: &str = "DELETE FROM positions WHERE account = $1";
const INSERT_POSITION: &str = "INSERT INTO positions \
     (account, symbol, size, entry_price, leverage, margin_mode, at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const SELECT_POSITIONS_OF: &str = concat!(
    "SELECT ",
    position_columns!(),
    " FROM positions WHERE account = $1 ORDER BY symbol"
);
const SELECT_POSITIONS_ALL: &str = concat!(
    "SELECT ",
    position_columns!(),
    " FROM positions ORDER BY account, symbol"
);

const INSERT_EQUITY: &str =
    "INSERT INTO equity (account, value, unrealised_pnl, at_ms) VALUES ($1, $2, $3, $4)";
const SELECT_EQUITY: &str = concat!(
    "SELECT ",
    equity_columns!(),
    " FROM equity WHERE account = $1 AND at_ms >= $2 ORDER BY at_ms, seq"
);

const SELECT_STATE: &str = "SELECT value FROM state WHERE key = $1";
const UPSERT_STATE: &str = "INSERT INTO state (key, value) VALUES ($1, $2) \
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";

/// Longest state key accepted; keys are names chosen by the engine, not data.
const MAX_STATE_KEY: usize = 200;

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
    pub(crate) async fn insert_target(&self, t: &TargetRecord) -> Result<(), StoreError> {
        let mut conn = self.writer().await?;
        let mut tx = conn.begin().await?;
        let events = Self::write_targets(&mut tx, std::slice::from_ref(t)).await?;
        Self::append_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The target rows, inside `tx`; their `TargetChanged` events for the caller to append
    /// (after every data write of the transaction, as the audit chain's lock order asks).
    async fn write_targets(
        tx: &mut Transaction<'_, DB>,
        targets: &[TargetRecord],
    ) -> Result<Vec<NewEvent>, StoreError> {
        let mut events = Vec::with_capacity(targets.len());
        for t in targets {
            sqlx::query(INSERT_TARGET)
                .bind(t.account.as_str())
                .bind(t.symbol.as_str())
                .bind(dec_text(t.depth))
                .bind(dec_text(t.leverage))
                .bind(dec_text(t.quantity))
                .bind(ms(t.decided_at))
                .execute(&mut **tx)
                .await?;
            events.push(NewEvent {
                kind: AuditKind::TargetChanged,
                account: Some(t.account.to_string()),
                symbol: Some(t.symbol.to_string()),
                payload: payload("target", t)?,
                at: t.decided_at,
            });
        }
        Ok(events)
    }

    /// [`crate::Store::record_cycle_end`]: targets, positions, equity and marks in one transaction,
    /// the events (targets first, then the snapshot's) appended last.
    pub(crate) async fn insert_cycle_end(&self, end: &CycleEnd<'_>) -> Result<(), StoreError> {
        let mut conn = self.writer().await?;
        let mut tx = conn.begin().await?;
        let mut events = Self::write_targets(&mut tx, end.targets).await?;
        if let Some(positions) = end.positions {
            events
                .push(Self::write_positions(&mut tx, end.account, positions, end.equity.at).await?);
        }
        Self::write_equity(&mut tx, end.equity).await?;
        if let Some(marks) = end.marks {
            Self::write_marks(&mut tx, marks, Some(end.seen), end.fill_prices).await?;
        }
        Self::append_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn select_targets(
        &self,
        account: &AccountName,
    ) -> Result<Vec<TargetRecord>, StoreError> {
        let rows = sqlx::query(SELECT_TARGETS)
            .bind(account.as_str())
            .fetch_all(&self.read)
            .await?;
        decode_all(&rows, |c| rows::target(c))
    }

    pub(crate) async fn replace_positions(
        &self,
        account: &AccountName,
        positions: &[Position],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer().await?;
        let mut tx = conn.begin().await?;
        let event = Self::write_positions(&mut tx, account, positions, at).await?;
        Self::append_events(&mut tx, vec![event]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the account's snapshot inside `tx`; its `Reconciled` event for the caller to
    /// append. A symbol listed twice is refused before anything is written.
    async fn write_positions(
        tx: &mut Transaction<'_, DB>,
        account: &AccountName,
        positions: &[Position],
        at: Timestamp,
    ) -> Result<NewEvent, StoreError> {
        let mut seen = BTreeSet::new();
        let mut encoded = Vec::with_capacity(positions.len());
        for p in positions {
            if !seen.insert(&p.symbol) {
                return Err(StoreError::invalid(
                    format!("positions of {account}"),
                    format!("{} is listed twice", p.symbol),
                ));
            }
            encoded.push((p, name("margin mode", &p.margin_mode)?));
        }
        let at_ms = ms(at);
        sqlx::query(DELETE_POSITIONS)
            .bind(account.as_str())
            .execute(&mut **tx)
            .await?;
        for (p, margin_mode) in encoded {
            sqlx::query(INSERT_POSITION)
                .bind(account.as_str())
                .bind(p.symbol.as_str())
                .bind(dec_text(p.size.get()))
                .bind(opt_price_text(p.entry_price))
                .bind(dec_text(p.leverage))
                .bind(margin_mode)
                .bind(at_ms)
                .execute(&mut **tx)
                .await?;
        }
        Ok(NewEvent {
            kind: AuditKind::Reconciled,
            account: Some(account.to_string()),
            symbol: None,
            payload: crate::audit::canonical_json(
                &serde_json::json!({ "account": account, "positions": positions }),
            ),
            at,
        })
    }

    pub(crate) async fn select_positions(
        &self,
        account: Option<&AccountName>,
    ) -> Result<Vec<(AccountName, Position)>, StoreError> {
        let rows = match account {
            Some(a) => {
                sqlx::query(SELECT_POSITIONS_OF)
                    .bind(a.as_str())
                    .fetch_all(&self.read)
                    .await?
            }
            None => {
                sqlx::query(SELECT_POSITIONS_ALL)
                    .fetch_all(&self.read)
                    .await?
            }
        };
        decode_all(&rows, |c| rows::position(c))
    }

    /// No audit event: equity points are measurements taken every cycle, not decisions.
    pub(crate) async fn insert_equity(&self, s: &EquitySnapshot) -> Result<(), StoreError> {
        let mut conn = self.writer().await?;
        let mut tx = conn.begin().await?;
        Self::write_equity(&mut tx, s).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn write_equity(
        tx: &mut Transaction<'_, DB>,
        s: &EquitySnapshot,
    ) -> Result<(), StoreError> {
        sqlx::query(INSERT_EQUITY)
            .bind(s.account.as_str())
            .bind(dec_text(s.value))
            .bind(dec_text(s.unrealised_pnl))
            .bind(ms(s.at))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub(crate) async fn select_equity(
        &self,
        account: &AccountName,
        since: Timestamp,
    ) -> Result<Vec<EquitySnapshot>, StoreError> {
        let rows = sqlx::query(SELECT_EQUITY)
            .bind(account.as_str())
            .bind(ms(since))
            .fetch_all(&self.read)
            .await?;
        decode_all(&rows, |c| rows::equity(c))
    }

    pub(crate) async fn select_state(
        &self,
        key: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as(SELECT_STATE)
            .bind(key)
            .fetch_optional(&self.read)
            .await?;
        row.map(|(text,)| from_json(&format!("state {key:?}"), &text))
            .transpose()
    }

    /// No audit event: blobs such as paper balances change every fill; the decisions behind
    /// them (kill switch, config) are audited by the engine with [`crate::Store::audit`].
    ///
    /// Group-committed with the other callers waiting at the same time (see
    /// [`super::state_batch`]); returns once the value is committed.
    pub(crate) async fn upsert_state(
        &self,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<(), StoreError> {
        if key.is_empty() || key.len() > MAX_STATE_KEY {
            return Err(StoreError::invalid(
                "state key",
                format!("must be 1–{MAX_STATE_KEY} bytes, got {}", key.len()),
            ));
        }
        let text = json("state value", value)?;
        // A store known to be lost refuses at once, with its reason.
        self.health.check_write()?;
        let mut answer = self.states.push(key, text);
        let conn = tokio::select! {
            biased;
            done = &mut answer => return settle_state(done),
            conn = self.writer() => conn,
        };
        match conn {
            Ok(mut conn) => {
                if let Some(batch) = self.states.take() {
                    let written = Self::write_states(&mut conn, &batch.rows).await;
                    batch.answer(written.map_err(|e| e.to_string()));
                }
            }
            // Nothing queued can be written now: every caller waiting gets the reason, this one
            // the error itself.
            Err(e) => {
                if let Some(batch) = self.states.take() {
                    batch.answer(Err(e.to_string()));
                }
                return Err(e);
            }
        }
        settle_state(answer.await)
    }

    /// One transaction with each row's upsert.
    async fn write_states(
        conn: &mut super::writer::WriteConn<'_, DB>,
        rows: &[(String, String)],
    ) -> Result<(), StoreError> {
        let mut tx = conn.begin().await?;
        for (key, text) in rows {
            sqlx::query(UPSERT_STATE)
                .bind(key.as_str())
                .bind(text.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// A queued state write's outcome as the caller's result (a dropped sender: the caller that
/// was writing it stopped half way, so whether it is stored is unknown).
fn settle_state(
    answer: Result<Result<(), String>, tokio::sync::oneshot::error::RecvError>,
) -> Result<(), StoreError> {
    match answer {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(StoreError::Shared(e)),
        Err(_) => Err(StoreError::Shared(
            "the state write this value was part of was abandoned".into(),
        )),
    }
}
