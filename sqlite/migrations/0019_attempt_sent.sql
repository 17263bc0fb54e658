-- Transformations (issue 15): what an attempt actually sent. transform is
-- the hash of the destination's transform that ran ('' without one): a
-- delivery failed with transform_error waits until the destination's
-- transform has another hash (RetryTransformFailures). sent_hash is the
-- SHA-256 of the body sent. The request as sent (URL and headers redacted,
-- the first 16 KiB of the body) is kept when a transform made it differ
-- from the stored event, sealed like an event's payload when encryption
-- at rest is on (sent_key; sent_headers is then empty and sent_body holds
-- both); sent_body NULL means nothing was recorded.
ALTER TABLE attempts ADD COLUMN transform TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN sent_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN sent_url TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN sent_headers TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN sent_body BLOB;
ALTER TABLE attempts ADD COLUMN sent_key TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN sent_size INTEGER NOT NULL DEFAULT 0;
