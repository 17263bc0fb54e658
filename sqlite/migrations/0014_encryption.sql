-- Encryption at rest (encrypt/, docs/configuration.md#encryption). key_id is
-- the ID of the key a row's headers and body are sealed under (then both
-- are in body and headers is empty), '' for a row in plaintext: every row
-- written before this migration, and every row written without encryption.
-- encryption_keys lists the key IDs rows may be sealed under, so that a
-- store opened without one of them fails at start, naming it, without
-- reading the tables.
ALTER TABLE events ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
CREATE TABLE encryption_keys (
    key_id   TEXT PRIMARY KEY,
    added_at INTEGER NOT NULL
);
