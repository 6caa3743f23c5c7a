package cache_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/cache"
)

// orderOrigin creates an order per call and answers 201 with its number.
func orderOrigin(t *testing.T) *countingOrigin {
	var seq atomic.Int64
	return newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := seq.Add(1)
		w.Header().Set("Location", fmt.Sprintf("/orders/%d", n))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("X-Trace", "a")
		w.Header().Add("X-Trace", "b")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":%d,"echo":%q}`, n, body)
	})
}

func TestIdempotencyReplaysTheStoredResponse(t *testing.T) {
	t.Parallel()
	o := orderOrigin(t)
	gw := frontFor(t, o, cache.Idempotency(cache.IdempotencyConfig{}))
	key := map[string]string{"Idempotency-Key": `"8e03978e-40d5-43e8-bc93-6894a57f9324"`}
	first := fetch(t, http.MethodPost, gw.URL+"/orders", key, strings.NewReader(`{"sku":"A"}`))
	second := fetch(t, http.MethodPost, gw.URL+"/orders", key, strings.NewReader(`{"sku":"A"}`))
	if want := http.StatusCreated; first.status != want {
		t.Fatalf("first status = %d, want %d", first.status, want)
	}
	if want := http.StatusCreated; second.status != want {
		t.Fatalf("second status = %d, want %d", second.status, want)
	}
	if second.body != first.body {
		t.Errorf("replayed body %q, want %q", second.body, first.body)
	}
	for _, h := range []string{"Location", "Content-Type", "Content-Length"} {
		if second.header.Get(h) != first.header.Get(h) {
			t.Errorf("replayed %s = %q, want %q", h, second.header.Get(h), first.header.Get(h))
		}
	}
	if got := second.header.Values("X-Trace"); len(got) != 2 {
		t.Errorf("replayed X-Trace = %q, want both values", got)
	}
	if got := first.header.Get("Idempotent-Replayed"); got != "" {
		t.Errorf("first response: Idempotent-Replayed = %q, want none", got)
	}
	if got, want := second.header.Get("Idempotent-Replayed"), "true"; got != want {
		t.Errorf("second response: Idempotent-Replayed = %q, want %q", got, want)
	}
	if n := o.Calls.Load(); n != 1 {
		t.Errorf("upstream calls = %d, want 1", n)
	}
}

func TestIdempotencyRejectsMisuse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		required bool
		method   string
		key      string // "-" means no header
		body     string
		want     int
	}{
		{
			name: "a different body with a used key gets 422",
			key:  "k1",
			body: `{"sku":"B"}`,
			want: http.StatusUnprocessableEntity,
		},
		{
			name:   "the same key with another method gets 422",
			key:    "k1",
			body:   `{"sku":"A"}`,
			method: "PATCH",
			want:   http.StatusUnprocessableEntity,
		},
		{
			name:     "a missing key when required gets 400",
			required: true,
			key:      "-",
			body:     `{}`,
			want:     http.StatusBadRequest,
		},
		{
			name: "a key over 255 characters gets 400",
			key:  strings.Repeat("k", 256),
			body: `{}`,
			want: http.StatusBadRequest,
		},
		{
			name: "an unterminated quoted key gets 400",
			key:  `"abc`,
			body: `{}`,
			want: http.StatusBadRequest,
		},
		{
			name: "an empty quoted key gets 400",
			key:  `""`,
			body: `{}`,
			want: http.StatusBadRequest,
		},
		{
			name: "a body over the limit gets 413",
			key:  "big",
			body: strings.Repeat("x", 2048),
			want: http.StatusRequestEntityTooLarge,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := orderOrigin(t)
			gw := frontFor(t, o, cache.Idempotency(cache.IdempotencyConfig{Required: tt.required, MaxBody: 1024}))
			fetch(t, http.MethodPost, gw.URL+"/orders", map[string]string{"Idempotency-Key": "k1"}, strings.NewReader(`{"sku":"A"}`))
			before := o.Calls.Load()
			h := map[string]string{}
			if tt.key != "-" {
				h["Idempotency-Key"] = tt.key
			}
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			got := fetch(t, method, gw.URL+"/orders", h, strings.NewReader(tt.body))
			if got.status != tt.want {
				t.Fatalf("status = %d, want %d (%s)", got.status, tt.want, got.body)
			}
			if got.header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("Content-Type = %q, want a problem document", got.header.Get("Content-Type"))
			}
			if o.Calls.Load() != before {
				t.Errorf("the upstream was called for a rejected request")
			}
		})
	}
}

