//go:build !linux

package main

import (
	"os"

	"github.com/hookwatch/hookwatch"
)

// readNoEcho is not implemented here: passwords come from --password-stdin.
func readNoEcho(*os.File) (string, error) {
	return "", hookwatch.Errorf(hookwatch.EINVALID, "cannot turn off echo on this system: use --password-stdin")
}
