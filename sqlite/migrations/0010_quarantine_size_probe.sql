-- The quarantine's byte budget: each request's size (hookwatch.Quarantined
-- StoredSize), and an index that lets the prune add the sizes up newest
-- first without reading the bodies. Requests kept before this migration get
-- the size of their body, headers and texts.
ALTER TABLE quarantine ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
UPDATE quarantine SET size = length(CAST(body AS BLOB)) + length(CAST(headers AS BLOB)) + length(CAST(url AS BLOB))
    + length(CAST(detail AS BLOB)) + length(id) + length(source) + length(provider) + length(reason) + length(method);
CREATE INDEX quarantine_size ON quarantine (id, size);

-- The readiness check's write probe: one row, rewritten every few seconds.
CREATE TABLE probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL
);
