-- Issues (failures grouped by fingerprint), alert state, the notification
-- outbox and history, and leases (one alert evaluator among instances).
-- The same tables as SQLite's 0004_issues_alerts.sql; "never" is NULL where
-- SQLite stores 0.

CREATE TABLE issues (
    id            text PRIMARY KEY,
    fingerprint   text NOT NULL UNIQUE,       -- source|destination|class[|test]
    kind          text NOT NULL,              -- kind of the latest failure
    source        text NOT NULL,
    destination   text NOT NULL DEFAULT '',
    class         text NOT NULL,
    status        text NOT NULL DEFAULT 'open',
    priority      text NOT NULL DEFAULT 'medium',
    test          boolean NOT NULL DEFAULT false,
    first_seen    timestamptz NOT NULL,
    last_seen     timestamptz NOT NULL,
    count         integer NOT NULL DEFAULT 0,
    events        integer NOT NULL DEFAULT 0, -- distinct events affected
    dead_letters  integer NOT NULL DEFAULT 0,
    last_message  text NOT NULL DEFAULT '',
    last_event_id text NOT NULL DEFAULT '',
    regression    boolean NOT NULL DEFAULT false,
    regressed_at  timestamptz,
    resolved_at   timestamptz,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX issues_last_seen ON issues (last_seen);

-- One row per failure: affected events, and failure counts over windows.
CREATE TABLE failures (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    issue_id    text NOT NULL REFERENCES issues (id),
    kind        text NOT NULL,
    source      text NOT NULL,
    destination text NOT NULL DEFAULT '',
    class       text NOT NULL,
    event_id    text NOT NULL DEFAULT '',
    delivery_id text NOT NULL DEFAULT '',
    test        boolean NOT NULL DEFAULT false,
    at          timestamptz NOT NULL,
    message     text NOT NULL DEFAULT ''
);
CREATE INDEX failures_at ON failures (at);
CREATE INDEX failures_issue_event ON failures (issue_id, event_id);

CREATE TABLE issue_comments (
    seq      bigint GENERATED ALWAYS AS IDENTITY,
    id       text PRIMARY KEY,
    issue_id text NOT NULL REFERENCES issues (id),
    author   text NOT NULL,
    at       timestamptz NOT NULL,
    body     text NOT NULL
);
CREATE INDEX issue_comments_issue ON issue_comments (issue_id, at);

CREATE TABLE alert_states (
    rule        text NOT NULL,
    subject     text NOT NULL,
    status      text NOT NULL,
    since       timestamptz,
    notified_at timestamptz,
    value       double precision NOT NULL DEFAULT 0,
    summary     text NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (rule, subject)
);

-- The outbox (status queued) and the alert history (sent, failed).
CREATE TABLE notifications (
    id         text PRIMARY KEY,
    channel    text NOT NULL,
    rule       text NOT NULL,
    subject    text NOT NULL,
    kind       text NOT NULL,
    summary    text NOT NULL DEFAULT '',
    value      double precision NOT NULL DEFAULT 0,
    threshold  double precision NOT NULL DEFAULT 0,
    issue_id   text NOT NULL DEFAULT '',
    status     text NOT NULL,
    attempts   integer NOT NULL DEFAULT 0,
    error      text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    sent_at    timestamptz
);
CREATE INDEX notifications_status ON notifications (status, created_at);

CREATE TABLE leases (
    name   text PRIMARY KEY,
    owner  text NOT NULL,
    until  timestamptz NOT NULL
);

-- Health windows read attempts and completed deliveries by time.
CREATE INDEX attempts_at ON attempts (at);
CREATE INDEX deliveries_completed ON deliveries (completed_at);
