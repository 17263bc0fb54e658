//go:build !linux

package sqlite

import "os"

// datasync is (*os.File).Sync where fdatasync(2) is not in package syscall.
func datasync(f *os.File) error { return f.Sync() }
