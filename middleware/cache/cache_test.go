package cache_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/middleware/cache"
)

func TestCacheStoresOnlyWhatTheRulesAllow(t *testing.T) {
	t.Parallel()
	future := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC).Format(http.TimeFormat)
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		reqHeader  map[string]string
		method     string
		ttl        time.Duration
		bodySize   int
		wantCalls  int64
		wantStatus string // Cache-Status of the second response, a substring
	}{
		{
			name:       "a response with max-age is served from the cache",
			status:     200,
			header:     map[string]string{"Cache-Control": "max-age=60"},
			wantCalls:  1,
			wantStatus: "portico; hit; ttl=60",
		},
		{
			name:       "s-maxage wins over max-age=0 for a shared cache",
			status:     200,
			header:     map[string]string{"Cache-Control": "max-age=0, s-maxage=30"},
			wantCalls:  1,
			wantStatus: "hit; ttl=30",
		},
		{
			name:       "a response with a future Expires is stored",
			status:     200,
			header:     map[string]string{"Expires": future, "Date": time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Format(http.TimeFormat)},
			wantCalls:  1,
			wantStatus: "hit; ttl=3600",
		},
		{
			name:       "public without a lifetime uses the route TTL",
			status:     200,
			header:     map[string]string{"Cache-Control": "public"},
			ttl:        time.Minute,
			wantCalls:  1,
			wantStatus: "hit; ttl=60",
		},
		{
			name:       "a response without caching headers uses the route TTL",
			status:     200,
			ttl:        5 * time.Second,
			wantCalls:  1,
			wantStatus: "hit; ttl=5",
		},
		{
			name:       "a response without caching headers and no route TTL is not stored",
			status:     200,
			wantCalls:  2,
			wantStatus: "detail=no-freshness",
		},
		{
			name:       "a private response is never stored",
			status:     200,
			header:     map[string]string{"Cache-Control": "private, max-age=60"},
			wantCalls:  2,
			wantStatus: "detail=private",
		},
		{
			name:       "a no-store response is never stored",
			status:     200,
			header:     map[string]string{"Cache-Control": "no-store, max-age=60"},
			ttl:        time.Minute,
			wantCalls:  2,
			wantStatus: "detail=no-store",
		},
		{
			name:       "a response setting a cookie is never stored",
			status:     200,
			header:     map[string]string{"Cache-Control": "max-age=60", "Set-Cookie": "s=1"},
			wantCalls:  2,
			wantStatus: "detail=set-cookie",
		},
		{
			name:       "a response to an authorized request is not stored by default",
			status:     200,
			header:     map[string]string{"Cache-Control": "max-age=60"},
			reqHeader:  map[string]string{"Authorization": "Bearer x"},
			wantCalls:  2,
			wantStatus: "detail=authorization",
		},
		{
			name:       "a public response to an authorized request is stored",
			status:     200,
			header:     map[string]string{"Cache-Control": "public, max-age=60"},
			reqHeader:  map[string]string{"Authorization": "Bearer x"},
			wantCalls:  1,
			wantStatus: "hit",
		},
		{
			name:       "Vary star is never stored",
			status:     200,
			header:     map[string]string{"Cache-Control": "max-age=60", "Vary": "*"},
			wantCalls:  2,
			wantStatus: "detail=vary",
		},
		{
			name:       "a 404 with max-age is stored",
			status:     404,
			header:     map[string]string{"Cache-Control": "max-age=60"},
			wantCalls:  1,
			wantStatus: "hit",
		},
		{
			name:       "a 301 with max-age is stored",
			status:     301,
			header:     map[string]string{"Cache-Control": "max-age=60", "Location": "/elsewhere"},
			wantCalls:  1,
			wantStatus: "hit",
		},
		{
			name:       "a 500 is never stored",
			status:     500,
			header:     map[string]string{"Cache-Control": "max-age=60"},
			wantCalls:  2,
			wantStatus: "detail=status",
		},
		{
			name:       "a 201 is not stored",
			status:     201,
			header:     map[string]string{"Cache-Control": "max-age=60"},
			wantCalls:  2,
			wantStatus: "detail=status",
		},
		{
			name:       "a POST is never answered from the cache",
			method:     http.MethodPost,
			status:     200,
			header:     map[string]string{"Cache-Control": "max-age=60"},
			wantCalls:  2,
			wantStatus: "fwd=method",
		},
		{
			name:       "a body over the size limit is not stored",
			status:     200,
			header:     map[string]string{"Cache-Control": "max-age=60"},
			bodySize:   2048,
			wantCalls:  2,
			wantStatus: "detail=too-large",
		},
		{
			name:       "a request with no-store is forwarded and not stored",
			status:     200,
			header:     map[string]string{"Cache-Control": "max-age=60"},
			reqHeader:  map[string]string{"Cache-Control": "no-store"},
			wantCalls:  2,
			wantStatus: "fwd=request",
		},
		{
			name:       "a Range request bypasses the cache",
			status:     200,
			header:     map[string]string{"Cache-Control": "max-age=60"},
			reqHeader:  map[string]string{"Range": "bytes=0-1"},
			wantCalls:  2,
			wantStatus: "fwd=bypass",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := "hello"
			if tt.bodySize > 0 {
				body = strings.Repeat("x", tt.bodySize)
			}
			o := newCountingOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, body)
			})
			clock := newManualClock()
			gw := frontFor(t, o, cache.New(cache.Config{TTL: tt.ttl, MaxBody: 1024, Now: clock.Now}))
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			var last *http.Response
			for range 2 {
				req, _ := http.NewRequest(method, gw.URL+"/item", nil)
				for k, v := range tt.reqHeader {
					req.Header.Set(k, v)
				}
				res, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != tt.status {
					t.Fatalf("status = %d, want %d", res.StatusCode, tt.status)
				}
				last = res
			}
			if got := o.Calls.Load(); got != tt.wantCalls {
				t.Errorf("upstream calls = %d, want %d", got, tt.wantCalls)
			}
			if got := last.Header.Get("Cache-Status"); !strings.Contains(got, tt.wantStatus) {
				t.Errorf("Cache-Status = %q, want it to contain %q", got, tt.wantStatus)
			}
		})
	}
}

