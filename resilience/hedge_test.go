package resilience_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/resilience"
)

func TestHedgeSendsASecondAttemptAfterTheDelayAndCancelsTheLoser(t *testing.T) {
	t.Parallel()
	const delay = 50 * time.Millisecond
	var mu sync.Mutex
	var arrivals []time.Time
	loserCancelled := make(chan struct{})
	u := newUpstream(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		if n == 1 {
			<-r.Context().Done() // slow: only the hedge's win ends it
			close(loserCancelled)
			return
		}
		io.WriteString(w, "hedge")
	})
	var hedges atomic.Int64
	tr := resilience.NewTransport(newBase(t), resilience.Hedge(resilience.HedgeConfig{
		Delay:   delay,
		OnHedge: func(*http.Request, int) { hedges.Add(1) },
	}))
	start := time.Now()
	resp, err := do(t, tr, http.MethodGet, u.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp); got != "hedge" {
		t.Fatalf("body = %q, want the hedge's", got)
	}
	select {
	case <-loserCancelled:
	case <-time.After(20 * time.Second):
		t.Fatal("the slower attempt was not cancelled")
	}
	mu.Lock()
	defer mu.Unlock()
	if got, want := hedges.Load(), int64(1); got != want {
		t.Errorf("hedges = %d, want %d", got, want)
	}
	if got, want := len(arrivals), 2; got != want {
		t.Fatalf("attempts = %d, want %d", got, want)
	}
	if gap := arrivals[1].Sub(start); gap < delay {
		t.Fatalf("hedge arrived %v after the call began, before the %v delay", gap, delay)
	}
}

func TestHedgeLeavesFastAndUnsafeRequestsAlone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		method  string
		handler func(int64, http.ResponseWriter, *http.Request)
		calls   int
		delay   time.Duration
	}{
		{
			name:    "fast responses are never hedged",
			method:  http.MethodGet,
			calls:   20,
			delay:   10 * time.Second,
			handler: func(_ int64, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") },
		},
		{
			name:   "a slow POST is never hedged",
			method: http.MethodPost,
			calls:  1,
			delay:  time.Millisecond,
			handler: func(_ int64, w http.ResponseWriter, _ *http.Request) {
				time.Sleep(50 * time.Millisecond)
				io.WriteString(w, "ok")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := newUpstream(t, tt.handler)
			tr := resilience.NewTransport(newBase(t), resilience.Hedge(resilience.HedgeConfig{Delay: tt.delay}))
			for range tt.calls {
				resp, err := do(t, tr, tt.method, u.URL, strings.NewReader("x"))
				if err != nil {
					t.Fatal(err)
				}
				readAll(t, resp)
			}
			if got := u.hits.Load(); got != int64(tt.calls) {
				t.Fatalf("upstream saw %d attempts for %d calls", got, tt.calls)
			}
		})
	}
}

func TestHedgesAreBudgeted(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
	})
	clk := newClock()
	var hedges atomic.Int64
	tr := resilience.NewTransport(newBase(t), resilience.Hedge(resilience.HedgeConfig{
		Delay:   time.Millisecond,
		OnHedge: func(*http.Request, int) { hedges.Add(1) },
		Budget:  resilience.NewBudget(resilience.BudgetConfig{Ratio: 0.01, Min: 2, Now: clk.Now}),
	}))
	for range 10 {
		resp, err := do(t, tr, http.MethodGet, u.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
	}
	if got := hedges.Load(); got != 2 {
		t.Fatalf("%d hedges sent for 10 slow calls, want the budget's 2", got)
	}
}

func TestHedgeFailsOverAtOnceWhenTheOnlyAttemptFails(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, func(_ int64, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	p := &pool{addrs: []string{closedAddr(t), u.Listener.Addr().String()}, base: newBase(t)}
	tr := resilience.NewTransport(p, resilience.Hedge(resilience.HedgeConfig{Delay: time.Hour}))
	resp, err := do(t, tr, http.MethodGet, "http://upstream.invalid/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := readAll(t, resp), "ok"; got != want {
		t.Errorf("body = %q, want the second instance's %q without waiting an hour", got, want)
	}
	if got, want := p.calls.Load(), int64(2); got != want {
		t.Errorf("pool calls = %d, want %d", got, want)
	}
}

func TestHedgeDelayFollowsTheLatencyQuantile(t *testing.T) {
	t.Parallel()
	var slowSeen atomic.Int64
	u := newUpstream(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Slow") != "" && slowSeen.Add(1) == 1 { // the first attempt of the slow call
			<-r.Context().Done()
			return
		}
		io.WriteString(w, "ok")
	})
	var hedges atomic.Int64
	tr := resilience.NewTransport(newBase(t), resilience.Hedge(resilience.HedgeConfig{
		Delay:    time.Hour,
		Quantile: 0.9, // only the learnt quantile can hedge in time
		Budget:   resilience.NewBudget(resilience.BudgetConfig{Min: 100}),
		OnHedge:  func(*http.Request, int) { hedges.Add(1) },
	}))
	for range 48 { // fast responses teach the quantile
		resp, err := do(t, tr, http.MethodGet, u.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
	}
	before := hedges.Load() // a fast call slower than p90 may be hedged too
	resp, err := do(t, tr, http.MethodGet, u.URL, nil, "X-Slow", "1")
	if err != nil {
		t.Fatalf("the slow call was not hedged before the caller's deadline: %v", err)
	}
	if got, want := readAll(t, resp), "ok"; got != want {
		t.Errorf("body = %q, want the hedge's %q", got, want)
	}
	if got := hedges.Load(); got <= before {
		t.Errorf("hedges = %d, want more than the %d before the call", got, before)
	}
}

