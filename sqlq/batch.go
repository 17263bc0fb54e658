package sqlq

import "context"

// DeleteBatches calls del, which deletes at most batch rows in one short
// statement and returns how many it deleted, until a call deletes fewer
// than batch, and returns how many were deleted in all. Deleting in
// batches keeps a first prune of a large table from holding one long
// transaction (and, on SQLite, the only writer connection) while commits
// wait. What was deleted before an error stays deleted, and is counted.
func DeleteBatches(ctx context.Context, batch int, del func(ctx context.Context, batch int) (int64, error)) (int, error) {
	n := 0
	for {
		d, err := del(ctx, batch)
		if err != nil {
			return n, err
		}
		n += int(d)
		if d < int64(batch) {
			return n, nil
		}
	}
}
