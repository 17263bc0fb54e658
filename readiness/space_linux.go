package readiness

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// VolumeSpace returns a function that measures the volume holding dir with
// statfs: the space an unprivileged process may still use (Bavail, not
// Bfree: root's reserved blocks are not the store's), and the volume's
// size.
func VolumeSpace(dir string) func() (Space, error) {
	return func() (Space, error) {
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			return Space{}, fmt.Errorf("statfs: %w", err)
		}
		// Block counts are in fragment-size units (df does the same).
		bs := int64(st.Frsize)
		if bs <= 0 {
			bs = int64(st.Bsize)
		}
		return Space{Free: int64(st.Bavail) * bs, Total: int64(st.Blocks) * bs}, nil
	}
}
