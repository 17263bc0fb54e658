-- Encryption at rest for why a route's filter failed (issue 15): with
-- encryption on, a non-empty error is sealed into error_sealed (bound to
-- the event and the route: encrypt.SealFilterError), error is then '' and
-- key_id names the key; key_id '' is a row in plaintext (every row written
-- before this migration, every row without encryption, every filter that
-- was false). `store rotate-key` rekeys these rows with their events'.
ALTER TABLE event_filters ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE event_filters ADD COLUMN error_sealed BLOB;