func TestIdempotencyAnswers409WhileTheFirstRequestRuns(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	release := make(chan struct{})
	o := newCountingOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
		entered <- struct{}{}
		<-release
		w.WriteHeader(http.StatusAccepted)
	})
	gw := frontFor(t, o, cache.Idempotency(cache.IdempotencyConfig{}))
	key := map[string]string{"Idempotency-Key": "slow"}
	done := make(chan exchange)
	go func() { done <- fetch(t, http.MethodPost, gw.URL+"/jobs", key, strings.NewReader("x")) }()
	<-entered
	dup := fetch(t, http.MethodPost, gw.URL+"/jobs", key, strings.NewReader("x"))
	if want := http.StatusConflict; dup.status != want {
		t.Errorf("duplicate in flight: status = %d, want %d", dup.status, want)
	}
	if dup.header.Get("Retry-After") == "" {
		t.Error("duplicate in flight: no Retry-After")
	}
	close(release)
	if first := <-done; first.status != http.StatusAccepted {
		t.Errorf("first request = %d", first.status)
	}
	again := fetch(t, http.MethodPost, gw.URL+"/jobs", key, strings.NewReader("x"))
	if want := http.StatusAccepted; again.status != want {
		t.Errorf("after completion: status = %d, want the stored %d", again.status, want)
	}
	if got, want := again.header.Get("Idempotent-Replayed"), "true"; got != want {
		t.Errorf("after completion: Idempotent-Replayed = %q, want %q", got, want)
	}
}

func TestIdempotencyServerErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		store5xx   bool
		wantSecond int
		wantCalls  int64
	}{
		{name: "a 5xx is not the final answer by default", wantSecond: http.StatusCreated, wantCalls: 2},
		{
			name:       "a 5xx is replayed when configured",
			store5xx:   true,
			wantSecond: http.StatusServiceUnavailable,
			wantCalls:  1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var failed atomic.Bool
			o := newCountingOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
				if failed.CompareAndSwap(false, true) {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				w.WriteHeader(http.StatusCreated)
			})
			gw := frontFor(t, o, cache.Idempotency(cache.IdempotencyConfig{StoreServerErrors: tt.store5xx}))
			key := map[string]string{"Idempotency-Key": "retry-me"}
			if got := fetch(t, http.MethodPost, gw.URL+"/p", key, strings.NewReader("x")); got.status != http.StatusServiceUnavailable {
				t.Fatalf("first = %d", got.status)
			}
			if got := fetch(t, http.MethodPost, gw.URL+"/p", key, strings.NewReader("x")); got.status != tt.wantSecond {
				t.Errorf("second = %d, want %d", got.status, tt.wantSecond)
			}
			if n := o.Calls.Load(); n != tt.wantCalls {
				t.Errorf("upstream calls = %d, want %d", n, tt.wantCalls)
			}
		})
	}
}

