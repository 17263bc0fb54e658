-- Delivery rows are created off the request path (issue 14, sqlite/fanout.go).
-- The group commit stores each event with the destinations the router chose
-- (a JSON array, '' for none): the event row itself is the durable record
-- that its deliveries are owed. A later transaction creates the delivery
-- rows of every event past fanout_cursor.event_rowid, in insertion (rowid)
-- order, and moves the cursor in the same transaction, so each owed
-- delivery is created exactly once, after a crash too.
ALTER TABLE events ADD COLUMN destinations TEXT NOT NULL DEFAULT '';
CREATE TABLE fanout_cursor (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    event_rowid INTEGER NOT NULL -- every event at or below it has its delivery rows
);
-- Events stored before this migration have theirs already.
INSERT INTO fanout_cursor (id, event_rowid) SELECT 1, coalesce(max(rowid), 0) FROM events;
