-- An issue's recent failures, newest first (the dashboard's issue page),
-- without sorting all of a large issue's failures.
CREATE INDEX failures_issue_recent ON failures (issue_id, id);
