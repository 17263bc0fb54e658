-- Purge and erasure: the same as SQLite's 0013_purge_erasure.sql. Each
-- event's data subject (the value at its source's subject path, extracted at
-- ingest) in an indexed column, so that an erasure finds a subject's events
-- without reading a body; the same for quarantined requests; an index to
-- delete an event's issue samples; and the audit trail of purges and
-- erasures (never the subject: a keyed hash).
ALTER TABLE events ADD COLUMN subject text NOT NULL DEFAULT '';
CREATE INDEX events_subject ON events (subject) WHERE subject <> '';
ALTER TABLE quarantine ADD COLUMN subject text NOT NULL DEFAULT '';
CREATE INDEX quarantine_subject ON quarantine (subject) WHERE subject <> '';
CREATE INDEX failures_event ON failures (event_id) WHERE event_id <> '';

CREATE TABLE purges (
    id          text PRIMARY KEY,              -- prg_ + ULID
    kind        text NOT NULL,                 -- purge or erase
    actor       text NOT NULL,
    at          timestamptz NOT NULL,
    filter      text NOT NULL,                 -- JSON of the PurgeFilter
    events      integer NOT NULL DEFAULT 0,
    skipped     integer NOT NULL DEFAULT 0,
    quarantined integer NOT NULL DEFAULT 0
);
