-- Ordered delivery per key (destinations with `ordering`). A delivery's
-- ordering key, computed when it is created; '' means unordered. order_at
-- is its event's receive time: with event_id it is the key's order.
-- order_error says why an ordered destination's delivery has no key (it
-- goes unordered). Constant defaults: no table rewrite.
ALTER TABLE deliveries
    ADD COLUMN order_key text NOT NULL DEFAULT '',
    ADD COLUMN order_at timestamptz,
    ADD COLUMN order_error text NOT NULL DEFAULT '';

-- "Is an older delivery of this key pending?" (the claim's head check) and
-- "... dead?" (on_dead: block): one probe each, on partial indexes that hold
-- only ordered rows of that status, so finished deliveries stay out of the
-- claim path as in 0006.
CREATE INDEX deliveries_order_pending ON deliveries (destination, order_key, order_at, event_id)
    WHERE status = 'pending' AND order_key <> '';
CREATE INDEX deliveries_order_dead ON deliveries (destination, order_key, order_at, event_id)
    WHERE status = 'dead' AND order_key <> '';
