package redisstore_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/redistest"
	"github.com/portico-dev/portico/middleware/cache"
	"github.com/portico-dev/portico/middleware/redisstore"
)

// fetchFrom sends a GET to srv with the Host of the first gateway, so two
// gateways on different ports share cache keys, and returns the status,
// Cache-Status and body.
func fetchFrom(t *testing.T, srv *httptest.Server, path, host string, header ...string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
	req.Host = host
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Cache-Status"), string(b)
}

func TestCacheIsSharedByTwoGateways(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	var calls atomic.Int64
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		fmt.Fprintf(w, "hello %s from %s", r.Header.Get("Accept-Language"), r.URL.Path)
	})
	store := redisstore.New(client(t, s), steady).Cache()
	a := serve(t, cache.New(cache.Config{Store: store})(origin))
	b := serve(t, cache.New(cache.Config{Store: store})(origin))
	host := strings.TrimPrefix(a.URL, "http://")

	tests := []struct {
		name    string
		gw      *httptest.Server
		lang    string
		wantHit bool
	}{
		{
			name:    "the first gateway misses and stores",
			gw:      a,
			lang:    "en",
			wantHit: false,
		},
		{
			name:    "the second gateway hits what the first stored",
			gw:      b,
			lang:    "en",
			wantHit: true,
		},
		{
			name:    "another variant misses on the second gateway",
			gw:      b,
			lang:    "fr",
			wantHit: false,
		},
		{
			name:    "that variant hits on the first gateway",
			gw:      a,
			lang:    "fr",
			wantHit: true,
		},
	}
	for _, tt := range tests {
		status, cs, body := fetchFrom(t, tt.gw, "/greeting", host, "Accept-Language", tt.lang)
		if got, want := status, http.StatusOK; got != want {
			t.Fatalf("%s: status = %d, want %d", tt.name, got, want)
		}
		if got, want := body, "hello "+tt.lang+" from /greeting"; got != want {
			t.Fatalf("%s: body = %q, want %q", tt.name, got, want)
		}
		if hit := strings.Contains(cs, "hit"); hit != tt.wantHit {
			t.Errorf("%s: Cache-Status %q, want hit=%v", tt.name, cs, tt.wantHit)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("upstream calls = %d, want 2 (one per language)", n)
	}
}

func TestCacheEntriesRoundTripThroughRedis(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	store := redisstore.New(client(t, s), redisstore.WithPrefix("rt:"), steady).Cache()
	ctx := t.Context()
	want := &cache.Entry{
		Status:     http.StatusNotFound,
		Header:     http.Header{"Content-Type": {"application/json"}, "X-Multi": {"a", "b"}, "Empty": {}},
		Body:       []byte(`{"error":"none"}` + "\x00\xff"),
		Stored:     time.Unix(1700000000, 123456789),
		InitialAge: 3 * time.Second,
		Lifetime:   time.Minute,
	}
	if err := store.Set(ctx, "k\x00with\x00nul", want, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := store.Get(ctx, "k\x00with\x00nul")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got == nil {
		t.Fatal("Get = nil, want the entry")
	}
	if got.Status != want.Status {
		t.Errorf("round trip: Status = %d, want %d", got.Status, want.Status)
	}
	if string(got.Body) != string(want.Body) {
		t.Errorf("round trip: Body = %q, want %q", got.Body, want.Body)
	}
	if !got.Stored.Equal(want.Stored) {
		t.Errorf("round trip: Stored = %v, want %v", got.Stored, want.Stored)
	}
	if got.InitialAge != want.InitialAge {
		t.Errorf("round trip: InitialAge = %v, want %v", got.InitialAge, want.InitialAge)
	}
	if got.Lifetime != want.Lifetime {
		t.Errorf("round trip: Lifetime = %v, want %v", got.Lifetime, want.Lifetime)
	}
	if got, want := got.Header["X-Multi"], []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("round trip: X-Multi = %q, want %q", got, want)
	}
	if got, want := got.Header.Get("Content-Type"), "application/json"; got != want {
		t.Errorf("round trip: Content-Type = %q, want %q", got, want)
	}
	index := &cache.Entry{Vary: []string{"Accept", "Accept-Language"}, Stored: want.Stored}
	if err := store.Set(ctx, "idx", index, time.Minute); err != nil {
		t.Fatal(err)
	}
	idx, _ := store.Get(ctx, "idx")
	if idx == nil {
		t.Fatal("variant index = nil, want the entry")
	}
	if idx.Status != 0 {
		t.Errorf("variant index Status = %d, want 0", idx.Status)
	}
	if got, want := idx.Vary, []string{"Accept", "Accept-Language"}; !slices.Equal(got, want) {
		t.Errorf("variant index Vary = %q, want %q", got, want)
	}
	if err := store.Delete(ctx, "idx"); err != nil {
		t.Fatal(err)
	}
	wantMiss(t, store, "idx", "after Delete")
	wantMiss(t, store, "absent", "absent key")
}

