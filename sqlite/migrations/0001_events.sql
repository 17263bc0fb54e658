-- Events as received, the dedupe memory, and the delivery queue.
-- Times are INTEGER microseconds since the Unix epoch (UTC).

CREATE TABLE events (
    id                TEXT PRIMARY KEY,
    source            TEXT NOT NULL,
    provider          TEXT NOT NULL,
    provider_event_id TEXT NOT NULL DEFAULT '',
    type              TEXT NOT NULL DEFAULT '',
    headers           TEXT NOT NULL,           -- JSON object of header lists
    body              BLOB NOT NULL,
    received_at       INTEGER NOT NULL,
    malformed         INTEGER NOT NULL DEFAULT 0,
    test              INTEGER NOT NULL DEFAULT 0,
    trace             TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_source_received ON events (source, received_at);
CREATE INDEX events_type ON events (type);
CREATE INDEX events_provider_event_id ON events (provider_event_id) WHERE provider_event_id <> '';

-- One row per (source, provider event ID) remembered for dedupe until expires_at.
CREATE TABLE dedupe (
    source            TEXT NOT NULL,
    provider_event_id TEXT NOT NULL,
    event_id          TEXT NOT NULL,
    expires_at        INTEGER NOT NULL,
    PRIMARY KEY (source, provider_event_id)
) WITHOUT ROWID;
CREATE INDEX dedupe_expires ON dedupe (expires_at);

-- The delivery queue: one row per (event, destination).
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES events (id),
    destination     TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT NOT NULL DEFAULT '',
    lease_until     INTEGER NOT NULL DEFAULT 0,
    last_class      TEXT NOT NULL DEFAULT '',
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    completed_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_destination ON deliveries (destination, status);
