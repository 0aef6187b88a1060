-- Kept in step with ../postgres/0009_cluster_nodes.sql. A cluster (engine.cluster) needs
-- PostgreSQL; SQLite gets the same empty table so both backends keep one schema.
CREATE TABLE cluster_nodes (
    node_id      TEXT    PRIMARY KEY,
    host         TEXT    NOT NULL,
    pid          BIGINT  NOT NULL,
    started_ms   BIGINT  NOT NULL,
    heartbeat_ms BIGINT  NOT NULL,
    holds        TEXT    NOT NULL
);
