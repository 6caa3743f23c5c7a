package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/resilience"
)

func TestBreakerLifecycle(t *testing.T) {
	t.Parallel()
	var failing atomic.Bool
	failing.Store(true)
	release := newGate()
	var blockProbes atomic.Bool
	u := newUpstream(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		if blockProbes.Load() {
			release.wait(r)
		}
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	})
	t.Cleanup(release.open)
	clk := newClock()
	var mu sync.Mutex
	var changes []string
	tr := resilience.NewTransport(newBase(t), resilience.CircuitBreaker(resilience.BreakerConfig{
		ConsecutiveFailures: 3,
		OpenFor:             10 * time.Second,
		HalfOpenProbes:      2,
		Now:                 clk.Now,
		OnStateChange: func(key string, from, to resilience.State) {
			mu.Lock()
			changes = append(changes, from.String()+">"+to.String())
			mu.Unlock()
		},
	}))

	// Closed: three failures reach the upstream, then the breaker opens.
	for i := range 3 {
		resp, err := do(t, tr, http.MethodGet, u.URL, nil)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		readAll(t, resp)
	}
	st := tr.Breakers()
	if len(st) != 1 {
		t.Fatalf("after 3 failures: %d breakers (%+v), want one", len(st), st)
	}
	if got, want := st[0].State, resilience.StateOpen; got != want {
		t.Errorf("after 3 failures: state = %v, want %v", got, want)
	}
	if got, want := st[0].Key, u.Listener.Addr().String(); got != want {
		t.Errorf("after 3 failures: key = %q, want the host %q", got, want)
	}
	if got, want := st[0].Failures, 3; got != want {
		t.Errorf("after 3 failures: failures = %d, want %d", got, want)
	}

	// Open: rejected without touching the upstream, with the remaining time.
	clk.Advance(4 * time.Second)
	for range 5 {
		_, err := do(t, tr, http.MethodGet, u.URL, nil)
		if !errors.Is(err, resilience.ErrCircuitOpen) {
			t.Fatalf("err = %v, want ErrCircuitOpen", err)
		}
		wantRetryAfter(t, err, 6*time.Second) // the remaining open time
		if resilience.HTTPStatus(err) != http.StatusServiceUnavailable {
			t.Fatalf("HTTPStatus = %d, want 503", resilience.HTTPStatus(err))
		}
	}
	if u.hits.Load() != 3 {
		t.Fatalf("upstream saw %d requests while open, want 3", u.hits.Load())
	}

	// Half-open: exactly two probes go through, the rest are rejected.
	clk.Advance(6 * time.Second)
	failing.Store(false)
	blockProbes.Store(true)
	var wg sync.WaitGroup
	var rejected, passed atomic.Int64
	for range 5 {
		wg.Go(func() {
			resp, err := do(t, tr, http.MethodGet, u.URL, nil)
			if errors.Is(err, resilience.ErrCircuitOpen) {
				rejected.Add(1)
				return
			}
			if err == nil {
				resp.Body.Close()
				passed.Add(1)
			}
		})
	}
	eventually(t, "two probes at the upstream and three rejections", func() bool {
		return u.hits.Load() == 5 && rejected.Load() == 3
	})
	release.open()
	wg.Wait()
	if got, want := passed.Load(), int64(2); got != want {
		t.Fatalf("half-open let %d probes through, want %d", got, want)
	}
	if got, want := u.hits.Load(), int64(5); got != want {
		t.Fatalf("upstream hits = %d, want %d (3 failures and 2 probes)", got, want)
	}

	// Both probes succeeded: closed again.
	blockProbes.Store(false)
	resp, err := do(t, tr, http.MethodGet, u.URL, nil)
	if err != nil {
		t.Fatalf("after closing: %v", err)
	}
	if got, want := readAll(t, resp), "ok"; got != want {
		t.Fatalf("after closing: body = %q, want %q", got, want)
	}
	if st := tr.Breakers(); st[0].State != resilience.StateClosed {
		t.Fatalf("state = %v, want closed", st[0].State)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"closed>open", "open>half-open", "half-open>closed"}
	if len(changes) != len(want) {
		t.Fatalf("state changes = %v, want %v", changes, want)
	}
	for i := range want {
		if changes[i] != want[i] {
			t.Fatalf("state changes = %v, want %v", changes, want)
		}
	}
}

