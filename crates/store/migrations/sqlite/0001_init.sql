-- tradeengine store, SQLite schema. Kept in step with ../postgres/0001_init.sql: the test
-- `migrations_define_the_same_schema` compares tables, columns, nullability and index names.
--
-- Conventions (both backends):
--   * decimals are TEXT holding the exact `rust_decimal::Decimal` string (no float ever);
--   * times are INTEGER epoch milliseconds, UTC, so range queries use plain integer indexes;
--   * JSON documents (intents, plan steps, audit payloads) are TEXT, stored byte for byte.

CREATE TABLE signals (
    seq             INTEGER PRIMARY KEY,
    id              TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    symbol          TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    intent          TEXT    NOT NULL,
    emitted_at_ms   BIGINT,
    received_at_ms  BIGINT  NOT NULL,
    raw             TEXT    NOT NULL
);
CREATE UNIQUE INDEX signals_id ON signals (id);
CREATE UNIQUE INDEX signals_source_idempotency ON signals (source, idempotency_key);
CREATE INDEX signals_received ON signals (received_at_ms, seq);

CREATE TABLE sleeves (
    source        TEXT   NOT NULL,
    symbol        TEXT   NOT NULL,
    state         TEXT   NOT NULL,
    exposure_unit TEXT   NOT NULL,
    exposure      TEXT   NOT NULL,
    leverage      TEXT,
    entry_price   TEXT,
    stop_loss     TEXT,
    take_profit   TEXT,
    opened_at_ms  BIGINT,
    closed_at_ms  BIGINT,
    updated_at_ms BIGINT NOT NULL,
    last_signal   TEXT,
    PRIMARY KEY (source, symbol)
);

CREATE TABLE targets (
    seq           INTEGER PRIMARY KEY,
    account       TEXT   NOT NULL,
    symbol        TEXT   NOT NULL,
    depth         TEXT   NOT NULL,
    leverage      TEXT   NOT NULL,
    quantity      TEXT   NOT NULL,
    decided_at_ms BIGINT NOT NULL
);
CREATE INDEX targets_account_symbol ON targets (account, symbol, seq);

CREATE TABLE plans (
    id            TEXT   PRIMARY KEY,
    account       TEXT   NOT NULL,
    symbol        TEXT   NOT NULL,
    created_at_ms BIGINT NOT NULL,
    current_qty   TEXT   NOT NULL,
    target_qty    TEXT   NOT NULL,
    steps         TEXT   NOT NULL,
    skipped       TEXT
);
CREATE INDEX plans_account_created ON plans (account, created_at_ms);

CREATE TABLE orders (
    client_order_id TEXT    PRIMARY KEY,
    plan_id         TEXT    NOT NULL REFERENCES plans (id),
    leg             BIGINT  NOT NULL,
    account         TEXT    NOT NULL,
    symbol          TEXT    NOT NULL,
    side            TEXT    NOT NULL,
    qty             TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    limit_price     TEXT,
    reduce_only     BOOLEAN NOT NULL,
    state           TEXT    NOT NULL,
    venue_order_id  TEXT,
    filled_qty      TEXT    NOT NULL,
    avg_fill_price  TEXT,
    fee             TEXT    NOT NULL,
    error           TEXT,
    created_at_ms   BIGINT  NOT NULL,
    updated_at_ms   BIGINT  NOT NULL
);
CREATE UNIQUE INDEX orders_plan_leg ON orders (plan_id, leg);
CREATE INDEX orders_account_created ON orders (account, created_at_ms);
-- What a restart must settle: small, because most orders are terminal.
CREATE INDEX orders_unsettled ON orders (account, created_at_ms)
    WHERE state NOT IN ('filled', 'rejected', 'cancelled');

CREATE TABLE fills (
    seq             INTEGER PRIMARY KEY,
    account         TEXT   NOT NULL,
    client_order_id TEXT   NOT NULL,
    venue_order_id  TEXT,
    symbol          TEXT   NOT NULL,
    side            TEXT   NOT NULL,
    qty             TEXT   NOT NULL,
    price           TEXT   NOT NULL,
    fee             TEXT   NOT NULL,
    filled_at_ms    BIGINT NOT NULL,
    -- client order id | normalised qty | normalised price | filled_at_ms: the idempotency key.
    fill_key        TEXT   NOT NULL
);
CREATE UNIQUE INDEX fills_key ON fills (fill_key);
CREATE INDEX fills_account_filled ON fills (account, filled_at_ms);
CREATE INDEX fills_filled ON fills (filled_at_ms);

CREATE TABLE positions (
    account     TEXT   NOT NULL,
    symbol      TEXT   NOT NULL,
    size        TEXT   NOT NULL,
    entry_price TEXT,
    leverage    TEXT   NOT NULL,
    margin_mode TEXT   NOT NULL,
    at_ms       BIGINT NOT NULL,
    PRIMARY KEY (account, symbol)
);

CREATE TABLE equity (
    seq            INTEGER PRIMARY KEY,
    account        TEXT   NOT NULL,
    value          TEXT   NOT NULL,
    unrealised_pnl TEXT   NOT NULL,
    at_ms          BIGINT NOT NULL
);
CREATE INDEX equity_account_at ON equity (account, at_ms);

-- The hash chain. `seq` is assigned by the writer (head + 1), never by the database, so a
-- deleted row leaves a visible gap.
CREATE TABLE audit_events (
    seq       INTEGER PRIMARY KEY,
    at_ms     BIGINT NOT NULL,
    kind      TEXT   NOT NULL,
    account   TEXT,
    symbol    TEXT,
    payload   TEXT   NOT NULL,
    prev_hash TEXT   NOT NULL,
    hash      TEXT   NOT NULL
);

CREATE TABLE state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
