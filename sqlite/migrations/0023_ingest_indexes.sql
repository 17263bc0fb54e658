-- PostgreSQL's 0023 drops an unused delivery index, makes
-- deliveries_completed partial and drops the deliveries -> events foreign
-- key, all to write less per delivery row on its ingest path. SQLite
-- creates delivery rows off the request path (0017) and keeps its foreign
-- key; this file keeps the two stores' migration numbers the same.
SELECT 1;