func TestCacheSetsAgeAndExpiresEntries(t *testing.T) {
	t.Parallel()
	o := newCountingOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("Age", "2")
		fmt.Fprint(w, "v")
	})
	clock := newManualClock()
	gw := frontFor(t, o, cache.New(cache.Config{Now: clock.Now}))

	first := fetch(t, http.MethodGet, gw.URL+"/a", nil, nil)
	if got := first.header.Get("Cache-Status"); got != "portico; fwd=uri-miss; fwd-status=200; stored" {
		t.Errorf("first Cache-Status = %q", got)
	}
	clock.Advance(5 * time.Second)
	second := fetch(t, http.MethodGet, gw.URL+"/a", nil, nil)
	if got := second.header.Get("Age"); got != "7" {
		t.Errorf("Age = %q, want 7 (2 upstream + 5 in the cache)", got)
	}
	if got := second.header.Get("Cache-Status"); got != "portico; hit; ttl=3" {
		t.Errorf("Cache-Status = %q, want hit with 3 s left", got)
	}
	clock.Advance(4 * time.Second)
	third := fetch(t, http.MethodGet, gw.URL+"/a", nil, nil)
	if got := third.header.Get("Cache-Status"); !strings.Contains(got, "fwd=uri-miss") {
		t.Errorf("Cache-Status after expiry = %q, want a miss", got)
	}
	if got := o.Calls.Load(); got != 2 {
		t.Errorf("upstream calls = %d, want 2", got)
	}
}

func TestCacheHonoursVary(t *testing.T) {
	t.Parallel()
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		fmt.Fprint(w, "lang="+r.Header.Get("Accept-Language"))
	})
	gw := frontFor(t, o, cache.New(cache.Config{}))
	for i, lang := range []string{"en", "fr", "en", "fr", "de"} {
		got := fetch(t, http.MethodGet, gw.URL+"/greeting", map[string]string{"Accept-Language": lang}, nil)
		if got.body != "lang="+lang {
			t.Fatalf("request %d (%s): body = %q", i, lang, got.body)
		}
	}
	if got := o.Calls.Load(); got != 3 {
		t.Errorf("upstream calls = %d, want 3 (one per language)", got)
	}
}

