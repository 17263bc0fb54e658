-- The installation key, one row: the same table as SQLite's
-- 0008_installation_key.sql. A token header that a kept request must be
-- verified with later (GitLab's X-Gitlab-Token in the quarantine) is stored
-- as its HMAC under this key (hookwatch.Seal), never as it came. The store
-- makes the key with crypto/rand when it opens (postgres/key.go), and
-- `hookwatch store copy` carries it, so that seals stay comparable.

CREATE TABLE installation_key (
    id         integer PRIMARY KEY CHECK (id = 1),
    key        bytea NOT NULL,
    created_at timestamptz NOT NULL
);

-- Events stored by earlier versions kept their credential headers as
-- received: redact them in place (hookwatch.IsSecretHeader's list; stored
-- header names are canonical). headers is Go's encoding of the header map
-- ("Name":["value",...], quotes inside values escaped), so a pattern finds
-- each list; the JSON functions cannot be used: they reject the \u0000 a
-- header value may hold. The old row versions stay in the table's pages
-- until VACUUM reuses them (docs/postgres.md).
UPDATE events SET headers = regexp_replace(headers,
        '"(Authorization|Proxy-Authorization|Cookie|Set-Cookie|X-Gitlab-Token|X-Api-Key|X-Auth-Token)":\[(?:"(?:[^"\\]|\\.)*",?)*\]',
        '"\1":["[redacted]"]', 'g')
    WHERE headers ~ '"(Authorization|Proxy-Authorization|Cookie|Set-Cookie|X-Gitlab-Token|X-Api-Key|X-Auth-Token)":\[';
