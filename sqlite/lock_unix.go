//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/hookwatch/hookwatch"
)

// pendingByte is where SQLite's lock bytes start in the database file (its
// PENDING_BYTE); the reserved byte and the 510 shared bytes follow. They are
// part of the file format, fixed for compatibility between versions: see
// https://sqlite.org/lockingv3.html and os_unix.c.
const pendingByte = 0x40000000

// errOtherProcess is reopen's error while another process has the database
// open.
var errOtherProcess = &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "store reopening after fsync failure",
	Err: errors.New("sqlite: another process has the database open (a hookwatch command?); the store reopens once it closes it")}

// lockExclusive takes the lock SQLite's unix VFS takes for an EXCLUSIVE
// lock: a write lock on its 512 lock bytes. Every connection in WAL mode
// holds a shared lock there while it is open, so this fails while another
// process has the database open, and while it is held no process can open
// it. Call it only while this process has no SQLite connection to the file:
// POSIX locks belong to the process, so SQLite's own would merge with this
// one, and closing this descriptor would release them all.
func lockExclusive(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open database to lock it: %w", err)
	}
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart, Start: pendingByte, Len: 512}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk); err != nil {
		f.Close()
		if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) {
			return nil, errOtherProcess
		}
		return nil, fmt.Errorf("sqlite: lock database: %w", err)
	}
	return func() { f.Close() }, nil
}
