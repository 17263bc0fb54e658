-- Dashboard users, their sessions and their API tokens. Passwords are bcrypt
-- hashes; session and API tokens are stored as their SHA-256 only.
-- Times are INTEGER microseconds since the Unix epoch (UTC); 0 is "never".

CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    password_hash BLOB NOT NULL,
    created_at    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,               -- hex SHA-256 of the cookie token
    user_name  TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_user ON sessions (user_name);

CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,               -- tok_ + ULID
    user_name  TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    name       TEXT NOT NULL DEFAULT '',
    hash       TEXT NOT NULL UNIQUE,           -- hex SHA-256 of the token
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX api_tokens_user ON api_tokens (user_name);
