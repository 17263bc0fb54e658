package main

import (
	"flag"
	"os"
	"runtime"
	"strconv"
	"testing"
)

// TestMain starts building the binary at once (the tests that start real
// processes wait for it; the in-process ones run meanwhile) and, unless
// -parallel was given, runs four parallel tests per CPU instead of one:
// most of these tests spend their time waiting on a child process, a lease
// or a socket, not computing, and the package's wall time is what the
// suite waits for.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", strconv.Itoa(4*runtime.GOMAXPROCS(0)))
	}
	startBuild()
	code := m.Run()
	stopBuild()
	<-built
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}
