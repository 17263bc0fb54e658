-- Dashboard users, their sessions and their API tokens: the same tables as
-- SQLite's 0005_users.sql. Passwords are bcrypt hashes; session and API
-- tokens are stored as their SHA-256 only. "Never" is NULL.

CREATE TABLE users (
    name          text PRIMARY KEY,
    password_hash bytea NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE sessions (
    id         text PRIMARY KEY,               -- hex SHA-256 of the cookie token
    user_name  text NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    csrf       text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_user ON sessions (user_name);

CREATE TABLE api_tokens (
    id         text PRIMARY KEY,               -- tok_ + ULID
    user_name  text NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    name       text NOT NULL DEFAULT '',
    hash       text NOT NULL UNIQUE,           -- hex SHA-256 of the token
    created_at timestamptz NOT NULL,
    expires_at timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_name);
