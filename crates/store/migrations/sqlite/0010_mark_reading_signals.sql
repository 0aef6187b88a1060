-- Kept in step with ../postgres/0010_mark_reading_signals.sql.

-- The signals a reading's cycle blended: for each sleeve whose last applied signal changed since
-- the account's previous reading, that signal's id (JSON list of {source, symbol, signal}). A
-- live cycle reads the sleeves as the intake has committed them, which is neither "every signal
-- received by the cycle's time" nor the same set a moment later, so a replay applies exactly
-- these. NULL in readings stored before this column: a replay applies those by receive time.
ALTER TABLE mark_readings ADD COLUMN signals TEXT;
-- The market price at each fill of the cycle, in the order filled (JSON list of {symbol,
-- price}): a paper order fills at the price when it reaches the venue, which can have moved
-- since the reading. NULL: none recorded.
ALTER TABLE mark_readings ADD COLUMN fill_prices TEXT;
