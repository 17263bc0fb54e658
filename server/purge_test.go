package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/server"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/storetest"
)

func TestPurgeAPI(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	old := storetest.NewEvent("stripe", "evt_old", time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	mine := storetest.NewEvent("stripe", "evt_mine", time.Now().UTC().Truncate(time.Microsecond))
	mine.Subject = "cus_Api1"
	if _, err := store.InsertEvents(ctx, []*hookwatch.Event{old, mine}); err != nil {
		t.Fatal(err)
	}
	admin := httptest.NewServer(server.New(server.Options{Store: store, AdminToken: "tok"}).Admin())
	defer admin.Close()
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, admin.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		json.Unmarshal(raw, &out)
		return resp.StatusCode, out
	}
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want                     map[string]any
	}{
		{"purge needs before", "POST", "/api/events/purge", `{"source":"stripe"}`, 400, map[string]any{"error": "invalid"}},
		{"bad before", "POST", "/api/events/purge", `{"before":"last year"}`, 400, map[string]any{"error": "invalid"}},
		{"unknown field", "POST", "/api/events/purge", `{"before":"30d","sources":"x"}`, 400, map[string]any{"error": "invalid"}},
		{"purge dry run", "POST", "/api/events/purge", `{"before":"2026-01-01","dry_run":true}`, 200, map[string]any{"events": 1.0, "dry_run": true}},
		{"purge", "POST", "/api/events/purge", `{"before":"2026-01-01","actor":"alice"}`, 200, map[string]any{"events": 1.0, "kind": "purge"}},
		{"erase needs one of subject and provider_id", "POST", "/api/erase", `{}`, 400, map[string]any{"error": "invalid"}},
		{"erase dry run", "POST", "/api/erase", `{"subject":"cus_Api1","dry_run":true}`, 200, map[string]any{"events": 1.0, "dry_run": true}},
		{"erase", "POST", "/api/erase", `{"subject":"cus_Api1"}`, 200, map[string]any{"events": 1.0, "kind": "erase"}},
		{"bad limit", "GET", "/api/purges?limit=0", "", 400, map[string]any{"error": "invalid"}},
		{"replays (none)", "GET", "/api/replays", "", 200, map[string]any{"replays": []any{}}},
	} {
		status, out := call(tc.method, tc.path, tc.body)
		if status != tc.status {
			t.Errorf("%s: status %d, want %d (%v)", tc.name, status, tc.status, out)
			continue
		}
		for k, v := range tc.want {
			if got, _ := json.Marshal(out[k]); string(got) != mustJSON(v) {
				t.Errorf("%s: %s = %s, want %s", tc.name, k, got, mustJSON(v))
			}
		}
	}
	for _, id := range []string{old.ID, mine.ID} {
		if _, err := store.GetEvent(ctx, id); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
			t.Errorf("event %s: %v, want it deleted", id, err)
		}
	}
	status, out := call("GET", "/api/purges", "")
	ps, _ := out["purges"].([]any)
	if status != 200 || len(ps) != 2 {
		t.Fatalf("GET /api/purges: %d %v; want the purge and the erasure", status, out)
	}
	raw, _ := json.Marshal(out)
	if strings.Contains(string(raw), "cus_Api1") || !strings.Contains(string(raw), `"subject_hash":"hmac-sha256:`) ||
		!strings.Contains(string(raw), `"actor":"admin-api:alice 127.0.0.1:`) {
		t.Errorf("GET /api/purges: %s", raw)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
