-- Requests that failed verification, kept (bounded in count and age) so they
-- can be verified again and released as events once the config is fixed: the
-- same table as SQLite's 0003_quarantine.sql. "Never" is NULL where SQLite
-- stores 0; headers are JSON text, not jsonb, as in events.

CREATE TABLE quarantine (
    id          text PRIMARY KEY,              -- qrn_ + ULID: sorts by received_at
    source      text NOT NULL,
    provider    text NOT NULL,
    reason      text NOT NULL,
    detail      text NOT NULL DEFAULT '',
    method      text NOT NULL DEFAULT '',
    url         text NOT NULL DEFAULT '',
    headers     text NOT NULL,                 -- JSON object of header lists, credentials redacted
    body        bytea NOT NULL,
    truncated   boolean NOT NULL DEFAULT false,
    received_at timestamptz NOT NULL,
    released_at timestamptz,
    event_id    text NOT NULL DEFAULT '',
    released_by text NOT NULL DEFAULT '',
    unverified  boolean NOT NULL DEFAULT false
);
CREATE INDEX quarantine_received ON quarantine (received_at);
CREATE INDEX quarantine_source ON quarantine (source, received_at);
