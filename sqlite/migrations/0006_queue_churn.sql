-- PostgreSQL's 0006 gives its churning delivery queue a partial index and
-- eager autovacuum. SQLite updates rows in place and needs neither; this
-- file keeps the two stores' migration numbers the same.
SELECT 1;
