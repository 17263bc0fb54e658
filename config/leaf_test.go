package config_test

import (
	"go/build"
	"strings"
	"testing"
)

// config is a leaf: it knows the file's shape and nothing of the packages
// that run it (cmd/hookwatch/wire.go translates). It may import the root
// package (domain defaults), and provider and encrypt (names, and checks of
// a scheme's settings and of a key, with the line) only.
func TestConfigIsALeaf(t *testing.T) {
	pkg, err := build.Import("github.com/hookwatch/hookwatch/config", ".", 0)
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"github.com/hookwatch/hookwatch": true, "github.com/hookwatch/hookwatch/provider": true,
		"github.com/hookwatch/hookwatch/encrypt": true}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "github.com/hookwatch/hookwatch") && !allowed[imp] {
			t.Errorf("config imports %s: translate in cmd/hookwatch/wire.go instead", imp)
		}
	}
}
