package redisstore_test

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/portico-dev/portico/internal/redistest"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/cache"
	"github.com/portico-dev/portico/middleware/ratelimit"
	"github.com/portico-dev/portico/middleware/redisstore"
)

// sent counts the commands a client hands to Redis, and signals each one.
// The commands go-redis sends on its own to set up a new connection (HELLO,
// CLIENT SETINFO) pass through the same hooks; they are not counted, since
// they follow the caller's command at a time of the client's choosing.
// dials counts the connections the client opened.
type sent struct {
	n     atomic.Int64
	dials atomic.Int64
	each  chan struct{}
}

func (s *sent) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		s.dials.Add(1)
		return next(ctx, network, addr)
	}
}

func (s *sent) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if setup(cmd) {
			return next(ctx, cmd)
		}
		s.n.Add(1)
		if s.each != nil {
			select {
			case s.each <- struct{}{}:
			default:
			}
		}
		return next(ctx, cmd)
	}
}

func (s *sent) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			if !setup(cmd) {
				s.n.Add(1)
			}
		}
		return next(ctx, cmds)
	}
}

// setup reports whether cmd is one go-redis sends to set up a connection.
func setup(cmd redis.Cmder) bool {
	switch cmd.Name() {
	case "hello", "client", "auth", "select":
		return true
	}
	return false
}

// counted opens a store on rs whose client counts the commands it sends.
// Its timeout is steady's unless opts set one: the tests of outages kill
// the server, which refuses at once, and with the 200ms default a call a
// loaded machine delays would open the breaker before the test does.
func counted(t *testing.T, rs *redistest.Server, opts ...redisstore.Option) (*redisstore.Store, *sent) {
	t.Helper()
	st := redisstore.Open(&redis.Options{Addr: rs.Addr()}, append([]redisstore.Option{steady}, opts...)...)
	t.Cleanup(func() { _ = st.Close() })
	s := &sent{each: make(chan struct{}, 1)}
	st.Client().AddHook(s)
	return st, s
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestOpenMakesOneAttemptPerCommandBoundedByTheStoreTimeout(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		in      redis.Options
		timeout time.Duration
		dial    time.Duration
		read    time.Duration
		pool    time.Duration
	}{
		{
			"unset timeouts become the store timeout",
			redis.Options{},
			150 * time.Millisecond,
			150 * time.Millisecond,
			150 * time.Millisecond,
			150 * time.Millisecond,
		},
		{
			"longer timeouts are cut to the store timeout",
			redis.Options{DialTimeout: 5 * time.Second, ReadTimeout: -1, PoolTimeout: time.Minute},
			150 * time.Millisecond,
			150 * time.Millisecond,
			150 * time.Millisecond,
			150 * time.Millisecond,
		},
		{
			"shorter timeouts are kept",
			redis.Options{DialTimeout: 20 * time.Millisecond, ReadTimeout: 30 * time.Millisecond},
			150 * time.Millisecond,
			20 * time.Millisecond,
			30 * time.Millisecond,
			150 * time.Millisecond,
		},
		{
			"the default store timeout is 200ms",
			redis.Options{},
			0,
			200 * time.Millisecond,
			200 * time.Millisecond,
			200 * time.Millisecond,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := c.in
			in.Addr = "127.0.0.1:1"
			st := redisstore.Open(&in, redisstore.WithTimeout(c.timeout))
			defer st.Close()
			o := st.Client().(*redis.Client).Options()
			if got, want := o.MaxRetries, 0; got != want {
				t.Errorf("MaxRetries = %d, want %d (no retry)", got, want)
			}
			if got, want := o.DialerRetries, 1; got != want {
				t.Errorf("DialerRetries = %d, want %d (one dial attempt)", got, want)
			}
			if got, want := o.DialTimeout, c.dial; got != want {
				t.Errorf("DialTimeout = %s, want %s", got, want)
			}
			if got, want := o.ReadTimeout, c.read; got != want {
				t.Errorf("ReadTimeout = %s, want %s", got, want)
			}
			if got, want := o.PoolTimeout, c.pool; got != want {
				t.Errorf("PoolTimeout = %s, want %s", got, want)
			}
			if !o.ContextTimeoutEnabled {
				t.Error("ContextTimeoutEnabled is false: command contexts would not bound socket reads")
			}
			if got := in.MaxRetries; got != 0 {
				t.Errorf("Open modified the caller's MaxRetries to %d", got)
			}
			if got, want := in.Addr, "127.0.0.1:1"; got != want {
				t.Errorf("Open modified the caller's Addr to %q, want %q", got, want)
			}
		})
	}
}

