package resilience_test

import (
	"bytes"
	"cmp"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/resilience"
)

func fastRetry(cfg resilience.RetryConfig) resilience.Policy {
	if cfg.BaseDelay == 0 {
		cfg.BaseDelay = time.Millisecond
	}
	if cfg.Budget == nil {
		cfg.Budget = resilience.NewBudget(resilience.BudgetConfig{Min: 1000})
	}
	return resilience.Retry(cfg)
}

func TestRetryRespectsIdempotency(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("payload-", 512)
	tests := []struct {
		name      string
		handler   func(int64, http.ResponseWriter, *http.Request)
		method    string
		headers   []string
		policies  []resilience.Option
		retry     resilience.Policy
		wantHits  int64
		wantErr   error
		wantState int
	}{
		{
			name:      "a POST without Idempotency-Key answered 503 is sent exactly once",
			handler:   status(503),
			method:    http.MethodPost,
			wantHits:  1,
			wantState: 503,
		},
		{
			name:     "a POST without Idempotency-Key whose connection is reset is sent exactly once",
			handler:  reset,
			method:   http.MethodPost,
			wantHits: 1,
			wantErr:  errAny,
		},
		{
			name:     "a POST without Idempotency-Key that times out is sent exactly once",
			handler:  hang,
			method:   http.MethodPost,
			wantHits: 1,
			wantErr:  resilience.ErrTimeout,
			policies: []resilience.Option{resilience.Timeout(time.Second)},
		},
		{
			name:      "a PATCH without Idempotency-Key answered 502 is sent exactly once",
			handler:   status(502),
			method:    http.MethodPatch,
			wantHits:  1,
			wantState: 502,
		},
		{
			name:      "a GET answered 503 twice is retried until it succeeds",
			handler:   failFirst(2, 503),
			method:    http.MethodGet,
			wantHits:  3,
			wantState: 200,
		},
		{
			name:     "a GET whose connection is reset is retried until attempts run out",
			handler:  reset,
			method:   http.MethodGet,
			wantHits: 3,
			wantErr:  resilience.ErrRetriesExceeded,
		},
		{
			name: "a GET that times out is retried",
			handler: func(n int64, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					hang(n, w, r)
				}
			},
			method:    http.MethodGet,
			wantHits:  2,
			wantState: 200,
			policies:  []resilience.Option{resilience.Timeout(time.Second)},
		},
		{
			name:      "a POST with Idempotency-Key answered 503 is retried",
			handler:   failFirst(2, 503),
			method:    http.MethodPost,
			headers:   []string{"Idempotency-Key", "k-1"},
			wantHits:  3,
			wantState: 200,
		},
		{
			name:      "a POST is retried when the user opts in",
			handler:   failFirst(1, 503),
			method:    http.MethodPost,
			wantHits:  2,
			wantState: 200,
			retry:     fastRetry(resilience.RetryConfig{RetryNonIdempotent: true}),
		},
		{
			name:      "a PUT is idempotent and retried",
			handler:   failFirst(1, 504),
			method:    http.MethodPut,
			wantHits:  2,
			wantState: 200,
		},
		{
			name:      "a 500 is not retried by default",
			handler:   status(500),
			method:    http.MethodGet,
			wantHits:  1,
			wantState: 500,
		},
		{
			name:      "a 429 without Retry-After is not retried",
			handler:   status(429),
			method:    http.MethodGet,
			wantHits:  1,
			wantState: 429,
		},
		{
			name: "a 429 with retry-after-ms is retried",
			handler: func(n int64, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					w.Header().Set("Retry-After-Ms", "5")
					w.WriteHeader(http.StatusTooManyRequests)
				}
			},
			method:    http.MethodGet,
			wantHits:  2,
			wantState: 200,
		},
		{
			name:      "a configured status list replaces the default",
			handler:   failFirst(1, 500),
			method:    http.MethodGet,
			wantHits:  2,
			wantState: 200,
			retry:     fastRetry(resilience.RetryConfig{Statuses: []int{500}}),
		},
		{
			name: "a 503 whose Retry-After exceeds MaxDelay is returned without waiting",
			handler: func(_ int64, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "3600")
				w.WriteHeader(http.StatusServiceUnavailable)
			},
			method:    http.MethodGet,
			wantHits:  1,
			wantState: 503,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := newUpstream(t, tt.handler)
			retry := tt.retry
			if retry == nil {
				retry = fastRetry(resilience.RetryConfig{})
			}
			tr := resilience.NewTransport(newBase(t), append(tt.policies, retry)...)
			var rd io.Reader
			if tt.method != http.MethodGet {
				rd = strings.NewReader(body)
			}
			resp, err := do(t, tr, tt.method, u.URL, rd, tt.headers...)
			if resp != nil {
				readAll(t, resp)
			}
			switch {
			case errors.Is(tt.wantErr, errAny) && err == nil, !errors.Is(tt.wantErr, errAny) && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			case tt.wantErr == nil && resp.StatusCode != tt.wantState:
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantState)
			}
			if got := u.hits.Load(); got != tt.wantHits {
				t.Fatalf("upstream saw %d requests, want %d", got, tt.wantHits)
			}
			if rd != nil {
				for i, b := range u.received() {
					if string(b) != body {
						t.Fatalf("attempt %d body differs: %d bytes, want %d", i+1, len(b), len(body))
					}
				}
			}
		})
	}
}

