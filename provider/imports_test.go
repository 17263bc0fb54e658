package provider

import (
	"go/build"
	"strings"
	"testing"
)

// TestImportsOnlyStdlib keeps the provider package usable as a library on
// its own: it imports the standard library only, never the rest of
// Hookwatch nor any other module.
func TestImportsOnlyStdlib(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		first, _, _ := strings.Cut(imp, "/")
		if strings.Contains(first, ".") {
			t.Errorf("provider imports %q: it must depend on the standard library only", imp)
		}
	}
	if len(pkg.Imports) == 0 {
		t.Fatal("no imports found: the check is not looking at the package")
	}
}
