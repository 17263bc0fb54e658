package monitor_test

import (
	"go/build"
	"strings"
	"testing"
)

// monitor is a leaf that only the binary wires in: of Hookwatch it imports
// the root package alone (whose ErrorReporter, CheckIn, Tracer and
// DeliveryObserver it hands out as values).
func TestMonitorIsALeaf(t *testing.T) {
	pkg, err := build.Import("github.com/hookwatch/hookwatch/monitor", ".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "github.com/hookwatch/hookwatch/") {
			t.Errorf("monitor imports %s", imp)
		}
	}
}
