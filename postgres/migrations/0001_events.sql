-- Events as received, the dedupe memory, and the delivery queue: the same
-- tables as SQLite's 0001_events.sql. Times are timestamptz (microsecond
-- precision, the same as SQLite's integer microseconds) so that operators can
-- read them in psql; "never" is NULL where SQLite stores 0.
--
-- (*) headers are JSON text, not jsonb: jsonb rejects \u0000 and would fail a
-- whole ingest batch over one request's headers. Query them with headers::jsonb.

CREATE TABLE events (
    id                text PRIMARY KEY,
    source            text NOT NULL,
    provider          text NOT NULL,
    provider_event_id text NOT NULL DEFAULT '',
    type              text NOT NULL DEFAULT '',
    headers           text NOT NULL,            -- JSON object of header lists (*)
    body              bytea NOT NULL,
    received_at       timestamptz NOT NULL,
    malformed         boolean NOT NULL DEFAULT false,
    test              boolean NOT NULL DEFAULT false,
    trace             text NOT NULL DEFAULT ''
);
CREATE INDEX events_source_received ON events (source, received_at);
CREATE INDEX events_type ON events (type);
CREATE INDEX events_provider_event_id ON events (provider_event_id) WHERE provider_event_id <> '';

-- One row per (source, provider event ID) remembered for dedupe until
-- expires_at. received_at is when the event holding the key was received:
-- a batch insert compares it with expires_at to take over an expired key.
CREATE TABLE dedupe (
    source            text NOT NULL,
    provider_event_id text NOT NULL,
    event_id          text NOT NULL,
    expires_at        timestamptz NOT NULL,
    received_at       timestamptz NOT NULL,
    PRIMARY KEY (source, provider_event_id)
);
CREATE INDEX dedupe_expires ON dedupe (expires_at);

-- The delivery queue: one row per (event, destination).
CREATE TABLE deliveries (
    id              text PRIMARY KEY,
    event_id        text NOT NULL REFERENCES events (id),
    destination     text NOT NULL,
    status          text NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    lease_owner     text NOT NULL DEFAULT '',
    lease_until     timestamptz,
    last_class      text NOT NULL DEFAULT '',
    last_status     integer NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    completed_at    timestamptz
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_destination ON deliveries (destination, status);
