-- The delivery engine: attempt history, destination state (pause, 410,
-- circuit breaker) and the replay audit trail; the same as SQLite's
-- 0002_delivery.sql. "Never" is NULL where SQLite stores 0.

-- When the delivery was created or last replayed: max age counts from it.
-- NULL means created_at.
ALTER TABLE deliveries ADD COLUMN queued_at timestamptz;

-- Claims read one destination's due deliveries in due order.
DROP INDEX deliveries_destination;
CREATE INDEX deliveries_claim ON deliveries (destination, status, next_attempt_at);

CREATE TABLE attempts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id text NOT NULL REFERENCES deliveries (id),
    n           integer NOT NULL,              -- 1, 2, ... per delivery, across replays
    owner       text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL,
    latency_us  bigint NOT NULL DEFAULT 0,
    class       text NOT NULL DEFAULT '',      -- '' for a success
    http_status integer NOT NULL DEFAULT 0,    -- 0 when no response
    error       text NOT NULL DEFAULT '',
    response    bytea NOT NULL DEFAULT ''::bytea -- first 4 KiB of the response body
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, n);

CREATE TABLE destination_state (
    name            text PRIMARY KEY,
    paused          boolean NOT NULL DEFAULT false,
    disabled_at     timestamptz,
    disabled_reason text NOT NULL DEFAULT '',
    circuit         text NOT NULL DEFAULT 'closed',
    failures        integer NOT NULL DEFAULT 0,
    probe_at        timestamptz,
    updated_at      timestamptz NOT NULL
);

CREATE TABLE replays (
    id         text PRIMARY KEY,
    actor      text NOT NULL,
    at         timestamptz NOT NULL,
    filter     text NOT NULL,                  -- JSON of the DeliveryFilter
    rate       double precision NOT NULL DEFAULT 0,
    count      integer NOT NULL
);
