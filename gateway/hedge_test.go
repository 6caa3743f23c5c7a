package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/resilience"
)

// instance is an upstream instance that answers with its name and counts
// what it saw; a slow one holds each request for hold, or until it is
// canceled.
type instance struct {
	*httptest.Server
	hold     time.Duration
	started  atomic.Int64
	posts    atomic.Int64
	canceled atomic.Int64
	marked   atomic.Int64 // requests with an X-Test-Mark header
}

func newInstance(t *testing.T, name string, hold time.Duration) *instance {
	t.Helper()
	in := &instance{hold: hold}
	in.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so that the server sees the client go away
		in.started.Add(1)
		if r.Header.Get("X-Test-Mark") != "" {
			in.marked.Add(1)
		}
		if r.Method == http.MethodPost {
			in.posts.Add(1)
		}
		if in.hold > 0 {
			select {
			case <-time.After(in.hold):
			case <-r.Context().Done():
				in.canceled.Add(1)
				return
			}
		}
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, name)
	}))
	t.Cleanup(in.Close)
	return in
}

// slowAndFast starts a slow instance (holding requests for hold) and a
// fast one, and a round-robin pool of them, the slow one first.
func slowAndFast(t *testing.T, hold time.Duration) (slow, fast *instance, pool *upstream.Pool) {
	t.Helper()
	slow, fast = newInstance(t, "slow", hold), newInstance(t, "fast", 0)
	pool = poolOf(t, upstream.Config{Name: "svc", Balancer: upstream.RoundRobin}, slow.Server, fast.Server)
	return slow, fast, pool
}

