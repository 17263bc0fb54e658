-- Dedupe answered from the events table (issue 14). Each event keeps its
-- dedupe key (Event.DedupeID: the provider's event ID, or "sha256:" and the
-- body's digest for a source with dedupe: body) and the time the key stops
-- deduplicating. One index on (key, source, expiry) answers "is this key
-- live?" and "which events carry this provider ID?", so an event touches
-- one B-tree with a random key where it touched three (the dedupe table,
-- its expiry index, events_provider_event_id): about two WAL pages fewer
-- per event (docs/PERFORMANCE.md). A key expires in place: InsertEvents
-- ignores a key whose expiry has passed, and nothing has to be deleted.
-- An event removed before its key expires (retention, purge, erasure)
-- leaves its key in dedupe_kept (0016), which also takes over the keys of
-- events removed before this migration and then drops the dedupe table.
ALTER TABLE events ADD COLUMN dedupe_id TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN dedupe_until INTEGER NOT NULL DEFAULT 0;
UPDATE events SET dedupe_id = provider_event_id;
UPDATE events SET dedupe_id = d.provider_event_id, dedupe_until = d.expires_at
    FROM dedupe AS d WHERE d.event_id = events.id AND d.source = events.source;
DROP INDEX events_provider_event_id;
-- Events without a key (no provider ID, no body dedupe) are not indexed;
-- queries say dedupe_id <> '' so that the planner may use it.
CREATE INDEX events_dedupe ON events (dedupe_id, source, dedupe_until) WHERE dedupe_id <> '';
