-- SQLite's 0015 moves the dedupe keys into the events table (one B-tree
-- with random keys per event instead of three). PostgreSQL keeps its dedupe
-- table: its concurrent committers claim keys with an upsert that locks
-- them, which a plain index on events cannot do. This file keeps the two
-- stores' migration numbers the same.
SELECT 1;