func TestBreakerBehaviour(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      resilience.BreakerConfig
		handler  func(int64, http.ResponseWriter, *http.Request)
		calls    int
		wantOpen bool
	}{
		{
			name:     "one failure opens a breaker whose threshold is one",
			cfg:      resilience.BreakerConfig{ConsecutiveFailures: 1, OpenFor: time.Second},
			handler:  status(503),
			calls:    1,
			wantOpen: true,
		},
		{
			name: "a failure rate over the window opens the breaker once enough calls were made",
			cfg:  resilience.BreakerConfig{FailureRate: 0.5, MinCalls: 10, Window: time.Minute},
			handler: func(n int64, w http.ResponseWriter, _ *http.Request) {
				if n%2 == 0 {
					w.WriteHeader(http.StatusBadGateway)
				}
			},
			calls:    10,
			wantOpen: true,
		},
		{
			name:     "a failure rate below the minimum number of calls keeps it closed",
			cfg:      resilience.BreakerConfig{FailureRate: 0.5, MinCalls: 10},
			handler:  status(502),
			calls:    9,
			wantOpen: false,
		},
		{
			name:     "4xx responses are not failures by default",
			cfg:      resilience.BreakerConfig{ConsecutiveFailures: 2},
			handler:  status(404),
			calls:    5,
			wantOpen: false,
		},
		{
			name: "a custom IsFailure decides",
			cfg: resilience.BreakerConfig{ConsecutiveFailures: 2,
				IsFailure: func(r *http.Response, err error) bool { return err != nil || r.StatusCode == http.StatusNotFound }},
			handler:  status(404),
			calls:    2,
			wantOpen: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := newUpstream(t, tt.handler)
			tr := resilience.NewTransport(newBase(t), resilience.CircuitBreaker(tt.cfg))
			for range tt.calls {
				resp, err := do(t, tr, http.MethodGet, u.URL, nil)
				if err != nil {
					t.Fatal(err)
				}
				readAll(t, resp)
			}
			_, err := do(t, tr, http.MethodGet, u.URL, nil)
			if open := errors.Is(err, resilience.ErrCircuitOpen); open != tt.wantOpen {
				t.Fatalf("open = %v (err %v), want %v; breakers %+v", open, err, tt.wantOpen, tr.Breakers())
			}
		})
	}
}

func TestBreakerCountsSlowCallsAsFailures(t *testing.T) {
	t.Parallel()
	clk := newClock()
	u := newUpstream(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
		clk.Advance(2 * time.Second) // the upstream "takes" two seconds
	})
	tr := resilience.NewTransport(newBase(t), resilience.CircuitBreaker(resilience.BreakerConfig{
		ConsecutiveFailures: 2, SlowCall: time.Second, Now: clk.Now,
	}))
	for range 2 {
		resp, err := do(t, tr, http.MethodGet, u.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
	}
	if _, err := do(t, tr, http.MethodGet, u.URL, nil); !errors.Is(err, resilience.ErrCircuitOpen) {
		t.Fatalf("err = %v, want ErrCircuitOpen after two slow 200s", err)
	}
}

func TestBreakerIgnoresCallerCancellation(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, hang)
	tr := resilience.NewTransport(newBase(t), resilience.CircuitBreaker(resilience.BreakerConfig{ConsecutiveFailures: 1}))
	for i := range int64(3) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.URL, nil)
		go func() {
			for u.hits.Load() <= i && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		if _, err := tr.RoundTrip(req); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		cancel()
	}
	st := tr.Breakers()
	if got, want := st[0].State, resilience.StateClosed; got != want {
		t.Errorf("state = %v, want %v", got, want)
	}
	if got := st[0].Calls; got != 0 {
		t.Errorf("recorded calls = %d, want 0", got)
	}
}

