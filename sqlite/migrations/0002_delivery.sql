-- The delivery engine: attempt history, destination state (pause, 410,
-- circuit breaker) and the replay audit trail.
-- Times are INTEGER microseconds since the Unix epoch (UTC).

-- When the delivery was created or last replayed: max age counts from it.
-- 0 means created_at.
ALTER TABLE deliveries ADD COLUMN queued_at INTEGER NOT NULL DEFAULT 0;

-- Claims read one destination's due deliveries in due order.
DROP INDEX deliveries_destination;
CREATE INDEX deliveries_claim ON deliveries (destination, status, next_attempt_at);

CREATE TABLE attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES deliveries (id),
    n           INTEGER NOT NULL,              -- 1, 2, ... per delivery, across replays
    owner       TEXT NOT NULL DEFAULT '',
    at          INTEGER NOT NULL,
    latency_us  INTEGER NOT NULL DEFAULT 0,
    class       TEXT NOT NULL DEFAULT '',      -- '' for a success
    http_status INTEGER NOT NULL DEFAULT 0,    -- 0 when no response
    error       TEXT NOT NULL DEFAULT '',
    response    BLOB NOT NULL DEFAULT x''      -- first 4 KiB of the response body
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, n);

CREATE TABLE destination_state (
    name            TEXT PRIMARY KEY,
    paused          INTEGER NOT NULL DEFAULT 0,
    disabled_at     INTEGER NOT NULL DEFAULT 0,
    disabled_reason TEXT NOT NULL DEFAULT '',
    circuit         TEXT NOT NULL DEFAULT 'closed',
    failures        INTEGER NOT NULL DEFAULT 0,
    probe_at        INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE replays (
    id         TEXT PRIMARY KEY,
    actor      TEXT NOT NULL,
    at         INTEGER NOT NULL,
    filter     TEXT NOT NULL,                  -- JSON of the DeliveryFilter
    rate       REAL NOT NULL DEFAULT 0,
    count      INTEGER NOT NULL
);
