package config

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Storage protects the store's volume (docs/configuration.md#storage).
type Storage struct {
	// MinFree is the free-space floor of the SQLite store's volume: under
	// it the quarantine keeps nothing, /readyz answers 503 and the
	// dashboard says why, while verified events are still accepted until
	// the disk is really full. Unset: 1GiB or 5% of the volume, whichever
	// is smaller. It does not apply to PostgreSQL, whose disk Hookwatch
	// cannot see.
	MinFree MinFree `yaml:"min_free,omitempty"`
}

// MinFree is a free-space floor: a size ("2GiB"), a share of the volume
// ("10%"), or "0" for none. The zero value is the default: 1GiB or 5%,
// whichever is smaller.
type MinFree struct {
	// Bytes and Percent are the floor's parts; the floor is the smaller of
	// those set (non-zero). Both zero with set: no floor.
	Bytes   int64
	Percent float64
	set     bool
}

// Default floor parts.
const (
	DefaultMinFreeBytes   = 1 << 30
	DefaultMinFreePercent = 5
)

// Of returns the floor of a volume of total bytes.
func (m MinFree) Of(total int64) int64 {
	if !m.set {
		m.Bytes, m.Percent = DefaultMinFreeBytes, DefaultMinFreePercent
	}
	floor := int64(-1)
	if m.Bytes > 0 {
		floor = m.Bytes
	}
	if m.Percent > 0 {
		if p := int64(float64(total) * m.Percent / 100); floor < 0 || p < floor {
			floor = p
		}
	}
	return max(floor, 0)
}

// String prints the floor as it is written in the file.
func (m MinFree) String() string {
	switch {
	case !m.set:
		return "1GiB or 5%, whichever is smaller"
	case m.Percent > 0:
		return strconv.FormatFloat(m.Percent, 'f', -1, 64) + "%"
	}
	v, _ := ByteSize(m.Bytes).MarshalYAML()
	return fmt.Sprint(v)
}

// UnmarshalYAML reads "2GiB", "10%" or "0".
func (m *MinFree) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v <= 0 || v >= 100 {
			return fmt.Errorf("line %d: storage.min_free: bad share %q (use a percentage of the volume between 0 and 100, such as 5%%, or a size such as 2GiB)", n.Line, s)
		}
		*m = MinFree{Percent: v, set: true}
		return nil
	}
	v, err := ParseByteSize(s)
	if err != nil {
		return fmt.Errorf("line %d: storage.min_free: %w, or a share of the volume such as 5%%", n.Line, err)
	}
	*m = MinFree{Bytes: v, set: true}
	return nil
}

// MarshalYAML prints the floor the way it can be read back; the default
// prints nothing.
func (m MinFree) MarshalYAML() (any, error) {
	if !m.set {
		return nil, nil
	}
	return m.String(), nil
}

// IsZero reports whether the floor is the default (config show omits it).
func (m MinFree) IsZero() bool { return !m.set }

// sizeText prints a size as it would be written in the file.
func sizeText(b ByteSize) string {
	v, _ := b.MarshalYAML()
	return fmt.Sprint(v)
}
