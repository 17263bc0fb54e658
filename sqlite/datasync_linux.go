package sqlite

import (
	"os"
	"syscall"
)

// datasync is fdatasync(2): it writes f's data and the metadata needed to
// read it back (its size, its blocks), not its timestamps. For the WAL,
// which SQLite rewrites from its start after a checkpoint, an fsync(2)
// after every group commit also journaled the new mtime, one ext4 journal
// commit per fsync; fdatasync skips it when the file did not grow, and
// still makes a grown file's size durable (docs/PERFORMANCE.md, step 8).
func datasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}