func TestCacheRevalidatesStaleEntriesWithConditionalRequests(t *testing.T) {
	t.Parallel()
	var conditional atomic.Int64
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			conditional.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "full body")
	})
	clock := newManualClock()
	gw := frontFor(t, o, cache.New(cache.Config{Now: clock.Now}))

	fetch(t, http.MethodGet, gw.URL+"/doc", nil, nil)
	clock.Advance(30 * time.Second)
	got := fetch(t, http.MethodGet, gw.URL+"/doc", nil, nil)
	if want := http.StatusOK; got.status != want {
		t.Fatalf("revalidated response: status = %d, want the stored %d", got.status, want)
	}
	if want := "full body"; got.body != want {
		t.Fatalf("revalidated response: body = %q, want the stored %q", got.body, want)
	}
	if got.header.Get("Content-Type") != "text/plain" {
		t.Errorf("Content-Type = %q, want the stored one", got.header.Get("Content-Type"))
	}
	if cs := got.header.Get("Cache-Status"); cs != "portico; fwd=stale; fwd-status=304; stored" {
		t.Errorf("Cache-Status = %q", cs)
	}
	if n := conditional.Load(); n != 1 {
		t.Errorf("conditional requests upstream = %d, want 1", n)
	}
	// The 304 refreshed the entry: the next request is a hit.
	hit := fetch(t, http.MethodGet, gw.URL+"/doc", nil, nil)
	if !strings.Contains(hit.header.Get("Cache-Status"), "hit") {
		t.Errorf("after revalidation Cache-Status = %q, want a hit", hit.header.Get("Cache-Status"))
	}
	if n := o.Calls.Load(); n != 2 {
		t.Errorf("upstream calls = %d, want 2", n)
	}
}

func TestCacheAnswersMatchingClientConditionalsWith304(t *testing.T) {
	t.Parallel()
	lastMod := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		for _, h := range []string{"If-None-Match", "If-Modified-Since"} {
			if got := r.Header.Get(h); got != "" {
				t.Errorf("the client's %s %q reached the upstream on a miss", h, got)
			}
		}
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `W/"abc"`)
		w.Header().Set("Last-Modified", lastMod)
		fmt.Fprint(w, "body")
	})
	gw := frontFor(t, o, cache.New(cache.Config{}))
	tests := []struct {
		name   string
		header map[string]string
		want   int
	}{
		{name: "a matching If-None-Match on a miss gets 304", header: map[string]string{"If-None-Match": `"abc"`}, want: 304},
		{name: "a matching If-None-Match on a hit gets 304", header: map[string]string{"If-None-Match": `"zzz", W/"abc"`}, want: 304},
		{name: "a star If-None-Match gets 304", header: map[string]string{"If-None-Match": `*`}, want: 304},
		{name: "a different entity tag gets the body", header: map[string]string{"If-None-Match": `"other"`}, want: 200},
		{name: "If-Modified-Since at the modification time gets 304", header: map[string]string{"If-Modified-Since": lastMod}, want: 304},
		{name: "If-Modified-Since before the modification time gets the body", header: map[string]string{"If-Modified-Since": time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)}, want: 200},
	}
	for _, tt := range tests { // sequential: the first case fills the cache
		got := fetch(t, http.MethodGet, gw.URL+"/r", tt.header, nil)
		if got.status != tt.want {
			t.Errorf("%s: status = %d, want %d", tt.name, got.status, tt.want)
		}
		if tt.want != http.StatusNotModified {
			continue
		}
		if got.body != "" {
			t.Errorf("%s: 304 body = %q, want none", tt.name, got.body)
		}
		if got, want := got.header.Get("ETag"), `W/"abc"`; got != want {
			t.Errorf("%s: 304 ETag = %q, want %q", tt.name, got, want)
		}
	}
	if n := o.Calls.Load(); n != 1 {
		t.Errorf("upstream calls = %d, want 1", n)
	}
}