func TestIdempotencyKeysExpireAfterTheTTL(t *testing.T) {
	t.Parallel()
	clock := newManualClock()
	store := cache.NewMemoryIdempotency(cache.MemoryIdempotencyConfig{Now: clock.Now})
	o := orderOrigin(t)
	gw := frontFor(t, o, cache.Idempotency(cache.IdempotencyConfig{Store: store, TTL: time.Hour}))
	key := map[string]string{"Idempotency-Key": "k"}
	fetch(t, http.MethodPost, gw.URL+"/orders", key, strings.NewReader("x"))
	clock.Advance(59 * time.Minute)
	fetch(t, http.MethodPost, gw.URL+"/orders", key, strings.NewReader("x"))
	if n := o.Calls.Load(); n != 1 {
		t.Fatalf("upstream calls before expiry = %d, want 1", n)
	}
	clock.Advance(2 * time.Minute)
	got := fetch(t, http.MethodPost, gw.URL+"/orders", key, strings.NewReader("x"))
	if n := o.Calls.Load(); n != 2 {
		t.Errorf("after the TTL: upstream calls = %d, want a fresh run (2)", n)
	}
	if got := got.header.Get("Idempotent-Replayed"); got != "" {
		t.Errorf("after the TTL: Idempotent-Replayed = %q, want none", got)
	}
}

func TestIdempotencyKeysAreScopedToTheConsumer(t *testing.T) {
	t.Parallel()
	o := orderOrigin(t)
	scope := func(r *http.Request) string { return r.Header.Get("X-Test-Consumer") }
	gw := frontFor(t, o, cache.Idempotency(cache.IdempotencyConfig{Scope: scope}))
	a := fetch(t, http.MethodPost, gw.URL+"/orders", map[string]string{"Idempotency-Key": "same", "X-Test-Consumer": "alice"}, strings.NewReader("x"))
	b := fetch(t, http.MethodPost, gw.URL+"/orders", map[string]string{"Idempotency-Key": "same", "X-Test-Consumer": "bob"}, strings.NewReader("x"))
	if a.body == b.body {
		t.Errorf("bob received alice's response %q", b.body)
	}
	if got := b.header.Get("Idempotent-Replayed"); got != "" {
		t.Errorf("bob's response: Idempotent-Replayed = %q, want none", got)
	}
	if n := o.Calls.Load(); n != 2 {
		t.Errorf("upstream calls = %d, want 2", n)
	}
}

func TestIdempotencyLeavesOtherRequestsAlone(t *testing.T) {
	t.Parallel()
	o := orderOrigin(t)
	gw := frontFor(t, o, cache.Idempotency(cache.IdempotencyConfig{}))
	fetch(t, http.MethodGet, gw.URL+"/orders", map[string]string{"Idempotency-Key": "g"}, nil)
	fetch(t, http.MethodGet, gw.URL+"/orders", map[string]string{"Idempotency-Key": "g"}, nil)
	fetch(t, http.MethodPost, gw.URL+"/orders", nil, strings.NewReader("x"))
	fetch(t, http.MethodPost, gw.URL+"/orders", nil, strings.NewReader("x"))
	if n := o.Calls.Load(); n != 4 {
		t.Errorf("upstream calls = %d, want 4: GETs and keyless POSTs are not deduplicated", n)
	}
}

func TestIdempotencyReleasesTheKeyWhenTheHandlerPanics(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			panic("boom")
		}
		w.WriteHeader(http.StatusCreated)
	})
	srv := httptest.NewServer(middleware.Recover(middleware.RecoverConfig{})(cache.Idempotency(cache.IdempotencyConfig{})(h)))
	defer srv.Close()
	key := map[string]string{"Idempotency-Key": "p"}
	if got := fetch(t, http.MethodPost, srv.URL, key, strings.NewReader("x")); got.status != http.StatusInternalServerError {
		t.Fatalf("first = %d, want 500 from Recover", got.status)
	}
	if got := fetch(t, http.MethodPost, srv.URL, key, strings.NewReader("x")); got.status != http.StatusCreated {
		t.Errorf("second = %d, want the retry to run", got.status)
	}
}

