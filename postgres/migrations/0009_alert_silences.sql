-- Alerts an on-call engineer can act on: the issue an alert links to is
-- kept from firing to resolved, held-back alerts say why and until when,
-- notifications carry their figures and next step (JSON), and silences
-- hold back a rule's notifications until they expire.
-- The same tables as SQLite's 0009_alert_silences.sql; "never" is NULL
-- where SQLite stores 0.

ALTER TABLE alert_states ADD COLUMN issue_id text NOT NULL DEFAULT '';
ALTER TABLE alert_states ADD COLUMN held_back text NOT NULL DEFAULT '';
ALTER TABLE alert_states ADD COLUMN held_until timestamptz;

ALTER TABLE notifications ADD COLUMN details text NOT NULL DEFAULT '';
-- An alert's own history (is its last notification a firing one?).
CREATE INDEX notifications_rule_subject ON notifications (rule, subject, created_at);

CREATE TABLE silences (
    id         text PRIMARY KEY,
    rule       text NOT NULL,
    subject    text NOT NULL DEFAULT '',  -- '' silences every subject of the rule
    comment    text NOT NULL DEFAULT '',
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX silences_expires ON silences (expires_at);
