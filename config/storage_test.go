package config_test

import (
	"strings"
	"testing"

	"github.com/hookwatch/hookwatch/config"
)

func TestStorageMinFree(t *testing.T) {
	const gib = int64(1) << 30
	for _, tc := range []struct {
		yaml         string
		total, floor int64
	}{
		// Unset: 1GiB or 5%, whichever is smaller.
		{"", 100 * gib, gib},
		{"", 10 * gib, gib / 2},
		{"storage: {min_free: 2GiB}\n", 100 * gib, 2 * gib},
		{"storage: {min_free: 2GiB}\n", gib, 2 * gib},
		{"storage: {min_free: 10%}\n", 100 * gib, 10 * gib},
		{"storage: {min_free: 0.5%}\n", 100 * gib, gib / 2},
		{"storage: {min_free: 0}\n", 100 * gib, 0},
	} {
		cfg, err := config.Parse([]byte(tc.yaml), env(nil))
		if err != nil {
			t.Errorf("%q: %v", tc.yaml, err)
			continue
		}
		if got := cfg.Storage.MinFree.Of(tc.total); got != tc.floor {
			t.Errorf("%q: floor of %d = %d, want %d", tc.yaml, tc.total, got, tc.floor)
		}
	}
	for _, tc := range []struct{ yaml, want string }{
		{"log: {level: info}\nstorage:\n  min_free: 150%\n", `line 3: storage.min_free: bad share "150%"`},
		{"storage:\n  min_free: -1GiB\n", `line 2: storage.min_free: bad size "-1GiB"`},
		{"storage:\n  min_free: lots\n", `line 2: storage.min_free: bad size "lots"`},
		{"storage:\n  free: 1GiB\n", `line 2: unknown key "free" in storage (known: min_free)`},
	} {
		_, err := config.Parse([]byte(tc.yaml), env(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
	// config show prints a floor that reads back the same.
	for _, yaml := range []string{"storage: {min_free: 10%}\n", "storage: {min_free: 3GiB}\n", ""} {
		cfg, err := config.Parse([]byte(yaml), env(nil))
		if err != nil {
			t.Fatal(err)
		}
		out, err := cfg.Redacted()
		if err != nil {
			t.Fatal(err)
		}
		again, err := config.Parse(out, env(nil))
		if err != nil {
			t.Fatalf("config show of %q does not read back: %v\n%s", yaml, err, out)
		}
		if a, b := cfg.Storage.MinFree.Of(100*gib), again.Storage.MinFree.Of(100*gib); a != b {
			t.Errorf("%q: floor %d, read back %d\n%s", yaml, a, b, out)
		}
	}
}
