-- The installation key, one row: a token header that a kept request must be
-- verified with later (GitLab's X-Gitlab-Token in the quarantine) is stored
-- as its HMAC under this key (hookwatch.Seal), never as it came. The store
-- makes the key with crypto/rand when it opens (sqlite/key.go), and
-- `hookwatch store copy` carries it, so that seals stay comparable.

CREATE TABLE installation_key (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    key        BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

-- Events stored by earlier versions kept their credential headers as
-- received: redact them in place (hookwatch.IsSecretHeader's list; stored
-- header names are canonical). secure_delete zeroes the old rows' bytes as
-- they are rewritten, so the values do not linger in the file's free space;
-- the store truncates the WAL after making the key (sqlite/key.go).
PRAGMA secure_delete = ON;
UPDATE events SET headers = json_replace(headers,
        '$."Authorization"',       json('["[redacted]"]'),
        '$."Proxy-Authorization"', json('["[redacted]"]'),
        '$."Cookie"',              json('["[redacted]"]'),
        '$."Set-Cookie"',          json('["[redacted]"]'),
        '$."X-Gitlab-Token"',      json('["[redacted]"]'),
        '$."X-Api-Key"',           json('["[redacted]"]'),
        '$."X-Auth-Token"',        json('["[redacted]"]'))
    WHERE instr(headers, '"Authorization":') > 0
       OR instr(headers, '"Proxy-Authorization":') > 0
       OR instr(headers, '"Cookie":') > 0
       OR instr(headers, '"Set-Cookie":') > 0
       OR instr(headers, '"X-Gitlab-Token":') > 0
       OR instr(headers, '"X-Api-Key":') > 0
       OR instr(headers, '"X-Auth-Token":') > 0;
PRAGMA secure_delete = OFF;
