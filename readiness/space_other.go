//go:build !linux && !darwin && !freebsd

package readiness

// VolumeSpace returns nil where this build cannot measure a volume: the
// free space is reported unknown and no floor applies.
func VolumeSpace(dir string) func() (Space, error) { return nil }
