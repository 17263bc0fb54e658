package config_test

import (
	"strings"
	"testing"

	"github.com/hookwatch/hookwatch/config"
)

func TestSubjectPath(t *testing.T) {
	cfg, err := config.Parse([]byte(`sources:
  - name: stripe
    provider: stripe
    secrets: [x]
  - name: paddle
    provider: paddle
    secrets: [x]
  - name: gh
    provider: github
    secrets: [x]
  - name: own
    provider: stripe
    secrets: [x]
    subject: data.object.metadata.user_id
  - name: off
    provider: stripe
    secrets: [x]
    subject: none
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"stripe": "data.object.customer", "paddle": "data.customer_id", "gh": "", "own": "data.object.metadata.user_id", "off": ""}
	for _, s := range cfg.Sources {
		if got := s.SubjectPath(); got != want[s.Name] {
			t.Errorf("source %s: subject path %q, want %q", s.Name, got, want[s.Name])
		}
	}

	_, err = config.Parse([]byte("sources:\n  - name: a\n    provider: stripe\n    secrets: [x]\n    subject: data..customer\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "line 5") || !strings.Contains(err.Error(), "sources[0].subject") || !strings.Contains(err.Error(), "data.object.customer") {
		t.Errorf("bad subject path: %v; want line 5, the field and an example", err)
	}
}
