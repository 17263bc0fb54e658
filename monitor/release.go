package monitor

import (
	"runtime/debug"

	"github.com/hookwatch/hookwatch"
)

// Release is the release a build reports to Sentry, so that Sentry tells
// builds apart (suspect commits, regressions, release health):
//
//   - hookwatch@VERSION when the version was set at build time with
//     -ldflags "-X github.com/hookwatch/hookwatch.Version=VERSION";
//   - else hookwatch@REVISION, the first 12 digits of the VCS commit the
//     binary was built from (go build stamps it from the checkout), with
//     "-dirty" when the checkout had uncommitted changes;
//   - else hookwatch@MODULE_VERSION for a `go install ...@v1.2.3` build;
//   - else hookwatch@dev.
//
// sentry.release in the config overrides it.
func Release() string {
	info, _ := debug.ReadBuildInfo()
	return releaseOf(hookwatch.Version, info)
}

// releaseOf is Release for a given version and build info (nil: none).
func releaseOf(version string, info *debug.BuildInfo) string {
	if version != "" && version != "dev" {
		return "hookwatch@" + version
	}
	if info == nil {
		return "hookwatch@dev"
	}
	var rev string
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if dirty {
			rev += "-dirty"
		}
		return "hookwatch@" + rev
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return "hookwatch@" + v
	}
	return "hookwatch@dev"
}