func TestBreakerIsKeyedPerHost(t *testing.T) {
	t.Parallel()
	bad := newUpstream(t, status(503))
	good := newUpstream(t, status(200))
	tr := resilience.NewTransport(newBase(t), resilience.CircuitBreaker(resilience.BreakerConfig{ConsecutiveFailures: 2}))
	for range 2 {
		resp, err := do(t, tr, http.MethodGet, bad.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
	}
	if _, err := do(t, tr, http.MethodGet, bad.URL, nil); !errors.Is(err, resilience.ErrCircuitOpen) {
		t.Fatalf("failing host: err = %v, want ErrCircuitOpen", err)
	}
	for range 5 {
		resp, err := do(t, tr, http.MethodGet, good.URL, nil)
		if err != nil {
			t.Fatalf("healthy host affected by the other's breaker: %v", err)
		}
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Fatalf("healthy host: status = %d, want %d", got, want)
		}
		readAll(t, resp)
	}
	st := tr.Breakers()
	if len(st) != 2 {
		t.Fatalf("breakers = %+v, want one per host", st)
	}
	states := map[string]resilience.State{st[0].Key: st[0].State, st[1].Key: st[1].State}
	if got, want := states[bad.Listener.Addr().String()], resilience.StateOpen; got != want {
		t.Errorf("failing host: state = %v, want %v", got, want)
	}
	if got, want := states[good.Listener.Addr().String()], resilience.StateClosed; got != want {
		t.Errorf("healthy host: state = %v, want %v", got, want)
	}
}

func TestBreakerInsideRetryStopsRetrying(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, status(503))
	tr := resilience.NewTransport(newBase(t),
		fastRetry(resilience.RetryConfig{MaxAttempts: 5}),
		resilience.CircuitBreaker(resilience.BreakerConfig{ConsecutiveFailures: 2}))
	_, err := do(t, tr, http.MethodGet, u.URL, nil)
	if !errors.Is(err, resilience.ErrCircuitOpen) {
		t.Errorf("err = %v, want ErrCircuitOpen", err)
	}
	if !errors.Is(err, resilience.ErrRetriesExceeded) {
		t.Errorf("err = %v, want ErrRetriesExceeded", err)
	}
	if u.hits.Load() != 2 {
		t.Fatalf("upstream saw %d attempts, want 2", u.hits.Load())
	}
}

func TestBreakerReopensOnAFailedProbe(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, status(503))
	clk := newClock()
	tr := resilience.NewTransport(newBase(t), resilience.CircuitBreaker(resilience.BreakerConfig{
		ConsecutiveFailures: 1, OpenFor: time.Minute, Now: clk.Now,
	}))
	resp, err := do(t, tr, http.MethodGet, u.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	clk.Advance(time.Minute)
	if st := tr.Breakers(); st[0].State != resilience.StateHalfOpen {
		t.Fatalf("after OpenFor: %v, want half-open", st[0].State)
	}
	resp, err = do(t, tr, http.MethodGet, u.URL, nil) // the probe fails
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	st := tr.Breakers()
	if got, want := st[0].State, resilience.StateOpen; got != want {
		t.Errorf("after a failed probe: state = %v, want %v", got, want)
	}
	if got, want := st[0].Remaining, time.Minute; got != want {
		t.Errorf("after a failed probe: remaining = %v, want %v", got, want)
	}
	if got, want := u.hits.Load(), int64(2); got != want {
		t.Errorf("after a failed probe: upstream hits = %d, want %d", got, want)
	}
}

// instancePool is a RoundTripper that picks instances in turn, as a
// load balancer's pool does, skipping those whose circuit is open and
// keying each attempt's breaker by the instance it picked.
type instancePool struct {
	addrs []string
	calls atomic.Int64
	base  http.RoundTripper
}

func (p *instancePool) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	first := int(p.calls.Add(1) - 1)
	pick := p.addrs[first%len(p.addrs)]
	for i := range p.addrs {
		if a := p.addrs[(first+i)%len(p.addrs)]; resilience.Admits(ctx, a) {
			pick = a
			break
		}
	}
	if err := resilience.Instance(ctx, pick); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	r := req.Clone(ctx)
	r.URL.Host = pick
	return p.base.RoundTrip(r)
}

