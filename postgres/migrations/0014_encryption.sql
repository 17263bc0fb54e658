-- Encryption at rest: the same columns and table as SQLite's
-- 0014_encryption.sql. key_id is the ID of the key a row's headers and body
-- are sealed under (then both are in body and headers is empty), '' for a
-- row in plaintext. encryption_keys lists the key IDs rows may be sealed
-- under, so that a store opened without one of them fails at start.
ALTER TABLE events ADD COLUMN key_id text NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN key_id text NOT NULL DEFAULT '';
CREATE TABLE encryption_keys (
    key_id   text PRIMARY KEY,
    added_at timestamptz NOT NULL
);
