-- Alerts an on-call engineer can act on: the issue an alert links to is
-- kept from firing to resolved, held-back alerts say why and until when,
-- notifications carry their figures and next step (JSON), and silences
-- hold back a rule's notifications until they expire.
-- Times are INTEGER microseconds since the Unix epoch (UTC); 0 is "never".

ALTER TABLE alert_states ADD COLUMN issue_id TEXT NOT NULL DEFAULT '';
ALTER TABLE alert_states ADD COLUMN held_back TEXT NOT NULL DEFAULT '';
ALTER TABLE alert_states ADD COLUMN held_until INTEGER NOT NULL DEFAULT 0;

ALTER TABLE notifications ADD COLUMN details TEXT NOT NULL DEFAULT '';
-- An alert's own history (is its last notification a firing one?).
CREATE INDEX notifications_rule_subject ON notifications (rule, subject, created_at);

CREATE TABLE silences (
    id         TEXT PRIMARY KEY,
    rule       TEXT NOT NULL,
    subject    TEXT NOT NULL DEFAULT '',  -- '' silences every subject of the rule
    comment    TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX silences_expires ON silences (expires_at);
