-- The quarantine's byte budget: each request's size (hookwatch.Quarantined
-- StoredSize), and an index that lets the prune add the sizes up newest
-- first. Requests kept before this migration get the size of their body,
-- headers and texts. The same as SQLite's 0010.
ALTER TABLE quarantine ADD COLUMN size bigint NOT NULL DEFAULT 0;
UPDATE quarantine SET size = octet_length(body) + octet_length(headers) + octet_length(url) + octet_length(detail)
    + octet_length(id) + octet_length(source) + octet_length(provider) + octet_length(reason) + octet_length(method);
CREATE INDEX quarantine_size ON quarantine (id, size);

-- The readiness check's write probe: one row that every instance rewrites
-- every few seconds.
CREATE TABLE probe (
    id integer PRIMARY KEY CHECK (id = 1),
    at timestamptz NOT NULL
);
