-- The routes whose filters left an event out of destinations (issue 15):
-- one row per such route of an event, written in the event's insert
-- transaction only for events a filter left out (most have none), read by
-- the event's page and `events show`, deleted with the event. route is the
-- route's number in the config (from 1); destinations the names it cost the
-- event, comma-separated; error why the filter failed, '' when it was false.
CREATE TABLE event_filters (
    event_id     TEXT NOT NULL,
    route        INTEGER NOT NULL,
    destinations TEXT NOT NULL,
    error        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (event_id, route)
);