func TestOnceRedisFailsEveryViewSkipsIt(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	st, sent := counted(t, rs, redisstore.WithBreaker(1, time.Hour))
	ctx := context.Background()
	e, err := st.Cache().Get(ctx, "missing")
	if err != nil {
		t.Fatalf("Get of a missing entry: %v, want a miss", err)
	}
	if e != nil {
		t.Fatalf("Get of a missing entry = %v, want a miss", e)
	}
	if got, want := st.Status().State, redisstore.StateClosed; got != want {
		t.Fatalf("after a miss the breaker is %s, want %s: a reply is not a failure", got, want)
	}

	rs.Kill()
	if _, err := st.Rates().Take(ctx, "k", ratelimit.PerMinute(10), 1); err == nil {
		t.Fatal("the first call after the kill succeeded, want the connection error")
	} else if errors.Is(err, middleware.ErrStoreUnavailable) {
		t.Fatalf("the first call after the kill: %v, want the connection error, not the breaker's", err)
	}
	before := sent.n.Load()
	calls := map[string]error{}
	_, calls["rate limit"] = st.Rates().Take(ctx, "k", ratelimit.PerMinute(10), 1)
	_, _, calls["quota"] = st.Quotas().Add(ctx, "k", 1, 10, time.Now().Add(time.Hour))
	_, calls["cache get"] = st.Cache().Get(ctx, "k")
	calls["cache set"] = st.Cache().Set(ctx, "k", &cache.Entry{Status: 200}, time.Minute)
	_, calls["idempotency claim"] = st.Idempotency().Claim(ctx, "k", &cache.IdempotencyRecord{Token: "t"}, time.Minute)
	_, calls["platform version"] = st.Documents().Version(ctx)
	for name, err := range calls {
		if !errors.Is(err, middleware.ErrStoreUnavailable) {
			t.Errorf("%s with the breaker open: %v, want an error wrapping ErrStoreUnavailable", name, err)
		}
	}
	if got := sent.n.Load() - before; got != 0 {
		t.Errorf("%d commands reached the client with the breaker open, want 0", got)
	}
	s := st.Status()
	if got, want := s.State, redisstore.StateOpen; got != want {
		t.Errorf("state = %s, want %s", got, want)
	}
	if got, want := s.Skipped, uint64(len(calls)); got != want {
		t.Errorf("skipped = %d, want %d", got, want)
	}
	if got, want := s.Failed, uint64(1); got != want {
		t.Errorf("failed = %d, want %d", got, want)
	}
	if s.DownSince.IsZero() {
		t.Error("DownSince is zero during an outage")
	}
	if !strings.Contains(s.LastError, "refused") {
		t.Errorf("LastError = %q, want the refused connection", s.LastError)
	}
}

func TestAProbeClosesTheBreakerWhenRedisReturns(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	st, _ := counted(t, rs, redisstore.WithBreaker(1, 50*time.Millisecond))
	ctx := context.Background()
	rs.Kill()
	_, _ = st.Cache().Get(ctx, "k")
	if got, want := st.Status().State, redisstore.StateOpen; got != want {
		t.Fatalf("state after a refused call = %s, want %s", got, want)
	}
	rs.Restart()
	waitFor(t, "a call succeeds after the restart", func() bool {
		_, err := st.Cache().Get(ctx, "k")
		return err == nil
	})
	s := st.Status()
	if got, want := s.State, redisstore.StateClosed; got != want {
		t.Errorf("state after a successful probe = %s, want %s", got, want)
	}
	if !s.DownSince.IsZero() {
		t.Errorf("DownSince = %s after recovery, want zero", s.DownSince)
	}
	if err := st.Cache().Set(ctx, "k", &cache.Entry{Status: 200}, time.Minute); err != nil {
		t.Fatal(err)
	}
	n, err := st.Client().Exists(ctx, "portico:cache:k").Result()
	if err != nil {
		t.Fatalf("EXISTS portico:cache:k: %v", err)
	}
	if n != 1 {
		t.Errorf("EXISTS portico:cache:k = %d, want the entry in Redis again", n)
	}
}

