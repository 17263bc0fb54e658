// Package batch is the drain-and-batch step of Hookwatch's background
// writers (the ingest group commit, the delivery finisher, the issue
// recorder, the quarantine writer): wait for one item, then take whatever
// else is already waiting, so that one store transaction serves everything
// that arrived while the previous one ran. It never waits for a batch to
// fill: an item alone is written at once, and under load batches grow by
// themselves.
package batch

// Next waits for an item on ch, then takes the items already waiting, up to
// max in all, without waiting for more. It reuses buf's storage. ok is
// false when ch is closed and every item has been taken: the writer stops.
func Next[T any](ch <-chan T, buf []T, max int) (batch []T, ok bool) {
	first, ok := <-ch
	if !ok {
		return buf[:0], false
	}
	batch = append(buf[:0], first)
	if len(batch) < max {
		Drain(ch, func(v T) bool {
			batch = append(batch, v)
			return len(batch) < max
		})
	}
	return batch, true
}

// Drain hands the items already waiting on ch to add, one at a time and
// without blocking, until none is waiting or add returns false (the batch
// is full: by count, bytes, whatever the caller counts). It returns false
// when it found ch closed.
func Drain[T any](ch <-chan T, add func(T) bool) (open bool) {
	for {
		select {
		case v, ok := <-ch:
			if !ok {
				return false
			}
			if !add(v) {
				return true
			}
		default:
			return true
		}
	}
}
