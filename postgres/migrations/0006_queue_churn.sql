-- The delivery queue churns: every delivery is inserted, leased, and
-- finished, each an UPDATE that leaves a dead tuple (and dead index entries)
-- behind. With default autovacuum settings, claims slowed down as they
-- walked dead entries (3.7 ms for an empty claim after 25,000 deliveries).
-- PostgreSQL only: SQLite updates in place.

-- Claims read only pending rows: a partial index keeps finished deliveries
-- out of the claim path entirely.
CREATE INDEX deliveries_pending ON deliveries (destination, next_attempt_at) WHERE status = 'pending';

-- Vacuum the queue early and without throttling.
ALTER TABLE deliveries SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_cost_delay = 0,
    autovacuum_analyze_scale_factor = 0.05
);
