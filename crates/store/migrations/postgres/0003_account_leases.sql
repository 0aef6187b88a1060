-- Kept in step with ../sqlite/0003_account_leases.sql.

-- One engine per account (src/lease.rs): who holds the account, the fencing token that every
-- order intent is checked against in its own transaction (incremented on every take-over), and
-- when the lease runs out unless its holder renews it (database clock, epoch ms).
CREATE TABLE account_leases (
    account     TEXT    PRIMARY KEY,
    token       BIGINT  NOT NULL,
    holder_host TEXT    NOT NULL,
    holder_pid  BIGINT  NOT NULL,
    since_ms    BIGINT  NOT NULL,
    expires_ms  BIGINT  NOT NULL
);