var errAny = errors.New("any error")

func TestRetryReplaysBodies(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte{0, 1, 2, 3, 255, '\r', '\n'}, 3000)
	tests := []struct {
		name     string
		body     func() io.Reader
		limit    int64
		wantHits int64
	}{
		{name: "a body without GetBody is buffered and replayed byte for byte",
			body: func() io.Reader { return io.MultiReader(bytes.NewReader(big)) }, wantHits: 3},
		{name: "a body with GetBody is replayed through it",
			body: func() io.Reader { return bytes.NewReader(big) }, wantHits: 3},
		{
			name:     "a body over the buffer limit is sent once",
			body:     func() io.Reader { return io.MultiReader(bytes.NewReader(big)) },
			limit:    1024,
			wantHits: 1,
		},
		{
			name:     "a body over the limit with a known length is sent once",
			body:     func() io.Reader { return io.LimitReader(bytes.NewReader(big), int64(len(big))) },
			limit:    1024,
			wantHits: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := newUpstream(t, failFirst(2, 503))
			tr := resilience.NewTransport(newBase(t), fastRetry(resilience.RetryConfig{MaxBodyBuffer: tt.limit}))
			resp, err := do(t, tr, http.MethodPost, u.URL, tt.body(), "Idempotency-Key", "abc")
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, resp)
			if got := u.hits.Load(); got != tt.wantHits {
				t.Fatalf("upstream saw %d requests, want %d", got, tt.wantHits)
			}
			for i, b := range u.received() {
				if !bytes.Equal(b, big) {
					t.Fatalf("attempt %d: upstream got %d bytes, not the %d sent", i+1, len(b), len(big))
				}
			}
		})
	}
}

// pool is a RoundTripper that sends each call to the next address in
// turn, like a gateway's upstream pool.
type pool struct {
	addrs []string
	calls atomic.Int64
	base  http.RoundTripper
}

func (p *pool) RoundTrip(req *http.Request) (*http.Response, error) {
	n := p.calls.Add(1) - 1
	r := req.Clone(req.Context())
	r.URL.Host = p.addrs[int(n)%len(p.addrs)]
	return p.base.RoundTrip(r)
}

func TestRetryRefusedConnection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		method   string
		wantHits int64
	}{
		{name: "a POST whose connection was refused is retried on the next instance", method: http.MethodPost, wantHits: 1},
		{name: "a GET whose connection was refused is retried on the next instance", method: http.MethodGet, wantHits: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := newUpstream(t, status(201))
			p := &pool{addrs: []string{closedAddr(t), u.Listener.Addr().String()}, base: newBase(t)}
			tr := resilience.NewTransport(p, fastRetry(resilience.RetryConfig{}))
			resp, err := do(t, tr, tt.method, "http://upstream.invalid/x", strings.NewReader("order=1"))
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, resp)
			if got, want := resp.StatusCode, http.StatusCreated; got != want {
				t.Errorf("status = %d, want %d", got, want)
			}
			if got, want := p.calls.Load(), int64(2); got != want {
				t.Errorf("pool calls = %d, want %d", got, want)
			}
			if got, want := u.hits.Load(), tt.wantHits; got != want {
				t.Fatalf("upstream hits = %d, want %d", got, want)
			}
			if got := string(u.received()[0]); got != "order=1" {
				t.Fatalf("upstream body = %q", got)
			}
		})
	}
}