func TestCacheReportsMalformedEntries(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	c := client(t, s)
	store := redisstore.New(c, redisstore.WithPrefix("bad:"), steady).Cache()
	for i, raw := range []string{"", "\x02", "\x01\x05", "\x01\xc8\x01\x00\x00\x00\x00\x05"} {
		key := fmt.Sprint("k", i)
		if err := c.Set(t.Context(), "bad:cache:"+key, raw, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		got, err := store.Get(t.Context(), key)
		if err == nil {
			t.Errorf("malformed entry %q: no error, want one", raw)
		}
		if got != nil {
			t.Errorf("malformed entry %q: got %v, want nil", raw, got)
		}
	}
}

func FuzzCacheEntryDecoding(f *testing.F) {
	s := redistest.Start(f)
	c := client(f, s)
	store := redisstore.New(c, redisstore.WithPrefix("fuzz:"), steady).Cache()
	f.Add([]byte("\x01\xc8\x01\x00\x00\x00\x00\x00body"))
	f.Add([]byte("\x01\x00\x00\x00\x00\x01\x06Accept\x00"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if err := c.Set(t.Context(), "fuzz:cache:k", raw, time.Minute).Err(); err != nil {
			t.Skip(err)
		}
		e, err := store.Get(t.Context(), "k")
		if err == nil && e == nil {
			t.Fatal("a present key read as absent")
		}
		if err == nil {
			// Whatever decodes must encode and decode to the same entry.
			if err := store.Set(t.Context(), "k2", e, time.Minute); err != nil {
				t.Fatal(err)
			}
			again, err := store.Get(t.Context(), "k2")
			if err != nil {
				t.Fatalf("re-encoding %+v: %v", e, err)
			}
			if again.Status != e.Status {
				t.Fatalf("re-encoding changed Status %d into %d", e.Status, again.Status)
			}
			if string(again.Body) != string(e.Body) {
				t.Fatalf("re-encoding changed Body %q into %q", e.Body, again.Body)
			}
			if len(again.Header) != len(e.Header) {
				t.Fatalf("re-encoding changed Header %v into %v", e.Header, again.Header)
			}
		}
	})
}

func BenchmarkCacheGet(b *testing.B) {
	s := redistest.Start(b)
	store := redisstore.New(client(b, s), redisstore.WithPrefix("bench:"), steady).Cache()
	ctx := b.Context()
	e := &cache.Entry{
		Status:   200,
		Header:   http.Header{"Content-Type": {"application/json"}, "Etag": {`"v1"`}},
		Body:     []byte(strings.Repeat("x", 1024)),
		Stored:   time.Now(),
		Lifetime: time.Hour,
	}
	if err := store.Set(ctx, "k", e, time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		got, err := store.Get(ctx, "k")
		if err != nil {
			b.Fatal(err)
		}
		if got == nil {
			b.Fatal("miss, want the entry")
		}
	}
}

// wantMiss fails the test unless key reads as absent, without an error.
func wantMiss(t *testing.T, store cache.Store, key, what string) {
	t.Helper()
	got, err := store.Get(t.Context(), key)
	if err != nil {
		t.Errorf("%s: %v, want a miss", what, err)
	}
	if got != nil {
		t.Errorf("%s: %+v, want a miss", what, got)
	}
}
