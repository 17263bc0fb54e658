package main

import (
	"errors"
	"flag"
	"strings"
	"testing"
)

// Flags go anywhere on the command line, as in every modern CLI: after the
// positional arguments (`issues resolve ID --comment "..."`, as the docs
// show), between them, or before; "--" ends the flags. Each command gets
// this from the one shared flag helper.
func TestFlagsAfterArguments(t *testing.T) {
	t.Parallel()
	s, id, _ := seedIssues(t)
	p := s.path
	env := map[string]string{"USER": "alice"}
	for _, tc := range []struct {
		name string
		args []string
		want []string
		// wantErr: the command fails, with want in the error.
		wantErr bool
	}{
		{name: "alerts test with --config after the channel", args: []string{"alerts", "test", "ops-hooks", "--config", p},
			want: []string{"test notification sent to ops-hooks"}},
		{name: "issues resolve with --comment after the ID", args: []string{"issues", "resolve", id, "--comment", "fixed in v2.3", "--config", p},
			want: []string{id + " is resolved"}},
		{name: "a bool flag before the ID keeps the ID", args: []string{"issues", "show", "--config", p, "--json", id},
			want: []string{`"status":"resolved"`, `fixed in v2.3`}},
		{name: "flags between arguments", args: []string{"issues", "priority", id, "--config=" + p, "high"},
			want: []string{"priority high"}},
		{name: "-- ends the flags", args: []string{"issues", "comment", "--config", p, id, "--", "--force is not a flag here"},
			want: []string{id + " is resolved"}},
		{name: "a flag value may start with a dash", args: []string{"issues", "comment", id, "--comment", "-- from the CLI", "--config", p, "noted"},
			want: []string{id + " is resolved"}},
		{name: "the comments all landed", args: []string{"issues", "show", id, "--config", p},
			want: []string{"cli:alice: fixed in v2.3", "cli:alice: --force is not a flag here", "Priority:     high", "cli:alice: -- from the CLI"}},
		{name: "an unknown flag after the ID is still refused", args: []string{"issues", "show", id, "--bogus", "--config", p},
			wantErr: true, want: []string{"flag provided but not defined: -bogus"}},
		{name: "one argument too many is still refused", args: []string{"alerts", "test", "ops-hooks", "extra", "--config", p},
			wantErr: true, want: []string{"needs one channel name"}},
	} {
		out, stderr, err := run(t, env, tc.args...)
		if tc.wantErr {
			if err == nil || !strings.Contains(err.Error()+stderr, tc.want[0]) {
				t.Errorf("%s: got %v\n%s", tc.name, err, stderr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v\n%s", tc.name, err, stderr)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: missing %q in:\n%s", tc.name, w, out)
			}
		}
	}
	// --help anywhere still asks for help.
	if _, stderr, err := run(t, nil, "issues", "resolve", id, "--help"); !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "-comment string") {
		t.Errorf("--help after the ID: %v\n%s", err, stderr)
	}
}
