package hookwatch

import "context"

// RekeyTables are the tables whose rows carry an encrypted payload (an
// event's or a quarantined request's headers and body), in the order
// `hookwatch store rotate-key` goes through them.
var RekeyTables = []string{"events", "quarantine"}

// Rekeyer moves stored payloads to the store's current encryption key (the
// first of encryption.keys), for `hookwatch store rotate-key`. Both stores
// implement it; it is safe to run while instances serve.
type Rekeyer interface {
	// RekeyPage looks at up to limit rows of table (one of RekeyTables)
	// with IDs after after, in ID order, and rewrites those not under the
	// current key: sealed under it, or in plaintext when encryption is
	// decrypt only (or off). A row written meanwhile by another instance
	// is left as it is. It returns the last ID looked at ("" when there
	// was none: the table is done) and how many rows it rewrote. A row it
	// cannot open is an EINVALID error naming the key ID it needs, or an
	// EINTERNAL error when its payload does not authenticate.
	RekeyPage(ctx context.Context, table, after string, limit int) (last string, rewritten int, err error)
	// KeyUsage counts the rows of each of RekeyTables by key ID ("" for
	// plaintext), and forgets the key IDs that no row uses any more, so
	// that the store opens without them.
	KeyUsage(ctx context.Context) (map[string]map[string]int, error)
}
