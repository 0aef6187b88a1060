-- Kept in step with ../sqlite/0006_pnl_events.sql.

-- P&L attribution (tradeengine-core::attribution): the engine's plans as attribution sees them,
-- one row per stored plan: each source's desired virtual position, the target, the reference
-- price and the plan's order ids, as the core's `Event` in JSON. With the `fills` table this is
-- everything the books are rebuilt from (src/sql/pnl.rs), so they survive restarts.
CREATE TABLE pnl_events (
    seq      BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account  TEXT    NOT NULL,
    symbol   TEXT    NOT NULL,
    event    TEXT    NOT NULL,
    at_ms    BIGINT  NOT NULL
);
-- One account's events in order (rebuilding its books).
CREATE INDEX pnl_events_account_seq ON pnl_events (account, seq);
