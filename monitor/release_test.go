package monitor

import (
	"runtime/debug"
	"testing"
)

// The release names the build: the -ldflags version, else the VCS
// revision go build stamped (dirty when the checkout had changes), else
// the module version of a `go install ...@version` build.
func TestReleaseFromBuildInfo(t *testing.T) {
	vcs := func(rev, modified string) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}}
	}
	const rev = "4f1d9a2b3c4d5e6f708192a3b4c5d6e7f8091a2b"
	for _, c := range []struct {
		name    string
		version string
		info    *debug.BuildInfo
		want    string
	}{
		{"ldflags version wins", "1.4.2", vcs(rev, "false"), "hookwatch@1.4.2"},
		{"clean checkout", "dev", vcs(rev, "false"), "hookwatch@4f1d9a2b3c4d"},
		{"dirty checkout", "dev", vcs(rev, "true"), "hookwatch@4f1d9a2b3c4d-dirty"},
		{"go install at a version", "dev", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "hookwatch@v1.2.3"},
		{"no build info", "dev", nil, "hookwatch@dev"},
		{"devel without VCS", "dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "hookwatch@dev"},
	} {
		if got := releaseOf(c.version, c.info); got != c.want {
			t.Errorf("%s: release %q, want %q", c.name, got, c.want)
		}
	}
}
