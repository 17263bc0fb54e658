-- Fewer index entries per delivery row written at ingest (PostgreSQL only:
-- SQLite's delivery rows are created off the request path by its fan-out,
-- 0017, and it needs no 0023).
--
-- deliveries_due (status, next_attempt_at) serves no query: claims and
-- every other read of the pending queue go by destination, through
-- deliveries_pending (0006), and no query orders other statuses by
-- next_attempt_at.
DROP INDEX IF EXISTS deliveries_due;

-- deliveries_completed is read only by ranges of completed_at (health,
-- series, retention), which a pending delivery (completed_at NULL) never
-- matches: leave pending rows out, so that neither the insert nor the
-- leases' updates add an entry to it.
DROP INDEX IF EXISTS deliveries_completed;
CREATE INDEX deliveries_completed ON deliveries (completed_at) WHERE completed_at IS NOT NULL;

-- The foreign key from deliveries to events runs a query per delivery row
-- (an index probe and a row lock on the event, itself a WAL record) to
-- check what the insert already guarantees.
ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_event_id_fkey;