func TestCacheCoalescesConcurrentMisses(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	o := newCountingOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
		<-release
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "popular")
	})
	var entered atomic.Int64
	counting := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			entered.Add(1)
			next.ServeHTTP(w, r)
		})
	}
	cacheMW := cache.New(cache.Config{})
	gw := frontFor(t, o, func(h http.Handler) http.Handler { return counting(cacheMW(h)) })

	const n = 100
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	bodies := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, gw.URL+"/hot", nil)
			res, err := client.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer res.Body.Close()
			var b strings.Builder
			_, errs[i] = bufio.NewReader(res.Body).WriteTo(&b)
			bodies[i] = b.String()
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	for entered.Load() < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if got, want := bodies[i], "popular"; got != want {
			t.Fatalf("request %d: body = %q, want %q", i, got, want)
		}
	}
	if got := o.Calls.Load(); got != 1 {
		t.Errorf("upstream calls = %d, want 1 for %d concurrent misses", got, n)
	}
}

func TestCacheEvictsLeastRecentlyUsedWithinTheByteBudget(t *testing.T) {
	t.Parallel()
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprint(w, strings.Repeat(r.URL.Path[1:], 1000))
	})
	store := cache.NewMemory(cache.MemoryConfig{MaxBytes: 3300})
	gw := frontFor(t, o, cache.New(cache.Config{Store: store}))
	steps := []struct {
		path string
		hit  bool
	}{
		{"/a", false}, {"/b", false}, {"/a", true}, // a is now the most recently used
		{"/c", false}, // evicts b
		{"/a", true}, {"/b", false},
	}
	for i, s := range steps {
		got := fetch(t, http.MethodGet, gw.URL+s.path, nil, nil)
		if hit := strings.Contains(got.header.Get("Cache-Status"), "hit"); hit != s.hit {
			t.Errorf("step %d %s: hit = %v, want %v (%s)", i, s.path, hit, s.hit, got.header.Get("Cache-Status"))
		}
		if store.Bytes() > 3300 {
			t.Fatalf("step %d: store holds %d bytes, over its 3300 budget", i, store.Bytes())
		}
	}
	if store.Len() != 2 {
		t.Errorf("entries = %d, want 2", store.Len())
	}
}

func TestCacheNeverLeaksAcrossConsumers(t *testing.T) {
	t.Parallel()
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "account of "+r.Header.Get("Authorization"))
	})
	scope := func(r *http.Request) string { return r.Header.Get("Authorization") }
	gw := frontFor(t, o, cache.New(cache.Config{Scope: scope, AllowAuthorization: true}))
	for range 2 {
		for _, who := range []string{"alice", "bob"} {
			got := fetch(t, http.MethodGet, gw.URL+"/me", map[string]string{"Authorization": who}, nil)
			if got.body != "account of "+who {
				t.Fatalf("%s got %q", who, got.body)
			}
		}
	}
	if n := o.Calls.Load(); n != 2 {
		t.Errorf("upstream calls = %d, want 2 (one per consumer, then hits)", n)
	}
}

func TestCacheStreamsServerSentEventsUnbuffered(t *testing.T) {
	t.Parallel()
	finish := make(chan struct{})
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "data: first\n\n")
		http.NewResponseController(w).Flush()
		select {
		case <-finish:
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "data: last\n\n")
	})
	gw := frontFor(t, o, cache.New(cache.Config{}))
	for i := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, gw.URL+"/events", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		line, err := bufio.NewReader(res.Body).ReadString('\n')
		if err != nil {
			t.Errorf("request %d: first line: %v: the event was not streamed before the handler finished", i, err)
		} else if want := "data: first\n"; line != want {
			t.Errorf("request %d: first line = %q, want %q", i, line, want)
		}
		if cs := res.Header.Get("Cache-Status"); !strings.Contains(cs, "detail=streaming") {
			t.Errorf("request %d: Cache-Status = %q", i, cs)
		}
		finish <- struct{}{}
		res.Body.Close()
		cancel()
	}
	if n := o.Calls.Load(); n != 2 {
		t.Errorf("upstream calls = %d, want 2: an event stream is never cached", n)
	}
}