func TestAHalfOpenBreakerLetsOneProbeThrough(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	st, sent := counted(t, rs, redisstore.WithTimeout(5*time.Second), redisstore.WithBreaker(1, 50*time.Millisecond))
	ctx := context.Background()
	rs.Kill()
	_, _ = st.Cache().Get(ctx, "k") // opens the breaker
	rs.Restart()
	rs.Pause()
	defer rs.Resume()
	time.Sleep(100 * time.Millisecond) // past the open period: the next call is the probe
	for len(sent.each) > 0 {
		<-sent.each
	}
	probe := make(chan error, 1)
	go func() {
		_, err := st.Cache().Get(ctx, "k")
		probe <- err
	}()
	<-sent.each // the probe is in flight, waiting on the paused server
	before := sent.n.Load()
	for range 20 {
		if _, err := st.Cache().Get(ctx, "k"); !errors.Is(err, middleware.ErrStoreUnavailable) {
			t.Fatalf("a call while the probe is in flight: %v, want it skipped", err)
		}
	}
	if got := sent.n.Load() - before; got != 0 {
		t.Errorf("%d more commands reached the client while the probe was in flight, want 0", got)
	}
	if got, want := st.Status().State, redisstore.StateHalfOpen; got != want {
		t.Errorf("state during the probe = %s, want %s", got, want)
	}
	rs.Resume()
	if err := <-probe; err != nil {
		t.Fatalf("the probe, answered after the resume: %v", err)
	}
	if got, want := st.Status().State, redisstore.StateClosed; got != want {
		t.Errorf("state after the probe = %s, want %s", got, want)
	}
}

func TestACallerGivingUpDoesNotOpenTheBreaker(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	st, sent := counted(t, rs, redisstore.WithTimeout(5*time.Second))
	rs.Pause()
	defer rs.Resume()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-sent.each
		cancel()
	}()
	if _, err := st.Cache().Get(ctx, "k"); err == nil {
		t.Fatal("a call whose caller gave up succeeded")
	}
	s := st.Status()
	if got, want := s.State, redisstore.StateClosed; got != want {
		t.Errorf("state = %s, want %s", got, want)
	}
	if got, want := s.Failed, uint64(0); got != want {
		t.Errorf("failed = %d, want %d", got, want)
	}
}

// Each call in flight when Redis froze makes one attempt, on one
// connection, and fails with the store timeout: it is not retried (each
// retry would cost another timeout), and the breaker keeps the next calls
// from Redis. The attempts are counted, not timed.
func TestAFrozenRedisCostsTheCallsInFlightOneTimeout(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	st, sent := counted(t, rs, redisstore.WithTimeout(100*time.Millisecond))
	rs.Pause()
	defer rs.Resume()
	ctx := context.Background()
	const inFlight = 4
	errs := make(chan error, inFlight)
	var wg sync.WaitGroup
	for range inFlight {
		wg.Go(func() {
			_, err := st.Rates().Take(ctx, "k", ratelimit.PerMinute(10), 1)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	if got, want := sent.n.Load(), int64(inFlight); got != want {
		t.Errorf("the calls in flight sent %d commands, want %d (one each)", got, want)
	}
	if got, want := sent.dials.Load(), int64(inFlight); got > want {
		t.Errorf("the calls in flight dialled %d connections, want at most %d (one attempt each, no retry)", got, want)
	}
	if got, want := st.Status().Failed, uint64(inFlight); got != want {
		t.Errorf("failed calls = %d, want %d (one timeout each)", got, want)
	}
	for err := range errs {
		if err == nil {
			t.Error("no error, want one naming the store timeout")
		} else if !strings.Contains(err.Error(), "store timeout") {
			t.Errorf("error = %v, want one naming the store timeout", err)
		}
	}
	before := sent.n.Load()
	for range 50 {
		_, _ = st.Rates().Take(ctx, "k", ratelimit.PerMinute(10), 1)
	}
	if got := sent.n.Load() - before; got != 0 {
		t.Errorf("%d of the 50 next calls reached the frozen Redis, want 0", got)
	}
}

func TestTimeoutsOpenTheBreakerOnlyAfterTheThreshold(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	st, _ := counted(t, rs, redisstore.WithTimeout(50*time.Millisecond), redisstore.WithBreaker(3, time.Hour))
	rs.Pause()
	defer rs.Resume()
	ctx := context.Background()
	for i, want := range []redisstore.State{redisstore.StateClosed, redisstore.StateClosed, redisstore.StateOpen} {
		_, _ = st.Cache().Get(ctx, "k")
		if got := st.Status().State; got != want {
			t.Errorf("after %d timeouts the breaker is %s, want %s", i+1, got, want)
		}
	}
}

func TestARefusedConnectionOpensTheBreakerAtOnce(t *testing.T) {
	t.Parallel()
	st := redisstore.Open(&redis.Options{Addr: "127.0.0.1:1"}, redisstore.WithBreaker(100, time.Hour))
	defer st.Close()
	_, err := st.Cache().Get(context.Background(), "k")
	if err == nil {
		t.Fatal("a call to a closed port succeeded")
	}
	if got, want := st.Status().State, redisstore.StateOpen; got != want {
		t.Errorf("after one refused connection the breaker is %s, want %s", got, want)
	}
}

// records keeps the log records a store writes.
type records struct {
	mu  sync.Mutex
	all []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, rec)
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

func (r *records) at(level slog.Level) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.all {
		if rec.Level == level {
			out = append(out, rec.Message)
		}
	}
	return out
}

func TestAnOutageIsLoggedOnceNotPerCall(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	log := &records{}
	st, _ := counted(t, rs, redisstore.WithBreaker(1, 20*time.Millisecond), redisstore.WithLogger(slog.New(log)))
	ctx := context.Background()
	rs.Kill()
	for range 10 { // several open periods, each ended by a failed probe
		for range 20 {
			_, _ = st.Cache().Get(ctx, "k")
		}
		time.Sleep(25 * time.Millisecond)
	}
	if got := log.at(slog.LevelWarn); len(got) != 1 {
		t.Errorf("warnings during the outage: %q, want one", got)
	}
	rs.Restart()
	waitFor(t, "recovery", func() bool { _, err := st.Cache().Get(ctx, "k"); return err == nil })
	got := log.at(slog.LevelInfo)
	if len(got) != 1 {
		t.Fatalf("info records after recovery: %q, want one", got)
	}
	if !strings.Contains(got[0], "available again") {
		t.Errorf("info record after recovery: %q, want it to say Redis is available again", got[0])
	}
}

func TestMetricsCountCallsByOutcomeAndShowTheBreakerState(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	st, _ := counted(t, rs, redisstore.WithMeterProvider(mp), redisstore.WithBreaker(1, time.Hour))
	ctx := context.Background()
	_, _ = st.Cache().Get(ctx, "k")
	rs.Kill()
	for range 3 {
		_, _ = st.Cache().Get(ctx, "k")
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	calls, state := map[string]int64{}, int64(-1)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					o, _ := dp.Attributes.Value("portico.outcome")
					calls[o.AsString()] += dp.Value
				}
			case metricdata.Gauge[int64]:
				state = d.DataPoints[0].Value
			}
		}
	}
	for outcome, want := range map[string]int64{"ok": 1, "failed": 1, "skipped": 2} {
		if got := calls[outcome]; got != want {
			t.Errorf("portico.redisstore.calls{outcome=%s} = %d, want %d", outcome, got, want)
		}
	}
	if got, want := state, int64(2); got != want {
		t.Errorf("portico.redisstore.breaker.state = %d, want %d (open)", got, want)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
}

