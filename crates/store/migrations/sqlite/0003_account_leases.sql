-- Kept in step with ../postgres/0003_account_leases.sql.
-- SQLite stores never take leases (the data dir lock covers one machine); the table is here so
-- both backends keep one schema.

-- One engine per account (src/lease.rs): who holds the account, the fencing token that every
-- order intent is checked against in its own transaction (incremented on every take-over), and
-- when the lease runs out unless its holder renews it (database clock, epoch ms).
CREATE TABLE account_leases (
    account     TEXT    PRIMARY KEY,
    token       INTEGER NOT NULL,
    holder_host TEXT    NOT NULL,
    holder_pid  INTEGER NOT NULL,
    since_ms    INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL
);