func TestCachePassesOversizedBodiesThroughUnbuffered(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("0123456789", 300_000) // 3 MB, sent chunked
	o := newCountingOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		for i := 0; i < len(big); i += 64 << 10 {
			fmt.Fprint(w, big[i:min(i+64<<10, len(big))])
		}
	})
	gw := frontFor(t, o, cache.New(cache.Config{MaxBody: 1 << 20}))
	for range 2 {
		if got := fetch(t, http.MethodGet, gw.URL+"/big", nil, nil); got.body != big {
			t.Fatalf("body of %d bytes, want %d", len(got.body), len(big))
		}
	}
	if n := o.Calls.Load(); n != 2 {
		t.Errorf("upstream calls = %d, want 2: oversized bodies are not stored", n)
	}
}

func TestCacheInvalidatesAfterASuccessfulUnsafeRequest(t *testing.T) {
	t.Parallel()
	var version atomic.Int64
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			version.Add(1)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprintf(w, "v%d", version.Load())
	})
	gw := frontFor(t, o, cache.New(cache.Config{}))
	if got := fetch(t, http.MethodGet, gw.URL+"/thing", nil, nil); got.body != "v0" {
		t.Fatalf("body = %q", got.body)
	}
	fetch(t, http.MethodPut, gw.URL+"/thing", nil, strings.NewReader("x"))
	if got := fetch(t, http.MethodGet, gw.URL+"/thing", nil, nil); got.body != "v1" {
		t.Errorf("after PUT body = %q, want the new version", got.body)
	}
}

func TestCacheRequestDirectives(t *testing.T) {
	t.Parallel()
	o := newCountingOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprint(w, "x")
	})
	clock := newManualClock()
	gw := frontFor(t, o, cache.New(cache.Config{Now: clock.Now}))

	miss := fetch(t, http.MethodGet, gw.URL+"/only", map[string]string{"Cache-Control": "only-if-cached"}, nil)
	if want := http.StatusGatewayTimeout; miss.status != want {
		t.Errorf("only-if-cached on a miss: status = %d, want %d", miss.status, want)
	}
	if got, want := miss.header.Get("Content-Type"), "application/problem+json"; got != want {
		t.Errorf("only-if-cached on a miss: Content-Type = %q, want %q", got, want)
	}
	fetch(t, http.MethodGet, gw.URL+"/only", nil, nil)
	if got := fetch(t, http.MethodGet, gw.URL+"/only", map[string]string{"Cache-Control": "only-if-cached"}, nil); got.status != 200 {
		t.Errorf("only-if-cached on a hit = %d", got.status)
	}
	head := fetch(t, http.MethodHead, gw.URL+"/only", nil, nil)
	if cs := head.header.Get("Cache-Status"); !strings.Contains(cs, "hit") {
		t.Errorf("HEAD was not answered from the stored GET: Cache-Status %q", cs)
	}
	if head.body != "" {
		t.Errorf("HEAD body = %q, want none", head.body)
	}
	clock.Advance(10 * time.Second)
	if got := fetch(t, http.MethodGet, gw.URL+"/only", map[string]string{"Cache-Control": "max-age=5"}, nil); !strings.Contains(got.header.Get("Cache-Status"), "fwd=") {
		t.Errorf("a request max-age below the age was answered from the cache: %q", got.header.Get("Cache-Status"))
	}
	if got := fetch(t, http.MethodGet, gw.URL+"/only", map[string]string{"Cache-Control": "no-cache"}, nil); !strings.Contains(got.header.Get("Cache-Status"), "fwd=request") {
		t.Errorf("no-cache was answered from the cache: %q", got.header.Get("Cache-Status"))
	}
	if n := o.Calls.Load(); n != 3 {
		t.Errorf("upstream calls = %d, want 3", n)
	}
}

