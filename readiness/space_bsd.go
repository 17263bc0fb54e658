//go:build darwin || freebsd

package readiness

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// VolumeSpace returns a function that measures the volume holding dir with
// statfs: the space an unprivileged process may still use, and the
// volume's size.
func VolumeSpace(dir string) func() (Space, error) {
	return func() (Space, error) {
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			return Space{}, fmt.Errorf("statfs: %w", err)
		}
		bs := int64(st.Bsize)
		return Space{Free: int64(st.Bavail) * bs, Total: int64(st.Blocks) * bs}, nil
	}
}