func TestDocumentsUpdateErrorsAreNotRedisFailures(t *testing.T) {
	t.Parallel()
	st, _ := counted(t, redistest.Start(t), redisstore.WithBreaker(1, time.Hour))
	refused := errors.New("refused")
	for range 3 {
		err := st.Documents().Update(context.Background(), "tenant", "acme", func([]byte) ([]byte, error) { return nil, refused })
		if !errors.Is(err, refused) {
			t.Fatalf("Update = %v, want the function's error", err)
		}
	}
	if _, err := st.Documents().Get(context.Background(), "tenant", "acme"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get after refused updates: %v, want fs.ErrNotExist (and the breaker still closed)", err)
	}
}

func TestWaitingForAFreeConnectionIsNotARedisFailure(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	// One connection; reads wait for the server, not for the call's context.
	c := redis.NewClient(&redis.Options{
		Addr:        rs.Addr(),
		PoolSize:    1,
		MaxRetries:  -1,
		ReadTimeout: time.Minute,
	})
	defer c.Close()
	st := redisstore.New(c, redisstore.WithTimeout(100*time.Millisecond), redisstore.WithBreaker(1, time.Hour))
	ctx := context.Background()
	if _, err := st.Cache().Get(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	rs.Pause()
	defer rs.Resume()
	done := make(chan error, 2)
	for range 2 {
		go func() { _, err := st.Cache().Get(ctx, "k"); done <- err }()
	}
	// One call holds the connection, waiting on the paused server; the
	// other gives up waiting for the connection.
	if err := <-done; err == nil {
		t.Fatal("a call succeeded while the only connection waited on a paused server")
	}
	if got, want := st.Status().State, redisstore.StateClosed; got != want {
		t.Errorf("after a call found no free connection the breaker is %s, want %s", got, want)
	}
	rs.Resume()
	if err := <-done; err != nil {
		t.Errorf("the call holding the connection, answered after the resume: %v", err)
	}
}
