package postgres

import (
	"context"

	"github.com/hookwatch/hookwatch"
)

// ProbeWrite proves the store can still commit; see hookwatch.Store. It
// rewrites the one probe row that every instance shares: a read-only
// standby, a full disk (the WAL write fails) or a lost connection fail it.
func (s *Store) ProbeWrite(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO probe (id, at) VALUES (1, $1)
		ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at`, s.now()); err != nil {
		e := storeError("probe", err)
		return &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "store cannot write", Err: e}
	}
	return nil
}
