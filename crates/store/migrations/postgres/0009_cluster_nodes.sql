-- Kept in step with ../sqlite/0009_cluster_nodes.sql.

-- The processes of a cluster (src/cluster.rs): several engines on one PostgreSQL database,
-- each trading the accounts whose lease it holds. A process upserts its row every few seconds
-- (database clock, epoch ms) with the accounts it trades, so `tradeengine cluster status` and
-- /api/v1/cluster can tell a live standby from a dead one. A clean stop sets heartbeat_ms to 0.
CREATE TABLE cluster_nodes (
    node_id      TEXT    PRIMARY KEY,
    host         TEXT    NOT NULL,
    pid          BIGINT  NOT NULL,
    started_ms   BIGINT  NOT NULL,
    heartbeat_ms BIGINT  NOT NULL,
    holds        TEXT    NOT NULL
);