func TestCacheStoreIsSharedBetweenHandlers(t *testing.T) {
	t.Parallel()
	o := newCountingOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "shared")
	})
	store := cache.NewMemory(cache.MemoryConfig{})
	a := frontFor(t, o, cache.New(cache.Config{Store: store}))
	b := frontFor(t, o, cache.New(cache.Config{Store: store}))
	fetch(t, http.MethodGet, a.URL+"/s", nil, nil)
	// Both front servers listen on 127.0.0.1 but on different ports, so
	// the Host differs: send the first server's Host to the second.
	req, _ := http.NewRequest(http.MethodGet, b.URL+"/s", nil)
	req.Host = strings.TrimPrefix(a.URL, "http://")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if !strings.Contains(res.Header.Get("Cache-Status"), "hit") {
		t.Errorf("second handler Cache-Status = %q, want a hit from the shared store", res.Header.Get("Cache-Status"))
	}
}

func TestCacheServesStaleResponsesWhenTheUpstreamFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		cacheControl string
		staleIfError time.Duration
		age          time.Duration
		wantStale    bool
	}{
		{
			name:         "the route's stale-if-error window covers an upstream 5xx",
			cacheControl: "max-age=10",
			staleIfError: time.Minute,
			age:          30 * time.Second,
			wantStale:    true,
		},
		{
			name:         "the response's stale-if-error directive covers an upstream 5xx",
			cacheControl: "max-age=10, stale-if-error=60",
			age:          30 * time.Second,
			wantStale:    true,
		},
		{
			name:         "past the window the error goes to the client",
			cacheControl: "max-age=10",
			staleIfError: time.Minute,
			age:          2 * time.Minute,
			wantStale:    false,
		},
		{
			name:         "must-revalidate forbids serving stale",
			cacheControl: "max-age=10, must-revalidate",
			staleIfError: time.Minute,
			age:          30 * time.Second,
			wantStale:    false,
		},
		{
			name:         "without a window the error goes to the client",
			cacheControl: "max-age=10",
			age:          30 * time.Second,
			wantStale:    false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var down atomic.Bool
			o := newCountingOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
				if down.Load() {
					w.WriteHeader(http.StatusServiceUnavailable)
					fmt.Fprint(w, "down")
					return
				}
				w.Header().Set("Cache-Control", tt.cacheControl)
				fmt.Fprint(w, "good")
			})
			clock := newManualClock()
			gw := frontFor(t, o, cache.New(cache.Config{StaleIfError: tt.staleIfError, Now: clock.Now}))
			fetch(t, http.MethodGet, gw.URL+"/s", nil, nil)
			down.Store(true)
			clock.Advance(tt.age)
			got := fetch(t, http.MethodGet, gw.URL+"/s", nil, nil)
			if stale := got.status == 200 && got.body == "good"; stale != tt.wantStale {
				t.Errorf("got %d %q (Cache-Status %q), want stale=%v", got.status, got.body, got.header.Get("Cache-Status"), tt.wantStale)
			}
			if tt.wantStale && !strings.Contains(got.header.Get("Cache-Status"), "fwd-status=503; detail=stale-if-error") {
				t.Errorf("Cache-Status = %q", got.header.Get("Cache-Status"))
			}
		})
	}
}

func TestCacheNeverMakesConcurrentStreamsWaitForEachOther(t *testing.T) {
	t.Parallel()
	finish := make(chan struct{})
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: hello\n\n")
		http.NewResponseController(w).Flush()
		select {
		case <-finish:
		case <-r.Context().Done():
		}
	})
	defer close(finish)
	gw := frontFor(t, o, cache.New(cache.Config{}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Three subscribers to one URL: each must get its first event while
	// the others' streams are still open.
	for i := range 3 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, gw.URL+"/live", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("subscriber %d: %v (it waited for another stream to end)", i, err)
		}
		defer res.Body.Close()
		line, err := bufio.NewReader(res.Body).ReadString('\n')
		if err != nil {
			t.Fatalf("subscriber %d: %v", i, err)
		}
		if want := "data: hello\n"; line != want {
			t.Fatalf("subscriber %d: first line = %q, want %q", i, line, want)
		}
	}
	if n := o.Calls.Load(); n != 3 {
		t.Errorf("upstream calls = %d, want 3", n)
	}
}