// sendBody makes a request and returns its status and body.
func sendBody(t *testing.T, method, url string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHedgeAnswersASlowRequestFromTheOtherInstance(t *testing.T) {
	t.Parallel()
	slow, fast, pool := slowAndFast(t, time.Minute)
	_, srv := newGateway(t, gateway.WithUpstream(pool), gateway.WithRoute(gateway.Route{Prefix: "/", Upstream: "svc",
		Policy: gateway.Policy{Hedge: &gateway.Hedge{Delay: gateway.HedgeDelay{After: 20 * time.Millisecond}}}}))

	const gets = 6
	for i := range gets {
		status, body := sendBody(t, http.MethodGet, srv.URL+"/get")
		if got, want := status, http.StatusOK; got != want {
			t.Fatalf("GET %d: status %d, want %d", i, got, want)
		}
		if got, want := body, "fast"; got != want {
			t.Errorf("GET %d answered by %q, want %q", i, got, want)
		}
	}
	status, body := sendBody(t, http.MethodPost, srv.URL+"/post", "Idempotency-Key", "k-1")
	if got, want := body, "fast"; got != want {
		t.Errorf("POST with an Idempotency-Key (status %d) answered by %q, want %q", status, got, want)
	}
	if got, want := fast.started.Load(), int64(gets+1); got != want {
		t.Errorf("fast instance saw %d requests, want %d: every request once, never a hedge of its own", got, want)
	}
	if slow.started.Load() == 0 {
		t.Fatal("no request went to the slow instance first: no hedge was exercised")
	}
	// The losers were canceled, not left to hold the slow instance.
	waitFor(t, 10*time.Second, func() bool { return slow.canceled.Load() == slow.started.Load() })
}

func TestHedgeLeavesAPOSTWithoutIdempotencyKeyAlone(t *testing.T) {
	t.Parallel()
	slow, fast, pool := slowAndFast(t, 300*time.Millisecond)
	_, srv := newGateway(t, gateway.WithUpstream(pool), gateway.WithRoute(gateway.Route{Prefix: "/", Upstream: "svc",
		Policy: gateway.Policy{Hedge: &gateway.Hedge{Delay: gateway.HedgeDelay{After: 10 * time.Millisecond}}}}))
	var bodies []string
	for range 2 {
		status, body := sendBody(t, http.MethodPost, srv.URL+"/post")
		if got, want := status, http.StatusOK; got != want {
			t.Fatalf("status %d, want %d", got, want)
		}
		bodies = append(bodies, body)
	}
	slices.Sort(bodies)
	if got, want := strings.Join(bodies, ","), "fast,slow"; got != want {
		t.Errorf("POSTs answered by %s, want %s: each sent once, round robin", got, want)
	}
	if got, want := slow.posts.Load()+fast.posts.Load(), int64(2); got != want {
		t.Errorf("instances saw %d POSTs, want %d", got, want)
	}
}

// TestHedgeMeetsAuthRetryBreakerAndCache: on one route, authentication
// runs before any attempt, GETs are hedged and cached, POSTs are retried
// by the route's retry policy, and a POST attempt cut by the per-try
// timeout counts against its instance's breaker, which opens and keeps
// later requests off the slow instance.
func TestHedgeMeetsAuthRetryBreakerAndCache(t *testing.T) {
	t.Parallel()
	slow, fast, pool := slowAndFast(t, time.Minute)
	g, srv := newGateway(t, gateway.WithUpstream(pool),
		config.WithConsumers(config.ConsumerConfig{Consumer: middleware.Consumer{ID: "alice"},
			Keys: []config.APIKeyConfig{{ID: "alice-1", Secret: keyed}}}),
		gateway.WithRoute(gateway.Route{Prefix: "/", Upstream: "svc", Policy: gateway.Policy{
			Auth:    &gateway.Auth{Methods: []string{"api_key"}},
			Retry:   &gateway.Retry{Attempts: 3, PerTry: 200 * time.Millisecond, Backoff: time.Millisecond},
			Hedge:   &gateway.Hedge{Delay: gateway.HedgeDelay{After: 20 * time.Millisecond}},
			Breaker: &gateway.Breaker{Failures: 2, Delay: time.Hour},
			Cache:   &gateway.Cache{TTL: time.Minute},
		}}))
	chain := g.Routes()[0].Chain
	for _, stage := range []string{"retry(attempts=3)", "hedge(delay=20ms, max_extra=1)", "breaker(failures=2)"} {
		if !slices.Contains(chain, stage) {
			t.Errorf("chain %v lacks %q", chain, stage)
		}
	}

	if got, want := func() int { s, _ := sendBody(t, http.MethodGet, srv.URL+"/x"); return s }(), http.StatusUnauthorized; got != want {
		t.Errorf("GET without a key: status %d, want %d", got, want)
	}
	if got := slow.started.Load() + fast.started.Load(); got != 0 {
		t.Errorf("an unauthenticated request reached the upstream %d times", got)
	}
	for i := range 4 {
		status, body := sendBody(t, http.MethodGet, srv.URL+"/get/"+string(rune('a'+i)), "X-API-Key", keyed)
		if got, want := body, "fast"; got != want {
			t.Errorf("GET %d (status %d) answered by %q, want %q", i, status, got, want)
		}
	}
	// A hedge's loser may reach the slow instance after its request was
	// answered, so the cached GET is marked rather than counted by the
	// difference of the instances' totals.
	if _, body := sendBody(t, http.MethodGet, srv.URL+"/get/a", "X-API-Key", keyed, "X-Test-Mark", "cached"); body != "fast" {
		t.Errorf("a cached GET answered %q, want the cached %q", body, "fast")
	}
	if got, want := fast.marked.Load()+slow.marked.Load(), int64(0); got != want {
		t.Errorf("a cached GET reached the upstream %d times, want %d", got, want)
	}

	// POSTs are not hedged; the retry policy sends them. Each that meets
	// the slow instance times out (504: it may have reached it, so it is
	// not retried), and two of those open the slow instance's breaker.
	var timedOut int
	for i := range 8 {
		status, body := sendBody(t, http.MethodPost, srv.URL+"/post", "X-API-Key", keyed)
		switch {
		case status == http.StatusGatewayTimeout:
			timedOut++
		case body != "fast":
			t.Errorf("POST %d: status %d, body %q", i, status, body)
		}
	}
	// A POST cut by the per-try timeout may reach the slow instance after
	// its client got the 504: wait for the two, then check there are no more.
	waitFor(t, 30*time.Second, func() bool { return slow.posts.Load() >= 2 })
	if got, want := slow.posts.Load(), int64(2); got != want {
		t.Errorf("slow instance saw %d POSTs, want %d (its breaker opens after two timed-out attempts)", got, want)
	}
	if got, want := timedOut, 2; got != want {
		t.Errorf("%d POSTs timed out, want %d", got, want)
	}
	states := g.Upstreams()[0].Breakers
	var open []string
	for _, list := range states {
		for _, s := range list {
			if s.State == resilience.StateOpen {
				open = append(open, s.Key)
			}
		}
	}
	if got, want := strings.Join(open, ","), strings.TrimPrefix(slow.URL, "http://"); got != want {
		t.Errorf("open breakers %q, want the slow instance's %q", got, want)
	}
}

const hedgeConfig = `
upstreams:
  - name: svc
    balancer: round_robin
    instances: [{url: "${SLOW}"}, {url: "${FAST}"}]
routes:
  - prefix: /
    upstream: svc
    policy:
      hedge: {delay: "${DELAY}", max_extra: 1, budget: 0.5}
`

func TestHedgeFromTheConfigFile(t *testing.T) {
	t.Parallel()
	slow, fast, _ := slowAndFast(t, time.Minute)
	for _, c := range []struct{ delay, stage string }{
		{"20ms", "hedge(delay=20ms, max_extra=1)"},
		{"p95", "hedge(delay=p95, max_extra=1)"},
	} {
		cfg, err := config.Parse("gw.yaml", []byte(hedgeConfig), envOf(map[string]string{"SLOW": slow.URL, "FAST": fast.URL, "DELAY": c.delay}))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := cfg.Routes[0].Policy.Hedge.Delay.String(), c.delay; got != want {
			t.Errorf("delay %q decoded as %q", want, got)
		}
		g, err := cfg.Build()
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(g)
		if !slices.Contains(g.Routes()[0].Chain, c.stage) {
			t.Errorf("chain %v lacks %q", g.Routes()[0].Chain, c.stage)
		}
		for range 2 {
			if _, body := sendBody(t, http.MethodGet, srv.URL+"/"); body != "fast" {
				t.Errorf("delay %s: answered by %q, want %q", c.delay, body, "fast")
			}
		}
		srv.Close()
		g.Close()
	}
}

func TestHedgeConfigMistakesNameTheField(t *testing.T) {
	t.Parallel()
	base := "upstreams:\n  - name: a\n    instances: [{url: \"http://127.0.0.1:1\"}]\nroutes:\n  - path: /\n    upstream: a\n    policy:\n      hedge: "
	for _, c := range []struct{ name, hedge, want string }{
		{"a delay that is neither a duration nor a percentile", "{delay: soon}", `routes[0].policy.hedge.delay: "soon" is neither a duration`},
		{"a percentile past 100", "{delay: p100}", `routes[0].policy.hedge.delay: "p100" is not a percentile`},
		{"a negative delay", "{delay: -5ms}", "routes[0].policy.hedge.delay: must not be negative"},
		{"a negative max_extra", "{max_extra: -1}", "routes[0].policy.hedge.max_extra: must not be negative"},
		{"a budget above 1", "{budget: 2}", "routes[0].policy.hedge.budget: must be a share"},
		{"an unknown field", "{delay: 5ms, after: 1s}", "routes[0].policy.hedge.after: unknown field"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Parse("gw.yaml", []byte(base+c.hedge+"\n"), envOf(nil))
			if err == nil {
				var g *gateway.Gateway
				if g, err = cfg.Build(); err == nil {
					g.Close()
					t.Fatal("no error")
				}
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func TestHedgeBuilderMistakesNameTheField(t *testing.T) {
	t.Parallel()
	_, err := gateway.New(gateway.WithUpstream(upstreamOf(t, "a", echoServer(t, "a"))),
		gateway.WithRoute(gateway.Route{
			Name:     "r",
			Prefix:   "/",
			Upstream: "a",
			Policy:   gateway.Policy{Hedge: &gateway.Hedge{Delay: gateway.HedgeDelay{Quantile: 1.5}}},
		}))
	if err == nil {
		t.Fatal("no error for a quantile of 1.5")
	}
	if got, want := err.Error(), "policy.hedge.delay: the quantile must be between 0 and 1"; !strings.Contains(got, want) {
		t.Errorf("error %q does not contain %q", got, want)
	}
}

// TestHedgeRecordsAndMetrics: each call record says how many hedges the
// call sent and whether one won, and the resilience metrics count them.
func TestHedgeRecordsAndMetrics(t *testing.T) {
	t.Parallel()
	slow, _, pool := slowAndFast(t, time.Minute)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	g, err := gateway.New(gateway.WithLogger(quiet), gateway.WithMeterProvider(mp), gateway.WithUpstream(pool),
		gateway.WithRoute(gateway.Route{Prefix: "/", Upstream: "svc",
			Policy: gateway.Policy{Hedge: &gateway.Hedge{Delay: gateway.HedgeDelay{After: 20 * time.Millisecond}}}}))
	if err != nil {
		t.Fatal(err)
	}
	var records []calllog.Record
	rec := calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{calllog.SinkFunc(func(_ context.Context, b []calllog.Record) error {
		records = append(records, b...)
		return nil
	})}})
	srv := httptest.NewServer(calllog.Middleware(calllog.MiddlewareConfig{Recorder: rec})(g))
	t.Cleanup(func() { srv.Close(); g.Close() })

	const gets = 6
	for range gets {
		sendBody(t, http.MethodGet, srv.URL+"/")
	}
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := len(records), gets; got != want {
		t.Fatalf("%d records, want %d", got, want)
	}
	var hedges, won int
	for _, r := range records {
		hedges += r.Hedges
		if r.HedgeWon {
			won++
		}
	}
	// A request the slow instance got first may reach it after the hedge
	// answered: wait for as many as the records count, then compare.
	waitFor(t, 30*time.Second, func() bool { return slow.started.Load() >= int64(hedges) })
	if got, want := hedges, int(slow.started.Load()); got != want {
		t.Errorf("records count %d hedges, want %d (one per request the slow instance got first)", got, want)
	}
	if got, want := won, hedges; got != want {
		t.Errorf("records count %d hedges won, want %d", got, want)
	}
	sums := counters(t, reader)
	if got, want := sums["portico.resilience.hedges"], int64(hedges); got != want {
		t.Errorf("portico.resilience.hedges = %d, want %d", got, want)
	}
	if got, want := sums["portico.resilience.hedge_wins"], int64(won); got != want {
		t.Errorf("portico.resilience.hedge_wins = %d, want %d", got, want)
	}
}

// counters sums every int64 counter the reader has, by name.
func counters(t *testing.T, r *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if d, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range d.DataPoints {
					out[m.Name] += dp.Value
				}
			}
		}
	}
	return out
}

