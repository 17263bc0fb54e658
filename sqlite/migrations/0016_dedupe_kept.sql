-- The dedupe keys of events removed before their key expired (issue 14).
-- Since 0015 a key lives in its event's row; retention, purge and erasure
-- remove events whatever their key's horizon, and a provider's retry of a
-- removed event must still be answered duplicate. So, in the transaction
-- that deletes them, the live keys of the events go here first (sqlite/
-- purge.go, retention.go), InsertEvents probes this table with the same
-- keys as events_dedupe, and PruneDedupe forgets a key once dedupe_until
-- has passed: the table holds about one horizon of keys of early-removed
-- events, usually none.
CREATE TABLE dedupe_kept (
    dedupe_id    TEXT NOT NULL,    -- Event.DedupeID
    source       TEXT NOT NULL,
    event_id     TEXT NOT NULL,    -- the removed event, answered as the duplicate's ID
    dedupe_until INTEGER NOT NULL, -- microseconds: the key stops deduplicating
    PRIMARY KEY (dedupe_id, source)
) WITHOUT ROWID;
CREATE INDEX dedupe_kept_until ON dedupe_kept (dedupe_until);
-- Keys of events removed before 0015, still in the dedupe table that 0015
-- left for this migration to empty. A store that ran 0015 when it dropped
-- the table itself (before 0016 existed) has none: an empty one stands in.
CREATE TABLE IF NOT EXISTS dedupe (source TEXT NOT NULL, provider_event_id TEXT NOT NULL,
    event_id TEXT NOT NULL, expires_at INTEGER NOT NULL);
INSERT INTO dedupe_kept (dedupe_id, source, event_id, dedupe_until)
    SELECT d.provider_event_id, d.source, d.event_id, d.expires_at FROM dedupe AS d
    WHERE NOT EXISTS (SELECT 1 FROM events AS e WHERE e.id = d.event_id);
DROP TABLE dedupe;
