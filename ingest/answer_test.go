package ingest

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

// The 200 answer written without the JSON encoder is the encoder's, byte
// for byte and header for header.
func TestWriteOKMatchesJSONAnswer(t *testing.T) {
	for _, id := range []string{hookwatch.NewID("evt", time.Now()), `odd"id\<&>`, "évt"} {
		for _, dup := range []bool{false, true} {
			fast, slow := httptest.NewRecorder(), httptest.NewRecorder()
			writeOK(fast, id, dup)
			writeAnswer(slow, 200, answer{ID: id, Duplicate: dup})
			if fast.Code != slow.Code || fast.Body.String() != slow.Body.String() {
				t.Errorf("id %q duplicate %v: writeOK %d %q, JSON answer %d %q", id, dup, fast.Code, fast.Body, slow.Code, slow.Body)
			}
			for _, h := range []string{"Content-Type", "Cache-Control"} {
				if fast.Header().Get(h) != slow.Header().Get(h) {
					t.Errorf("%s: writeOK %q, JSON answer %q", h, fast.Header().Get(h), slow.Header().Get(h))
				}
			}
		}
	}
}