func TestRetryRefusedEverywhereReportsExhaustion(t *testing.T) {
	t.Parallel()
	var retries atomic.Int64
	tr := resilience.NewTransport(newBase(t), fastRetry(resilience.RetryConfig{MaxAttempts: 4,
		OnRetry: func(resilience.RetryEvent) { retries.Add(1) }}))
	_, err := do(t, tr, http.MethodPost, "http://"+closedAddr(t)+"/", strings.NewReader("x"))
	var re *resilience.Error
	if !errors.Is(err, resilience.ErrRetriesExceeded) {
		t.Errorf("err = %v, want ErrRetriesExceeded", err)
	}
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want a *resilience.Error", err)
	}
	if got, want := re.Attempts, 4; got != want {
		t.Errorf("attempts = %d, want %d", got, want)
	}
	if retries.Load() != 3 {
		t.Fatalf("OnRetry called %d times, want 3", retries.Load())
	}
	if got := resilience.HTTPStatus(err); got != http.StatusBadGateway {
		t.Fatalf("HTTPStatus = %d, want 502", got)
	}
}

func TestRetryClosesDiscardedResponses(t *testing.T) {
	t.Parallel()
	payload := strings.Repeat("e", 8<<10)
	u := newUpstream(t, func(n int64, w http.ResponseWriter, _ *http.Request) {
		if n%2 == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, payload) // must be drained for the connection to be reused
			return
		}
		io.WriteString(w, "ok")
	})
	tr := resilience.NewTransport(newBase(t), fastRetry(resilience.RetryConfig{}))
	for range 20 {
		resp, err := do(t, tr, http.MethodGet, u.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); got != "ok" {
			t.Fatalf("body = %q", got)
		}
	}
	if u.hits.Load() != 40 {
		t.Fatalf("upstream saw %d requests, want 40 (20 retried once)", u.hits.Load())
	}
	if c := u.conns.Load(); c > 2 {
		t.Fatalf("40 attempts opened %d connections, want at most 2: discarded responses leak", c)
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		set   func(h http.Header, now time.Time)
		delay time.Duration
		code  int // by default, 503
	}{
		{name: "Retry-After in seconds sets the delay", delay: time.Second,
			set: func(h http.Header, _ time.Time) { h.Set("Retry-After", "1") }},
		{name: "Retry-After as an HTTP-date sets the delay", delay: 2 * time.Second,
			set: func(h http.Header, now time.Time) {
				h.Set("Retry-After", now.Add(2*time.Second).Format(http.TimeFormat))
			}},
		{name: "retry-after-ms sets the delay", delay: 40 * time.Millisecond,
			set: func(h http.Header, _ time.Time) { h.Set("retry-after-ms", "40") }},
		{
			name:  "a 429's Retry-After sets the delay, not jittered",
			delay: time.Second,
			code:  http.StatusTooManyRequests,
			set:   func(h http.Header, _ time.Time) { h.Set("Retry-After", "1") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := time.Now().Truncate(time.Second)
			u := newUpstream(t, func(n int64, w http.ResponseWriter, _ *http.Request) {
				if n == 1 {
					tt.set(w.Header(), now)
					w.WriteHeader(cmp.Or(tt.code, http.StatusServiceUnavailable))
				}
			})
			var delay atomic.Int64
			tr := resilience.NewTransport(newBase(t), fastRetry(resilience.RetryConfig{
				Now:     func() time.Time { return now },
				OnRetry: func(e resilience.RetryEvent) { delay.Store(int64(e.Delay)) },
			}))
			start := time.Now()
			resp, err := do(t, tr, http.MethodGet, u.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, resp)
			if got, want := time.Duration(delay.Load()), tt.delay; got != want {
				t.Fatalf("delay = %v, want %v", got, want)
			}
			if got, want := resp.StatusCode, http.StatusOK; got != want {
				t.Fatalf("status = %d, want %d", got, want)
			}
			if waited := time.Since(start); waited < tt.delay {
				t.Fatalf("retried after %v, before the %v asked for", waited, tt.delay)
			}
		})
	}
}

