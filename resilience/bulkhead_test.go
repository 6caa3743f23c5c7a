package resilience_test

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/resilience"
)

func TestBulkheadCapsConcurrencyUnder200Callers(t *testing.T) {
	t.Parallel()
	const limit = 5
	var inflight, peak atomic.Int64
	u := newUpstream(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
		n := inflight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(time.Millisecond) // give others a chance to pile up
		inflight.Add(-1)
		io.WriteString(w, "ok")
	})
	base := newBase(t)
	base.MaxIdleConnsPerHost = 200
	tr := resilience.NewTransport(base, resilience.Bulkhead(resilience.BulkheadConfig{MaxConcurrent: limit, MaxWait: time.Minute}))
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 200 {
		wg.Go(func() {
			resp, err := do(t, tr, http.MethodGet, u.URL, nil)
			if err != nil {
				failed.Add(1)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
	}
	wg.Wait()
	if got := failed.Load(); got != 0 {
		t.Errorf("%d calls failed, want none", got)
	}
	if got, want := u.hits.Load(), int64(200); got != want {
		t.Errorf("%d served, want %d", got, want)
	}
	inRange(t, "peak in flight", peak.Load(), 1, limit)
}

func TestBulkheadRejections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     resilience.BulkheadConfig
		second  string // path of the second request
		wantErr bool
	}{
		{
			name:    "a full bulkhead rejects at once without MaxWait",
			cfg:     resilience.BulkheadConfig{MaxConcurrent: 1},
			second:  "/a",
			wantErr: true,
		},
		{
			name:    "a full bulkhead rejects after MaxWait",
			cfg:     resilience.BulkheadConfig{MaxConcurrent: 1, MaxWait: 20 * time.Millisecond},
			second:  "/a",
			wantErr: true,
		},
		{
			name:    "a keyed bulkhead gives each key its own slots",
			cfg:     resilience.BulkheadConfig{MaxConcurrent: 1, Key: func(r *http.Request) string { return r.URL.Path }},
			second:  "/b",
			wantErr: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			release := newGate()
			u := newUpstream(t, func(n int64, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					release.wait(r)
				}
			})
			t.Cleanup(release.open)
			var rejectedKey atomic.Value
			tt.cfg.OnReject = func(key string) { rejectedKey.Store(key) }
			tr := resilience.NewTransport(newBase(t), resilience.Bulkhead(tt.cfg))
			done := make(chan error, 1)
			go func() {
				resp, err := do(t, tr, http.MethodGet, u.URL+"/a", nil)
				if err == nil {
					resp.Body.Close()
				}
				done <- err
			}()
			eventually(t, "the first request to hold the slot", func() bool { return u.hits.Load() == 1 })
			resp, err := do(t, tr, http.MethodGet, u.URL+tt.second, nil)
			if tt.wantErr {
				if !errors.Is(err, resilience.ErrBulkheadFull) {
					t.Fatalf("err = %v, want ErrBulkheadFull", err)
				}
				if got, want := resilience.HTTPStatus(err), http.StatusServiceUnavailable; got != want {
					t.Errorf("HTTPStatus = %d, want %d", got, want)
				}
				wantRetryAfter(t, err, time.Second) // the default
				if rejectedKey.Load() == nil {
					t.Fatal("OnReject was not called")
				}
			} else {
				if err != nil {
					t.Fatalf("other key rejected: %v", err)
				}
				resp.Body.Close()
			}
			release.open()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestBulkheadSlotIsHeldUntilTheBodyIsClosed(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, func(_ int64, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "streamed body") })
	tr := resilience.NewTransport(newBase(t), resilience.Bulkhead(resilience.BulkheadConfig{MaxConcurrent: 1}))
	first, err := do(t, tr, http.MethodGet, u.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := do(t, tr, http.MethodGet, u.URL, nil); !errors.Is(err, resilience.ErrBulkheadFull) {
		t.Fatalf("err = %v, want ErrBulkheadFull while the first body is open", err)
	}
	if got := readAll(t, first); got != "streamed body" {
		t.Fatalf("body = %q", got)
	}
	second, err := do(t, tr, http.MethodGet, u.URL, nil)
	if err != nil {
		t.Fatalf("after closing the first body: %v", err)
	}
	readAll(t, second)
}

func TestEveryPolicyTogetherUnder200ConcurrentCallers(t *testing.T) {
	t.Parallel()
	const limit = 8
	var inflight, peak atomic.Int64
	u := newUpstream(t, func(n int64, w http.ResponseWriter, _ *http.Request) {
		c := inflight.Add(1)
		defer inflight.Add(-1)
		for p := peak.Load(); c > p && !peak.CompareAndSwap(p, c); p = peak.Load() {
		}
		if n%3 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	})
	base := newBase(t)
	base.MaxIdleConnsPerHost = limit
	tr := resilience.NewTransport(base,
		resilience.OverallTimeout(time.Minute),
		resilience.Fallback(resilience.FallbackConfig{Status: http.StatusTeapot}),
		fastRetry(resilience.RetryConfig{MaxAttempts: 10}),
		resilience.CircuitBreaker(resilience.BreakerConfig{ConsecutiveFailures: 1000}),
		resilience.Bulkhead(resilience.BulkheadConfig{MaxConcurrent: limit, MaxWait: time.Minute}),
		resilience.Timeout(30*time.Second),
	)
	var wg sync.WaitGroup
	var bad atomic.Int64
	for range 200 {
		wg.Go(func() {
			resp, err := do(t, tr, http.MethodGet, u.URL, nil)
			if err != nil {
				bad.Add(1)
				return
			}
			if b, _ := io.ReadAll(resp.Body); string(b) != "ok" {
				bad.Add(1)
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d of 200 calls did not end in ok", bad.Load())
	}
	if p := peak.Load(); p > limit {
		t.Fatalf("peak in flight = %d, over the bulkhead's %d", p, limit)
	}
	st := tr.Breakers()
	if len(st) != 1 {
		t.Fatalf("%d breakers (%+v), want one", len(st), st)
	}
	if got, want := st[0].State, resilience.StateClosed; got != want {
		t.Errorf("state = %v, want %v", got, want)
	}
}

func TestTransportsGivenOneBulkheadPolicyShareItsSlots(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, func(_ int64, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "body") })
	bh := resilience.Bulkhead(resilience.BulkheadConfig{MaxConcurrent: 1})
	first, second := resilience.NewTransport(newBase(t), bh), resilience.NewTransport(newBase(t), bh)
	resp, err := do(t, first, http.MethodGet, u.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := do(t, second, http.MethodGet, u.URL, nil); !errors.Is(err, resilience.ErrBulkheadFull) {
		t.Errorf("the second transport while the first holds the slot: err = %v, want ErrBulkheadFull", err)
	}
	readAll(t, resp)
}