// One bad instance used to open the circuit for its whole pool: the
// breaker was keyed by the pool's name, and the good instance got no
// traffic.
func TestABadInstanceNoLongerOpensTheCircuitForItsPool(t *testing.T) {
	t.Parallel()
	bad := newUpstream(t, status(http.StatusInternalServerError))
	good := newUpstream(t, status(http.StatusOK))
	badAddr, goodAddr := bad.Listener.Addr().String(), good.Listener.Addr().String()
	pool := &instancePool{addrs: []string{badAddr, goodAddr}, base: newBase(t)}
	clk := newClock()
	tr := resilience.NewTransport(pool, resilience.CircuitBreaker(resilience.BreakerConfig{
		ConsecutiveFailures: 1, OpenFor: time.Minute, Now: clk.Now,
	}))
	var codes []int
	for range 4 {
		resp, err := do(t, tr, http.MethodGet, "http://api.pool/items", nil)
		if err != nil {
			t.Fatalf("after %v: %v", codes, err)
		}
		readAll(t, resp)
		codes = append(codes, resp.StatusCode)
	}
	if got, want := fmt.Sprint(codes), "[500 200 200 200]"; got != want {
		t.Errorf("statuses = %s, want %s", got, want)
	}
	if got, want := bad.hits.Load(), int64(1); got != want {
		t.Errorf("bad instance saw %d requests, want %d", got, want)
	}
	if got, want := good.hits.Load(), int64(3); got != want {
		t.Errorf("good instance saw %d requests, want %d", got, want)
	}
	states := map[string]resilience.State{}
	for _, s := range tr.Breakers() {
		states[s.Key] = s.State
	}
	want := map[string]resilience.State{badAddr: resilience.StateOpen, goodAddr: resilience.StateClosed}
	if got := fmt.Sprint(states); got != fmt.Sprint(want) {
		t.Errorf("breakers = %s, want %s (one per instance, none for the pool)", got, fmt.Sprint(want))
	}
}

func TestInstanceRejectsAnOpenInstance(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, status(http.StatusBadGateway))
	addr := u.Listener.Addr().String()
	pool := &instancePool{addrs: []string{addr}, base: newBase(t)}
	tr := resilience.NewTransport(pool, resilience.CircuitBreaker(resilience.BreakerConfig{ConsecutiveFailures: 1}))
	resp, err := do(t, tr, http.MethodGet, "http://api.pool/", nil)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	_, err = do(t, tr, http.MethodGet, "http://api.pool/", nil)
	re, ok := errors.AsType[*resilience.Error](err)
	if !errors.Is(err, resilience.ErrCircuitOpen) {
		t.Fatalf("err = %v, want ErrCircuitOpen once the only instance is open", err)
	}
	if !ok {
		t.Fatalf("err = %v, want a *resilience.Error", err)
	}
	if got, want := re.Key, addr; got != want {
		t.Errorf("rejected by the breaker of %q, want the instance's %q", got, want)
	}
	if got, want := u.hits.Load(), int64(1); got != want {
		t.Errorf("upstream saw %d requests, want %d", got, want)
	}
}

func TestInstanceOutsideATransportDoesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if err := resilience.Instance(ctx, "10.0.0.7:8080"); err != nil {
		t.Errorf("Instance = %v, want nil without a transport", err)
	}
	if !resilience.Admits(ctx, "10.0.0.7:8080") {
		t.Error("Admits = false, want true without a transport")
	}
}

func TestTransportsGivenOneBreakerPolicyShareItsBreakers(t *testing.T) {
	t.Parallel()
	bad := newUpstream(t, status(503))
	cb := resilience.CircuitBreaker(resilience.BreakerConfig{ConsecutiveFailures: 1, OpenFor: time.Hour})
	first := resilience.NewTransport(newBase(t), cb)
	resp, err := do(t, first, http.MethodGet, bad.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	// A transport built anew, as on a reload, around another next.
	second := resilience.NewTransport(newBase(t), cb)
	if _, err := do(t, second, http.MethodGet, bad.URL, nil); !errors.Is(err, resilience.ErrCircuitOpen) {
		t.Errorf("the second transport: err = %v, want ErrCircuitOpen from the breaker the first opened", err)
	}
	other := resilience.NewTransport(newBase(t), resilience.CircuitBreaker(resilience.BreakerConfig{ConsecutiveFailures: 1, OpenFor: time.Hour}))
	if resp, err := do(t, other, http.MethodGet, bad.URL, nil); err != nil {
		t.Errorf("a transport with a policy of its own: err = %v, want the upstream's answer", err)
	} else {
		readAll(t, resp)
	}
}
