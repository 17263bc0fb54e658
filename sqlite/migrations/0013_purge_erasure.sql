-- Purge and erasure: each event's data subject (the value at its source's
-- subject path, extracted at ingest) in an indexed column, so that an
-- erasure finds a subject's events without reading a body; the same for
-- quarantined requests; an index to delete an event's issue samples; and the
-- audit trail of purges and erasures (never the subject: a keyed hash).
ALTER TABLE events ADD COLUMN subject TEXT NOT NULL DEFAULT '';
CREATE INDEX events_subject ON events (subject) WHERE subject <> '';
ALTER TABLE quarantine ADD COLUMN subject TEXT NOT NULL DEFAULT '';
CREATE INDEX quarantine_subject ON quarantine (subject) WHERE subject <> '';
CREATE INDEX failures_event ON failures (event_id) WHERE event_id <> '';

CREATE TABLE purges (
    id          TEXT PRIMARY KEY,              -- prg_ + ULID
    kind        TEXT NOT NULL,                 -- purge or erase
    actor       TEXT NOT NULL,
    at          INTEGER NOT NULL,
    filter      TEXT NOT NULL,                 -- JSON of the PurgeFilter
    events      INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    quarantined INTEGER NOT NULL DEFAULT 0
);
