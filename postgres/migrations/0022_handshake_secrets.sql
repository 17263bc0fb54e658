-- Secrets providers hand over in a handshake (Asana's X-Hook-Secret), one
-- per source, kept for sources configured with no secret (trust on first
-- use; `hookwatch sources reset-handshake` deletes the row). The secret is
-- always sealed: under the encryption key (key_id its ID) or, with no
-- encryption configured, under the installation key (key_id
-- 'installation'), bound to the table and the source's name.
CREATE TABLE handshake_secrets (
    source     TEXT PRIMARY KEY,
    key_id     TEXT NOT NULL,
    secret     BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
