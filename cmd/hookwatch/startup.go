package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/hookwatch/hookwatch"
)

// Start-up failures are what an operator meets first: each is reported as
// one line that names the setting, the cause and what to change.

// startError is a start-up failure: its message is written for the
// operator; the cause stays in the chain (errors.Is, error codes).
type startError struct {
	msg string
	err error
}

func (e *startError) Error() string { return e.msg }
func (e *startError) Unwrap() error { return e.err }

// listenError says why key's address (listen, admin_listen) cannot be
// bound and what to change.
func listenError(key, addr string, err error) error {
	var why string
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		why = "address already in use: another process is listening there (ss -ltnp shows which); stop it, or set " + key + " to a free port"
	case errors.Is(err, syscall.EACCES):
		why = "permission denied: ports below 1024 need root or CAP_NET_BIND_SERVICE; set " + key + " to a port of 1024 or above"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		why = "no network interface of this machine has that address; set " + key + " to one of its addresses, or \":PORT\" for all"
	default:
		why = oneLine(err.Error()) + "; set " + key + " to host:port, e.g. \"127.0.0.1:8081\""
	}
	return &startError{msg: fmt.Sprintf("%s %s: %s", key, addr, why), err: err}
}

// storeOpenError explains why the store at url (kind, driver location loc)
// could not be opened, with what to fix. The URL is shown redacted.
func storeOpenError(url, kind, loc string, err error) error {
	// The driver's own words, without the caller-facing summary of a
	// *hookwatch.Error ("store unreachable: ..."), which says less here.
	cause := err.Error()
	var he *hookwatch.Error
	if errors.As(err, &he) && he.Err != nil {
		cause = he.Err.Error()
	}
	cause = hookwatch.RedactURLs(oneLine(cause))
	where := "store " + hookwatch.RedactURL(url)
	dirProblem := ""
	if kind == "sqlite" {
		dirProblem = sqliteDirProblem(loc)
	}
	var msg string
	switch {
	case dirProblem != "":
		msg = fmt.Sprintf("%s: %s: make it writable by the user running hookwatch, or set store (or HOOKWATCH_STORE) to a path in a writable directory",
			where, dirProblem)
	case strings.Contains(cause, "migrat"), strings.Contains(cause, "not a database"):
		msg = fmt.Sprintf("%s: the schema could not be brought up to date (%s): it is not a Hookwatch database or was changed outside Hookwatch; point store at a new database, or restore this one from a backup",
			where, cause)
	case strings.Contains(cause, "SQLSTATE 3D000"):
		msg = fmt.Sprintf("%s: the database does not exist (%s): create it (createdb NAME), or fix the database name in store (or HOOKWATCH_STORE)", where, cause)
	case strings.Contains(cause, "SQLSTATE 28P01"), strings.Contains(cause, "SQLSTATE 28000"):
		msg = fmt.Sprintf("%s: PostgreSQL refused the login (%s): fix the user or password in store (or HOOKWATCH_STORE)", where, cause)
	case hookwatch.ErrorCode(err) == hookwatch.EUNAVAILABLE:
		msg = fmt.Sprintf("%s: cannot connect (%s): is PostgreSQL running and reachable? Check host, port, user, password and database in store (or HOOKWATCH_STORE)",
			where, cause)
	case strings.Contains(cause, "encrypted with key ID"):
		// The cause says which key is missing and where it goes.
		msg = fmt.Sprintf("%s: %s", where, cause)
	case hookwatch.ErrorCode(err) == hookwatch.EINVALID:
		msg = fmt.Sprintf("%s: %s: fix store (or HOOKWATCH_STORE): sqlite:PATH, or a postgres:// URL (see store in docs/configuration.md)", where, cause)
	default:
		msg = fmt.Sprintf("%s: %s", where, cause)
	}
	return &startError{msg: msg, err: err}
}

// sqliteDirProblem reports why a SQLite database at path cannot be
// written ("" if it can): the directory cannot be created, or it or the
// file is not writable. It is asked only once opening failed, so the
// common path never pays for it.
func sqliteDirProblem(path string) string {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "cannot create the data directory " + dir + ": " + errText(err)
	}
	f, err := os.CreateTemp(dir, ".hookwatch-write-check-*")
	if err != nil {
		return "the data directory " + dir + " is not writable: " + errText(err)
	}
	f.Close()
	os.Remove(f.Name())
	if f, err := os.OpenFile(path, os.O_RDWR, 0); err == nil {
		f.Close()
	} else if !errors.Is(err, os.ErrNotExist) {
		return "the database file " + path + " is not writable: " + errText(err)
	}
	return ""
}

// errText is the system's reason of a path error ("permission denied",
// "not a directory"), else the whole message.
func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Op + " " + pe.Path + ": " + pe.Err.Error()
	}
	return err.Error()
}

// oneLine joins a multi-line message (pgx lists one line per address it
// tried) into one line, without repeated lines.
func oneLine(s string) string {
	if !strings.Contains(s, "\n") {
		return s
	}
	var parts []string
	seen := map[string]bool{}
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || seen[l] {
			continue
		}
		seen[l] = true
		parts = append(parts, l)
	}
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			if strings.HasSuffix(parts[i-1], ":") {
				b.WriteString(" ")
			} else {
				b.WriteString("; ")
			}
		}
		b.WriteString(p)
	}
	return b.String()
}
