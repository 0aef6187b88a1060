-- Kept in step with ../postgres/0004_refused_signal_bodies.sql.

-- Every refusal is listed (`tradeengine signals --refused`, the API, the dashboard), so the table
-- now holds refusals without an idempotency key too (bad authentication, malformed JSON), each
-- with a bounded reason label (`code`, the metric's label) and its body: secrets redacted,
-- truncated to 4 KiB by the engine. The table is bounded per source (see `sql/refused.rs`).
-- SQLite cannot drop a NOT NULL in place: the table is rebuilt with its rows.
CREATE TABLE refused_signals_v4 (
    seq             INTEGER PRIMARY KEY,
    source          TEXT    NOT NULL,
    idempotency_key TEXT,
    code            TEXT    NOT NULL DEFAULT 'other',
    reason          TEXT    NOT NULL,
    body            TEXT,
    refused_at_ms   BIGINT  NOT NULL
);
INSERT INTO refused_signals_v4 (seq, source, idempotency_key, reason, refused_at_ms)
    SELECT seq, source, idempotency_key, reason, refused_at_ms FROM refused_signals;
DROP TABLE refused_signals;
ALTER TABLE refused_signals_v4 RENAME TO refused_signals;
-- NULL keys never conflict: only keyed refusals are deduplicated.
CREATE UNIQUE INDEX refused_signals_source_idempotency
    ON refused_signals (source, idempotency_key);
-- The newest refusals of a source (listing, pruning).
CREATE INDEX refused_signals_source_seq ON refused_signals (source, seq);
