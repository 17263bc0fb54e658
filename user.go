package hookwatch

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"
)

// User is a person who may sign in to the dashboard.
type User struct {
	// Name is the sign-in name: unique, compared exactly.
	Name string `json:"name"`
	// PasswordHash is the bcrypt hash of the password; the password itself
	// is never stored.
	PasswordHash []byte    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
}

// Session is a signed-in browser. The cookie holds a random token; the store
// keeps only its SHA-256 (ID), so a copy of the database opens no session.
type Session struct {
	// ID is the hex SHA-256 of the cookie's token.
	ID   string
	User string
	// CSRF is the token every form of the session must send back.
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// APIToken lets a script call the admin API as a user. The token is shown
// once when created; the store keeps only its SHA-256 (Hash).
type APIToken struct {
	// ID is "tok_" + ULID: safe to show and to name the token by.
	ID   string `json:"id"`
	User string `json:"user"`
	// Name says what the token is for ("ci", "backfill script").
	Name string `json:"name"`
	// Hash is the hex SHA-256 of the token.
	Hash      string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when the token stops working; zero means never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// UserStore keeps dashboard users, their sessions and their API tokens.
type UserStore interface {
	// CreateUser stores a new user. It returns ECONFLICT when the name is
	// taken and EINVALID for an empty name or hash.
	CreateUser(ctx context.Context, u *User) error

	// GetUser returns the user called name, or an error with code ENOTFOUND.
	GetUser(ctx context.Context, name string) (*User, error)

	// ListUsers returns every user, by name.
	ListUsers(ctx context.Context) ([]*User, error)

	// DeleteUser deletes a user with its sessions and API tokens, in one
	// transaction. It returns ENOTFOUND for an unknown user.
	DeleteUser(ctx context.Context, name string) error

	// CreateSession stores a session of an existing user; ENOTFOUND when
	// the user does not exist.
	CreateSession(ctx context.Context, s *Session) error

	// GetSession returns the session with the given ID if it has not
	// expired at now, or an error with code ENOTFOUND.
	GetSession(ctx context.Context, id string, now time.Time) (*Session, error)

	// DeleteSession deletes a session (sign-out). Deleting a session that
	// does not exist is not an error.
	DeleteSession(ctx context.Context, id string) error

	// DeleteExpiredSessions deletes the sessions expired at now and
	// returns how many.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)

	// CreateAPIToken stores a token of an existing user; ENOTFOUND when
	// the user does not exist, ECONFLICT when the ID or hash is taken.
	CreateAPIToken(ctx context.Context, t *APIToken) error

	// GetAPIToken returns the token whose hash is hash if it has not
	// expired at now, or an error with code ENOTFOUND.
	GetAPIToken(ctx context.Context, hash string, now time.Time) (*APIToken, error)

	// ListAPITokens returns every token, oldest first.
	ListAPITokens(ctx context.Context) ([]*APIToken, error)

	// DeleteAPIToken deletes the token with the given ID; ENOTFOUND when
	// there is none.
	DeleteAPIToken(ctx context.Context, id string) error
}

// NewSecretToken returns prefix + 43 characters of URL-safe base64 of 32
// random bytes: a session cookie ("hws_") or an API token ("hwt_").
func NewSecretToken(prefix string) string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// HashToken returns the hex SHA-256 of a session or API token: what the
// store keeps. A fast hash is enough: the tokens are 256 random bits, not
// passwords.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