func TestRetryStopsWhenTheCallerCancels(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	ctxReq, cancel := newCancelable(t, u.URL)
	tr := resilience.NewTransport(newBase(t), fastRetry(resilience.RetryConfig{
		OnRetry: func(resilience.RetryEvent) { cancel() },
	}))
	_, err := tr.RoundTrip(ctxReq)
	if !errors.Is(err, errCanceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if u.hits.Load() != 1 {
		t.Fatalf("upstream saw %d requests after cancellation, want 1", u.hits.Load())
	}
	if got := resilience.HTTPStatus(err); got != resilience.StatusClientClosedRequest {
		t.Fatalf("HTTPStatus = %d, want 499", got)
	}
}

func TestRetryBudgetCapsExtraLoad(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, status(503))
	clk := newClock()
	budget := resilience.NewBudget(resilience.BudgetConfig{Ratio: 0.1, Min: 3, Now: clk.Now})
	tr := resilience.NewTransport(newBase(t), resilience.Retry(resilience.RetryConfig{
		MaxAttempts: 5, BaseDelay: time.Microsecond, Budget: budget,
	}))
	const requests = 100
	for range requests {
		resp, err := do(t, tr, http.MethodGet, u.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
	}
	// Without a budget: 500 attempts. With it: 100 + max(3, 10% of 100).
	bound := int64(requests + 10)
	inRange(t, "upstream attempts", u.hits.Load(), requests+1, bound)
}

func TestAResponseResetMidBody(t *testing.T) {
	t.Parallel()
	// The upstream promises 1000 bytes, sends 10, then resets the connection.
	midBody := func(code int) func(int64, http.ResponseWriter, *http.Request) {
		return func(_ int64, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(code)
			io.WriteString(w, "0123456789")
			http.NewResponseController(w).Flush()
			reset(0, w, r)
		}
	}
	t.Run("a POST whose response is reset mid-body is sent exactly once", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t, midBody(http.StatusOK))
		tr := resilience.NewTransport(newBase(t), fastRetry(resilience.RetryConfig{}),
			resilience.Bulkhead(resilience.BulkheadConfig{MaxConcurrent: 1}))
		resp, err := do(t, tr, http.MethodPost, u.URL, strings.NewReader("once"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Fatal("reading a reset body succeeded")
		}
		if u.hits.Load() != 1 {
			t.Fatalf("upstream saw %d requests, want 1", u.hits.Load())
		}
		// The failed body released the bulkhead slot.
		resp, err = do(t, tr, http.MethodPost, u.URL, strings.NewReader("again"))
		if err != nil {
			t.Fatalf("slot not released after a reset body: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
	t.Run("a GET answered 503 whose body is reset is discarded and retried", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t, func(n int64, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				midBody(http.StatusServiceUnavailable)(n, w, r)
				return
			}
			io.WriteString(w, "ok")
		})
		tr := resilience.NewTransport(newBase(t), fastRetry(resilience.RetryConfig{}))
		resp, err := do(t, tr, http.MethodGet, u.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := readAll(t, resp), "ok"; got != want {
			t.Errorf("body = %q, want %q", got, want)
		}
		if got, want := u.hits.Load(), int64(2); got != want {
			t.Errorf("upstream attempts = %d, want %d", got, want)
		}
	})
}

func TestRetryReplaysTheBodyAfterAnAttemptTimesOut(t *testing.T) {
	t.Parallel()
	payload := bytes.Repeat([]byte{0, 1, 2, 254, 255, '\r', '\n'}, 2000)
	u := newUpstream(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			hang(n, w, r) // the body was read; the answer never comes
			return
		}
		io.WriteString(w, "ok")
	})
	tr := resilience.NewTransport(newBase(t), fastRetry(resilience.RetryConfig{}), resilience.Timeout(200*time.Millisecond))
	body := io.MultiReader(bytes.NewReader(payload)) // no GetBody: buffered to be replayed
	resp, err := do(t, tr, http.MethodPost, u.URL, body, "Idempotency-Key", "order-7")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := readAll(t, resp), "ok"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
	got := u.received()
	if len(got) != 2 {
		t.Fatalf("upstream saw %d attempts, want 2", len(got))
	}
	for i, b := range got {
		if !bytes.Equal(b, payload) {
			t.Errorf("attempt %d: upstream got %d bytes, not the %d sent", i+1, len(b), len(payload))
		}
	}
}
