-- Issues (failures grouped by fingerprint), alert state, the notification
-- outbox and history, and leases (one alert evaluator among instances).
-- Times are INTEGER microseconds since the Unix epoch (UTC); 0 is "never".

CREATE TABLE issues (
    id            TEXT PRIMARY KEY,
    fingerprint   TEXT NOT NULL UNIQUE,       -- source|destination|class[|test]
    kind          TEXT NOT NULL,              -- kind of the latest failure
    source        TEXT NOT NULL,
    destination   TEXT NOT NULL DEFAULT '',
    class         TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'open',
    priority      TEXT NOT NULL DEFAULT 'medium',
    test          INTEGER NOT NULL DEFAULT 0,
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL,
    count         INTEGER NOT NULL DEFAULT 0,
    events        INTEGER NOT NULL DEFAULT 0, -- distinct events affected
    dead_letters  INTEGER NOT NULL DEFAULT 0,
    last_message  TEXT NOT NULL DEFAULT '',
    last_event_id TEXT NOT NULL DEFAULT '',
    regression    INTEGER NOT NULL DEFAULT 0,
    regressed_at  INTEGER NOT NULL DEFAULT 0,
    resolved_at   INTEGER NOT NULL DEFAULT 0,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX issues_last_seen ON issues (last_seen);

-- One row per failure: affected events, and failure counts over windows.
CREATE TABLE failures (
    id          INTEGER PRIMARY KEY,
    issue_id    TEXT NOT NULL REFERENCES issues (id),
    kind        TEXT NOT NULL,
    source      TEXT NOT NULL,
    destination TEXT NOT NULL DEFAULT '',
    class       TEXT NOT NULL,
    event_id    TEXT NOT NULL DEFAULT '',
    delivery_id TEXT NOT NULL DEFAULT '',
    test        INTEGER NOT NULL DEFAULT 0,
    at          INTEGER NOT NULL,
    message     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX failures_at ON failures (at);
CREATE INDEX failures_issue_event ON failures (issue_id, event_id);

CREATE TABLE issue_comments (
    id       TEXT PRIMARY KEY,
    issue_id TEXT NOT NULL REFERENCES issues (id),
    author   TEXT NOT NULL,
    at       INTEGER NOT NULL,
    body     TEXT NOT NULL
);
CREATE INDEX issue_comments_issue ON issue_comments (issue_id, at);

CREATE TABLE alert_states (
    rule        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    status      TEXT NOT NULL,
    since       INTEGER NOT NULL DEFAULT 0,
    notified_at INTEGER NOT NULL DEFAULT 0,
    value       REAL NOT NULL DEFAULT 0,
    summary     TEXT NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (rule, subject)
) WITHOUT ROWID;

-- The outbox (status queued) and the alert history (sent, failed).
CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    channel    TEXT NOT NULL,
    rule       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    summary    TEXT NOT NULL DEFAULT '',
    value      REAL NOT NULL DEFAULT 0,
    threshold  REAL NOT NULL DEFAULT 0,
    issue_id   TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    error      TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    sent_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX notifications_status ON notifications (status, created_at);

CREATE TABLE leases (
    name   TEXT PRIMARY KEY,
    owner  TEXT NOT NULL,
    until  INTEGER NOT NULL
) WITHOUT ROWID;

-- Health windows read attempts and completed deliveries by time.
CREATE INDEX attempts_at ON attempts (at);
CREATE INDEX deliveries_completed ON deliveries (completed_at);