func TestHedgeFreesTheLosersConnection(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 4<<20) // larger than any socket buffer
	var arrived, finished atomic.Int64
	both := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer finished.Add(1)
		if arrived.Add(1) == 2 {
			close(both)
		}
		select {
		case <-both: // both attempts answer together: one wins, one loses
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, big) // blocks until the client reads or closes
	}))
	srv.Config.WriteTimeout = time.Minute // a leaked body would hold the writer this long
	srv.Start()
	t.Cleanup(srv.Close)
	tr := resilience.NewTransport(newBase(t), resilience.Hedge(resilience.HedgeConfig{Delay: time.Millisecond}))
	resp, err := do(t, tr, http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp); len(got) != len(big) {
		t.Fatalf("winner's body is %d bytes, want %d", len(got), len(big))
	}
	eventually(t, "the loser to be cancelled and its connection freed", func() bool { return finished.Load() == 2 })
}

// A hedge that failed fast used to win the race: a 503 or a reset
// connection was returned while the first attempt was about to answer 200.
func TestAHedgesFastFailureNoLongerBeatsASlowerSuccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		fail     func(int64, http.ResponseWriter, *http.Request)
		response bool // the failure is a response, to be closed
	}{
		{name: "a fast 503 from the hedge loses to a slower 200", fail: status(http.StatusServiceUnavailable), response: true},
		{name: "a fast connection reset of the hedge loses to a slower 200", fail: reset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			failed := make(chan struct{}) // closed once the failure reached the transport
			var once sync.Once
			u := newUpstream(t, func(n int64, w http.ResponseWriter, r *http.Request) {
				if n == 1 { // the slow attempt answers only after the fast failure is in
					select {
					case <-failed:
					case <-r.Context().Done():
						return
					}
					io.WriteString(w, "slow ok")
					return
				}
				tt.fail(n, w, r)
			})
			var closed atomic.Bool
			base := newBase(t)
			next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				resp, err := base.RoundTrip(r)
				if err == nil && resp.StatusCode >= 500 {
					resp.Body = closeSpy{resp.Body, &closed}
				}
				if err != nil || resp.StatusCode >= 500 {
					once.Do(func() { close(failed) })
				}
				return resp, err
			})
			tr := resilience.NewTransport(next, resilience.Hedge(resilience.HedgeConfig{Delay: time.Millisecond}))
			resp, err := do(t, tr, http.MethodGet, u.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := resp.StatusCode, http.StatusOK; got != want {
				t.Errorf("status = %d, want %d", got, want)
			}
			if got, want := readAll(t, resp), "slow ok"; got != want {
				t.Errorf("body = %q, want %q", got, want)
			}
			if tt.response {
				eventually(t, "the losing 503 to be closed", closed.Load)
			}
		})
	}
}

// closeSpy records that a body was closed.
type closeSpy struct {
	io.ReadCloser
	closed *atomic.Bool
}

func (c closeSpy) Close() error {
	c.closed.Store(true)
	return c.ReadCloser.Close()
}

func TestHedgeReturnsTheLastFailureWhenEveryAttemptFails(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, status(http.StatusServiceUnavailable))
	tr := resilience.NewTransport(newBase(t),
		resilience.Hedge(resilience.HedgeConfig{Delay: time.Millisecond, MaxHedges: 2}),
		resilience.Bulkhead(resilience.BulkheadConfig{MaxConcurrent: 3}))
	for range 3 { // a slot left held by a discarded attempt would fill the bulkhead
		resp, err := do(t, tr, http.MethodGet, u.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		if got, want := resp.StatusCode, http.StatusServiceUnavailable; got != want {
			t.Errorf("status = %d, want %d", got, want)
		}
	}
	if got, want := u.hits.Load(), int64(9); got != want {
		t.Errorf("upstream saw %d attempts, want %d (3 calls of 3 attempts)", got, want)
	}
}

// TestBreakerSeesAHedgeThatLost: a hedge that lost says nothing about its
// upstream unless it waited past the breaker's SlowCall; then it counts as
// a slow call, as it would have had it been let finish.
func TestBreakerSeesAHedgeThatLost(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name         string
		slowCall     time.Duration
		wantFailures int
	}{
		{"a loser is released without SlowCall", 0, 0},
		{"a loser that waited past SlowCall is a slow call", time.Second, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			u := newUpstream(t, func(n int64, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					<-r.Context().Done()
					return
				}
				io.WriteString(w, "hedge")
			})
			var finished []string
			tr := resilience.NewTransport(newBase(t),
				// The loser waits out the delay, past SlowCall; the winner
				// answers far within it.
				resilience.Hedge(resilience.HedgeConfig{Delay: 1500 * time.Millisecond, OnFinish: func(_ *http.Request, hedges int, won bool) {
					finished = append(finished, fmt.Sprint(hedges, won))
				}}),
				resilience.CircuitBreaker(resilience.BreakerConfig{ConsecutiveFailures: 5, SlowCall: c.slowCall}))
			resp, err := do(t, tr, http.MethodGet, u.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := readAll(t, resp), "hedge"; got != want {
				t.Fatalf("body = %q, want %q", got, want)
			}
			if got, want := strings.Join(finished, ";"), "1 true"; got != want {
				t.Errorf("OnFinish(hedges, won) = %s, want %s", got, want)
			}
			// The loser settles once its cancellation has reached it.
			deadline := time.Now().Add(20 * time.Second)
			for tr.Breakers()[0].Calls < 1+c.wantFailures && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond) // a loser wrongly counted would show by now
			st := tr.Breakers()[0]
			if got, want := st.Failures, c.wantFailures; got != want {
				t.Errorf("breaker failures = %d, want %d", got, want)
			}
			if got, want := st.Calls, 1+c.wantFailures; got != want {
				t.Errorf("breaker calls = %d, want %d", got, want)
			}
		})
	}
}
