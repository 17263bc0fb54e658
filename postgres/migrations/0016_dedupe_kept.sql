-- SQLite's 0016 adds dedupe_kept, the keys of events removed before their
-- dedupe horizon (its 0015 moved each key into the event's row, which goes
-- with the event). PostgreSQL never moved them: its dedupe table keeps
-- every key until PruneDedupe forgets it, whatever is removed. This file
-- keeps the two stores' migration numbers the same.
SELECT 1;
