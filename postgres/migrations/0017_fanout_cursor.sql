-- SQLite's 0017 moves the creation of delivery rows off the request path
-- (an event's destinations in its row, a fan-out cursor). PostgreSQL keeps
-- creating them in the event's own statement: its committers run in
-- parallel and the rows cost it little beside the round trip. This file
-- keeps the two stores' migration numbers the same.
SELECT 1;
