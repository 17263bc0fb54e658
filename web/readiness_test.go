package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/readiness"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/web"
	"golang.org/x/crypto/bcrypt"
)

// The overview says, visibly, when the store's volume is under its floor:
// the quarantine keeps nothing, verified events are still accepted; and
// the notice goes once space is freed.
func TestOverviewLowDiskNotice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hookwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hash, _ := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err := s.CreateUser(ctx, &hookwatch.User{Name: user, PasswordHash: hash, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var free atomic.Int64
	free.Store(300 << 20)
	w := readiness.New(readiness.Options{Probe: s.ProbeWrite,
		Space: func() (readiness.Space, error) { return readiness.Space{Free: free.Load(), Total: 20 << 30}, nil },
		Floor: func(int64) int64 { return 1 << 30 }})
	w.Check(ctx)
	h, err := web.New(web.Options{Store: s, Sources: []string{"stripe"}, Readiness: w})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: s, dash: httptest.NewServer(h)}
	defer e.dash.Close()
	c := e.client()
	e.signIn(c)

	code, body := e.get(c, "/")
	if code != http.StatusOK {
		t.Fatalf("overview: %d", code)
	}
	if missing := contains(body, `role="alert"`, "Not ready: /readyz answers 503", `data-reason="low_disk"`,
		"300 MiB free on the store&#39;s volume, under storage.min_free (1 GiB)", "the quarantine keeps nothing", "verified events are still accepted",
		"Store volume: 300 MiB free of 20 GiB (floor 1 GiB)"); len(missing) > 0 {
		t.Errorf("under the floor, the overview lacks %q", missing)
	}

	free.Store(5 << 30)
	w.Check(ctx)
	_, body = e.get(c, "/")
	if missing := contains(body, `role="alert"`); len(missing) == 0 {
		t.Errorf("the notice stays after space was freed")
	}
	if missing := contains(body, "Store volume: 5 GiB free of 20 GiB (floor 1 GiB)"); len(missing) > 0 {
		t.Errorf("overview lacks %q", missing)
	}

	// PostgreSQL: unknown, said so, no number.
	u := readiness.New(readiness.Options{Unknown: "the store is PostgreSQL, whose disk is the database server's"})
	u.Check(ctx)
	h2, err := web.New(web.Options{Store: s, Readiness: u})
	if err != nil {
		t.Fatal(err)
	}
	e2 := &env{t: t, store: s, dash: httptest.NewServer(h2)}
	defer e2.dash.Close()
	c2 := e2.client()
	e2.signIn(c2)
	_, body = e2.get(c2, "/")
	if missing := contains(body, "Store volume: free space unknown: the store is PostgreSQL"); len(missing) > 0 {
		t.Errorf("overview on PostgreSQL lacks %q", missing)
	}
}

// The overview shows the store's size and its oldest finished event: how
// far back retention reaches.
func TestOverviewStoreSize(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hookwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hash, _ := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err := s.CreateUser(ctx, &hookwatch.User{Name: user, PasswordHash: hash, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	received := now.Add(-(3*24*time.Hour + 5*time.Hour + 10*time.Minute))
	e := &hookwatch.Event{ID: hookwatch.NewID("evt", received), Source: "stripe", Provider: "stripe", Headers: http.Header{},
		Body: make([]byte, 2048), ReceivedAt: received} // routed nowhere: finished
	if _, err := s.InsertEvents(ctx, []*hookwatch.Event{e}); err != nil {
		t.Fatal(err)
	}
	w := readiness.New(readiness.Options{Probe: s.ProbeWrite, Size: s.StoreSize, Oldest: s.OldestFinished, Now: func() time.Time { return now }})
	w.Check(ctx)
	st := w.Status().Storage.Store
	if st == nil || st.Oldest == nil || st.Oldest.ID != e.ID || st.Bytes <= 0 {
		t.Fatalf("readiness store space = %+v", st)
	}
	h, err := web.New(web.Options{Store: s, Sources: []string{"stripe"}, Readiness: w})
	if err != nil {
		t.Fatal(err)
	}
	env := &env{t: t, store: s, dash: httptest.NewServer(h)}
	defer env.dash.Close()
	c := env.client()
	env.signIn(c)
	_, body := env.get(c, "/")
	if missing := contains(body, "Store size: "+readiness.FormatBytes(st.Bytes)+" on disk", "oldest finished event 3d 5h old ("+e.ID+", 2.0 KiB)"); len(missing) > 0 {
		t.Errorf("overview lacks %q", missing)
	}
}