func TestIdempotencyRunsDuplicatesAcrossReplicasOnce(t *testing.T) {
	t.Parallel()
	o := orderOrigin(t)
	store := cache.NewMemoryIdempotency(cache.MemoryIdempotencyConfig{})
	replicas := []string{
		frontFor(t, o, cache.Idempotency(cache.IdempotencyConfig{Store: store})).URL,
		frontFor(t, o, cache.Idempotency(cache.IdempotencyConfig{Store: store})).URL,
	}
	const n = 40
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, replicas[i%2]+"/orders", strings.NewReader(`{"sku":"A"}`))
			req.Header.Set("Idempotency-Key", "dup")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			statuses[i] = res.StatusCode
		})
	}
	wg.Wait()
	if c := o.Calls.Load(); c != 1 {
		t.Errorf("upstream calls = %d, want exactly 1", c)
	}
	for i, s := range statuses {
		if s != http.StatusCreated && s != http.StatusConflict {
			t.Errorf("request %d: status %d, want 201 (run or replayed) or 409 (in flight)", i, s)
		}
	}
}

func TestMemoryIdempotencyBoundsItsKeys(t *testing.T) {
	t.Parallel()
	clock := newManualClock()
	store := cache.NewMemoryIdempotency(cache.MemoryIdempotencyConfig{MaxKeys: 3, Now: clock.Now})
	ctx := t.Context()
	for i := range 3 {
		ex, err := store.Claim(ctx, fmt.Sprint(i), &cache.IdempotencyRecord{Token: "t"}, time.Minute)
		if err != nil {
			t.Fatalf("claim %d: %v", i, err)
		}
		if ex != nil {
			t.Fatalf("claim %d found %+v, want the claim", i, ex)
		}
	}
	if _, err := store.Claim(ctx, "overflow", &cache.IdempotencyRecord{Token: "t"}, time.Minute); err == nil {
		t.Fatal("a fourth key was accepted past MaxKeys")
	}
	clock.Advance(2 * time.Minute)
	if _, err := store.Claim(ctx, "after-expiry", &cache.IdempotencyRecord{Token: "t"}, time.Minute); err != nil {
		t.Errorf("expired keys were not swept: %v", err)
	}
	if err := store.Release(ctx, "after-expiry", "wrong-token"); err == nil {
		t.Error("a release with the wrong token succeeded")
	}
}

func FuzzIdempotencyKey(f *testing.F) {
	for _, s := range []string{`"abc"`, `abc`, `"a\"b"`, `"a\\b"`, `"`, `""`, `"x" y`, "\x7f", `"\x"`} {
		f.Add(s)
	}
	h := cache.Idempotency(cache.IdempotencyConfig{})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
	}))
	f.Fuzz(func(t *testing.T, key string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
		req.Header["Idempotency-Key"] = []string{key}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusCreated, http.StatusBadRequest:
		default:
			t.Fatalf("key %q: status %d", key, w.Code)
		}
		if w.Code == http.StatusBadRequest {
			var doc map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
				t.Fatalf("key %q: 400 body is not a problem document: %v", key, err)
			}
		}
	})
}

func TestTheZeroConfigProtectsTheDefaultMethodsUnderTheDefaultHeader(t *testing.T) {
	t.Parallel()
	for _, method := range append(cache.DefaultIdempotencyMethods(), http.MethodPut, http.MethodDelete) {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			o := orderOrigin(t)
			gw := frontFor(t, o, cache.Idempotency(cache.IdempotencyConfig{}))
			key := map[string]string{cache.DefaultIdempotencyHeader: "k-" + method}
			fetch(t, method, gw.URL+"/orders", key, strings.NewReader("x"))
			fetch(t, method, gw.URL+"/orders", key, strings.NewReader("x"))
			want := int64(2)
			if slices.Contains(cache.DefaultIdempotencyMethods(), method) {
				want = 1
			}
			if got := o.Calls.Load(); got != want {
				t.Errorf("two %s requests with one key reached the origin %d times, want %d", method, got, want)
			}
		})
	}
}
