-- Kept in step with ../postgres/0002_refused_signals_and_order_fills.sql.

-- Refused signals by (source, idempotency key), so a redelivered refusal is recorded once, as an
-- accepted signal is (`signals_source_idempotency`). The audit event holds the whole refusal;
-- this table is the deduplication key and what it was refused for.
CREATE TABLE refused_signals (
    seq             INTEGER PRIMARY KEY,
    source          TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    refused_at_ms   BIGINT  NOT NULL
);
CREATE UNIQUE INDEX refused_signals_source_idempotency
    ON refused_signals (source, idempotency_key);

-- "Has this order a fill yet?", asked when an order is settled.
CREATE INDEX fills_order ON fills (client_order_id);
