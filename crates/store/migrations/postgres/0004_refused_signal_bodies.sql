-- Kept in step with ../sqlite/0004_refused_signal_bodies.sql.

-- Every refusal is listed (`tradeengine signals --refused`, the API, the dashboard), so the table
-- now holds refusals without an idempotency key too (bad authentication, malformed JSON), each
-- with a bounded reason label (`code`, the metric's label) and its body: secrets redacted,
-- truncated to 4 KiB by the engine. The table is bounded per source (see `sql/refused.rs`).
ALTER TABLE refused_signals ALTER COLUMN idempotency_key DROP NOT NULL;
ALTER TABLE refused_signals ADD COLUMN code TEXT NOT NULL DEFAULT 'other';
ALTER TABLE refused_signals ADD COLUMN body TEXT;
-- NULL keys never conflict in `refused_signals_source_idempotency`: only keyed refusals are
-- deduplicated. The newest refusals of a source (listing, pruning):
CREATE INDEX refused_signals_source_seq ON refused_signals (source, seq);