// TestHedgeTakesEffectOnReload: a reload that adds hedging to a route
// hedges its next requests, on the pool the reload kept.
func TestHedgeTakesEffectOnReload(t *testing.T) {
	t.Parallel()
	slow, fast, _ := slowAndFast(t, time.Minute)
	var delay atomic.Value
	delay.Store("")
	load := func(st *gateway.State) (*gateway.Gateway, error) {
		cfg := "upstreams:\n  - name: svc\n    balancer: round_robin\n    instances: [{url: \"" + slow.URL + "\"}, {url: \"" + fast.URL + "\"}]\n" +
			"routes:\n  - prefix: /\n    upstream: svc\n"
		if d := delay.Load().(string); d != "" {
			cfg += "    policy: {hedge: {delay: " + d + "}}\n"
		}
		c, err := config.Parse("gw.yaml", []byte(cfg), envOf(nil))
		if err != nil {
			return nil, err
		}
		return c.Build(gateway.WithState(st), gateway.WithLogger(quiet))
	}
	r, err := config.NewReloader(config.ReloadConfig{Load: load, Logger: quiet, Drain: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	if slices.ContainsFunc(r.Current().Routes()[0].Chain, func(s string) bool { return strings.HasPrefix(s, "hedge") }) {
		t.Fatal("a route without hedge lists a hedge stage")
	}
	delay.Store("20ms")
	if err := r.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if _, body := sendBody(t, http.MethodGet, srv.URL+"/"); body != "fast" {
			t.Errorf("GET %d after the reload answered by %q, want %q", i, body, "fast")
		}
	}
	if slow.started.Load() == 0 {
		t.Error("no request went to the slow instance first: no hedge was exercised")
	}
}
