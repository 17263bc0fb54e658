//go:build !unix

package sqlite

// lockExclusive does nothing where SQLite does not use POSIX locks: reopen
// then relies on no other process writing the file while it recovers.
func lockExclusive(path string) (unlock func(), err error) {
	return func() {}, nil
}
