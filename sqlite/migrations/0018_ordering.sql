-- Ordered delivery per key (destinations with `ordering`). A delivery's
-- ordering key, computed when it is created; empty means unordered.
-- order_at is its event's receive time (microseconds): with event_id it is
-- the key's order. order_error says why an ordered destination's delivery
-- has no key (it goes unordered).
ALTER TABLE deliveries ADD COLUMN order_key TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN order_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN order_error TEXT NOT NULL DEFAULT '';

-- "Is an older delivery of this key pending (or dead)?": one probe per
-- candidate of a claim, seeking (destination, key, status) then the range
-- of older receive times. Only ordered deliveries are in it.
CREATE INDEX deliveries_order ON deliveries (destination, order_key, status, order_at, event_id) WHERE order_key <> '';
