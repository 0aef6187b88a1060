-- Kept in step with ../sqlite/0007_mark_readings.sql.

-- The prices a cycle of an account traded and marked at (one row per cycle that planned, stored
-- an attribution event, or saw a price differ from the account's previous row; idle cycles at
-- unchanged prices add nothing). With the signals, this is what `tradeengine replay` reads by
-- default to replay a session exactly: it cycles at these times, at these prices.
CREATE TABLE mark_readings (
    seq      BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account  TEXT    NOT NULL,
    prices   TEXT    NOT NULL,
    at_ms    BIGINT  NOT NULL
);
-- One account's readings in order.
CREATE INDEX mark_readings_account_seq ON mark_readings (account, seq);
