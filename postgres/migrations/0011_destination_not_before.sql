-- A destination that answered 429 or 503 with Retry-After waits until
-- not_before (NULL: no such wait). It is stored so that every instance,
-- and the CLI, can say why deliveries wait.
ALTER TABLE destination_state ADD COLUMN not_before timestamptz;
