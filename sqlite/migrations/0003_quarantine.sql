-- Requests that failed verification, kept (bounded in count and age) so they
-- can be verified again and released as events once the config is fixed.
-- Times are INTEGER microseconds since the Unix epoch (UTC); 0 is "never".

CREATE TABLE quarantine (
    id          TEXT PRIMARY KEY,              -- qrn_ + ULID: sorts by received_at
    source      TEXT NOT NULL,
    provider    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    method      TEXT NOT NULL DEFAULT '',
    url         TEXT NOT NULL DEFAULT '',
    headers     TEXT NOT NULL,                 -- JSON object of header lists, credentials redacted
    body        BLOB NOT NULL,
    truncated   INTEGER NOT NULL DEFAULT 0,
    received_at INTEGER NOT NULL,
    released_at INTEGER NOT NULL DEFAULT 0,
    event_id    TEXT NOT NULL DEFAULT '',
    released_by TEXT NOT NULL DEFAULT '',
    unverified  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX quarantine_received ON quarantine (received_at);
CREATE INDEX quarantine_source ON quarantine (source, received_at);
