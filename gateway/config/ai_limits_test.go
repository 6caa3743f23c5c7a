package config_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/ai"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/redistest"
	"github.com/portico-dev/portico/middleware/ratelimit"
)

// llm is an OpenAI-compatible provider on a loopback port. Each chat call
// reports 5 prompt tokens and the completion tokens of output (given the
// call's max_tokens); while gate is open it holds every call until the
// gate is closed, and while failing is set it answers with that status.
type llm struct {
	*httptest.Server
	output  func(maxTokens int64) int64
	arrived atomic.Int64
	failing atomic.Int64
	mu      sync.Mutex
	gate    chan struct{}
}

func newLLM(t *testing.T, output func(maxTokens int64) int64) *llm {
	t.Helper()
	l := &llm{output: output}
	l.Server = httptest.NewServer(http.HandlerFunc(l.serve))
	t.Cleanup(func() {
		l.open()
		l.CloseClientConnections()
		l.Close()
	})
	return l
}

// hold makes calls wait until open.
func (l *llm) hold() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gate = make(chan struct{})
}

// open lets held calls and later ones through.
func (l *llm) open() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gate != nil {
		close(l.gate)
		l.gate = nil
	}
}

func (l *llm) serve(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model     string `json:"model"`
		MaxTokens int64  `json:"max_completion_tokens"`
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	if status := l.failing.Load(); status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(status))
		_, _ = io.WriteString(w, `{"error":{"message":"the call failed","type":"server_error"}}`)
		return
	}
	l.arrived.Add(1)
	l.mu.Lock()
	gate := l.gate
	l.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	out := l.output(req.MaxTokens)
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":%q,`+
		`"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],`+
		`"usage":{"prompt_tokens":5,"completion_tokens":%d,"total_tokens":%d}}`, req.Model, out, 5+out)
}

// limitsConfig is a gateway whose alias "m" is served by up at $1,000 per
// million tokens, input or output ($0.001 a token), under the ai section
// lines extra; redis, if set, is the address of the shared store.
func limitsConfig(up *llm, extra, redis, prefix string) string {
	cfg := "consumers: [{id: alice, api_keys: [{id: k1, secret: alice-key}]}]\n" +
		"ai:\n  providers: [{name: up, type: openai, api_key: sk-test, base_url: \"" + up.URL + "/v1\"}]\n" +
		"  models: [{alias: m, candidates: [{provider: up, model: gpt-x}]}]\n" +
		"  prices: {gpt-x: {input: 1000, output: 1000}}\n" + extra
	if redis != "" {
		cfg += "store: {redis: {address: \"" + redis + "\", prefix: \"" + prefix + "\", timeout: 5s}}\n"
	}
	return cfg
}

// chatCall makes one call of "hi" (5 input tokens by the gateway's
// estimate) asking for maxTokens, and returns its status and body.
func chatCall(t *testing.T, url string, maxTokens int) (int, string) {
	t.Helper()
	status, _, body := gwtest.AIPost(t, url+"/v1/chat/completions", "alice-key",
		fmt.Sprintf(`{"model":"m","max_tokens":%d,"messages":[{"role":"user","content":"hi"}]}`, maxTokens))
	return status, body
}

// fleet is the gateways of a test: where calls go, and what happens
// halfway through a burst.
type fleet struct {
	urls []string
	// mid, if set, runs when the first half of a burst is admitted or
	// refused and before the second half is sent: a reload.
	mid func(t *testing.T)
}

// fleets starts the gateways of each way to run the config: one in
// memory, one in memory reloaded mid-flight, two sharing a redis-server,
// and two sharing it with one of them reloaded mid-flight.
func fleets(t *testing.T, cfgOf func(redis, prefix string) string, opts ...gateway.Option) map[string]func(t *testing.T) fleet {
	t.Helper()
	build := func(t *testing.T, cfg string) string {
		c, err := config.Parse("ai.yaml", []byte(cfg), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		g, err := c.Build(append([]gateway.Option{gateway.WithLogger(gwtest.Quiet)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = g.Close() })
		return gwtest.Serve(t, g)
	}
	reloaded := func(t *testing.T, cfg string) (string, func(t *testing.T)) {
		path := filepath.Join(t.TempDir(), "gateway.yaml")
		gwtest.WriteFile(t, path, cfg)
		rl, err := config.NewReloader(config.ReloadConfig{
			Load: func(st *gateway.State) (*gateway.Gateway, error) {
				return config.LoadGateway(path, append([]gateway.Option{gateway.WithLogger(gwtest.Quiet), gateway.WithState(st)}, opts...)...)
			},
			Path:   path,
			Drain:  30 * time.Second,
			Logger: gwtest.Quiet,
		})
		if err != nil {
			t.Fatal(err)
		}
		url := gwtest.Serve(t, rl)
		t.Cleanup(func() { _ = rl.Close() })
		return url, func(t *testing.T) {
			// A file with an unrelated change, as an operator's edit.
			gwtest.WriteFile(t, path, cfg+"trusted_proxies: [10.9.9.9]\n")
			if err := rl.Reload(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	return map[string]func(t *testing.T) fleet{
		"in memory": func(t *testing.T) fleet {
			return fleet{urls: []string{build(t, cfgOf("", ""))}}
		},
		"in memory, reloaded mid-flight": func(t *testing.T) fleet {
			url, reload := reloaded(t, cfgOf("", ""))
			return fleet{urls: []string{url}, mid: reload}
		},
		"two gateways sharing redis": func(t *testing.T) fleet {
			rs := redistest.Start(t)
			cfg := cfgOf(rs.Addr(), "test:"+t.Name()+":")
			return fleet{urls: []string{build(t, cfg), build(t, cfg)}}
		},
		"two gateways sharing redis, one reloaded mid-flight": func(t *testing.T) fleet {
			rs := redistest.Start(t)
			cfg := cfgOf(rs.Addr(), "test:"+t.Name()+":")
			url, reload := reloaded(t, cfg)
			return fleet{urls: []string{url, build(t, cfg)}, mid: reload}
		},
	}
}

// burst sends n concurrent calls for maxTokens while up holds them,
// spread over f's gateways, half before f.mid and half after; once every
// call is either held by up or refused, it lets them through. It returns
// how many calls up received and the statuses of the refused ones.
func burst(t *testing.T, f fleet, up *llm, n, maxTokens int) (admitted int64, refused map[int]int) {
	t.Helper()
	up.hold()
	before := up.arrived.Load()
	var wg sync.WaitGroup
	var mu sync.Mutex
	refused = map[int]int{}
	var answered atomic.Int64
	send := func(from, to int) {
		for i := from; i < to; i++ {
			wg.Go(func() {
				status, body := chatCall(t, f.urls[i%len(f.urls)], maxTokens)
				if status != http.StatusOK {
					mu.Lock()
					refused[status]++
					mu.Unlock()
					answered.Add(1)
					if status != http.StatusTooManyRequests {
						t.Errorf("call %d: status %d: %s", i, status, body)
					}
				}
			})
		}
	}
	// settled waits until m calls are held by up or answered.
	settled := func(m int64) {
		deadline := time.Now().Add(time.Minute)
		for up.arrived.Load()-before+answered.Load() < m {
			if time.Now().After(deadline) {
				t.Fatalf("%d calls of %d held or answered after a minute", up.arrived.Load()-before+answered.Load(), m)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	send(0, n/2)
	if f.mid != nil {
		settled(int64(n / 2))
		f.mid(t)
	}
	send(n/2, n)
	settled(int64(n))
	admitted = up.arrived.Load() - before
	up.open()
	wg.Wait()
	return admitted, refused
}

func TestConcurrentCallsNeverCrossABudget(t *testing.T) {
	t.Parallel()
	// A call of "hi" for 90 tokens may cost $0.095 (5 + 90 tokens at
	// $0.001), so a budget of $1 holds the reservations of 10 calls, not
	// 11. Each call then uses 5 + 5 tokens: $0.010.
	const n, maxTokens, reserve, cost, budget = 20, 90, 0.095, 0.010, 1.0
	up := newLLM(t, func(int64) int64 { return 5 })
	cfgOf := func(redis, prefix string) string {
		return limitsConfig(up, "  budgets: [{usd: 1, period: day}]\n", redis, prefix)
	}
	for name, start := range fleets(t, cfgOf) {
		t.Run(name, func(t *testing.T) {
			f := start(t)
			admitted, refused := burst(t, f, up, n, maxTokens)
			t.Logf("%d concurrent calls against a budget of $%.2f for 10: %d admitted, %d refused (429), spend $%.3f",
				n, budget, admitted, refused[http.StatusTooManyRequests], float64(admitted)*cost)
			if got, want := admitted, int64(10); got != want {
				t.Errorf("admitted %d calls, want %d", got, want)
			}
			if got, want := refused[http.StatusTooManyRequests], n-10; got != want {
				t.Errorf("refused %d calls with 429, want %d", got, want)
			}
			if spend := float64(admitted) * reserve; spend > budget {
				t.Errorf("the admitted calls may cost $%.3f, more than the budget $%.2f", spend, budget)
			}
			// Reconciled, the 10 calls spent $0.10: $0.90 is left, which
			// holds the reservations of 9 calls.
			admitted, _ = burst(t, f, up, n, maxTokens)
			t.Logf("then %d more concurrent calls: %d admitted, total spend $%.3f", n, admitted, float64(10+admitted)*cost)
			if got, want := admitted, int64(9); got != want {
				t.Errorf("after reconciliation, admitted %d calls, want %d", got, want)
			}
		})
	}
}

func TestACallThatFailsUpstreamReleasesItsReservation(t *testing.T) {
	t.Parallel()
	// One call of "hi" for 90 tokens reserves 95 tokens and $0.095: the
	// token limit and the budget each hold one such reservation.
	up := newLLM(t, func(int64) int64 { return 5 })
	cfgOf := func(redis, prefix string) string {
		return limitsConfig(up, "  limits: [{tokens: 100, window: 1h}]\n  budgets: [{usd: 0.1, period: day}]\n", redis, prefix)
	}
	for name, start := range fleets(t, cfgOf) {
		t.Run(name, func(t *testing.T) {
			f := start(t)
			// A call the provider fails (retried, then answered 5xx), and
			// a stream it refuses (a 400, not retried, so that the
			// provider's circuit stays closed).
			up.failing.Store(http.StatusInternalServerError)
			status, body := chatCall(t, f.urls[0], 90)
			if status < 500 {
				t.Fatalf("the failing call: status %d, want a 5xx: %s", status, body)
			}
			up.failing.Store(http.StatusBadRequest)
			status, _, body = gwtest.AIPost(t, f.urls[0]+"/v1/chat/completions", "alice-key",
				`{"model":"m","stream":true,"max_tokens":90,"messages":[{"role":"user","content":"hi"}]}`)
			up.failing.Store(0)
			if got, want := status, http.StatusBadRequest; got != want {
				t.Fatalf("the refused stream: status %d, want %d: %s", got, want, body)
			}
			if f.mid != nil {
				f.mid(t)
			}
			// Without the failed call's reservations back, this one fits
			// neither the token limit nor the budget.
			if status, body := chatCall(t, f.urls[len(f.urls)-1], 90); status != http.StatusOK {
				t.Errorf("the call after the failed one: status %d, want 200: %s", status, body)
			}
			// That call used 10 tokens and $0.010: 90 tokens and $0.090
			// are left, too little for another 95.
			if status, _ := chatCall(t, f.urls[0], 90); status != http.StatusTooManyRequests {
				t.Errorf("a call that does not fit: status %d, want 429", status)
			}
		})
	}
}

func TestAILimitsAdmitNoDoubleBurstAtAWindowEdge(t *testing.T) {
	t.Parallel()
	const limit, window = 6, time.Minute
	tests := []struct {
		name, limit string
		maxTokens   int
	}{
		{"a request limit", "requests: 6", 5},
		// Each call reserves 5 + 95 tokens and uses as many: 6 fit.
		{"a token limit", "tokens: 600", 95},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := newLLM(t, func(maxTokens int64) int64 { return maxTokens })
			cfgOf := func(redis, prefix string) string {
				return limitsConfig(up, "  limits: [{"+tt.limit+", window: 1m}]\n", redis, prefix)
			}
			// The clock starts half a minute before the edge of a fixed
			// minute, where fixed windows would admit the limit twice.
			t0 := time.Date(2030, 1, 1, 12, 0, 30, 0, time.UTC)
			var now atomic.Int64
			clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
			for name, start := range fleets(t, cfgOf, gateway.WithClock(clock)) {
				t.Run(name, func(t *testing.T) {
					now.Store(t0.UnixNano())
					f := start(t)
					var admitted []time.Time
					var retries []string
					// Every 5s for 200s, 3 concurrent calls; the reload, if
					// any, halfway.
					for step := range 40 {
						at := t0.Add(time.Duration(step) * 5 * time.Second)
						now.Store(at.UnixNano())
						if step == 20 && f.mid != nil {
							f.mid(t)
						}
						var mu sync.Mutex
						var wg sync.WaitGroup
						for i := range 3 {
							wg.Go(func() {
								status, hdr, body := gwtest.AIPost(t, f.urls[(step+i)%len(f.urls)]+"/v1/chat/completions", "alice-key",
									fmt.Sprintf(`{"model":"m","max_tokens":%d,"messages":[{"role":"user","content":"hi"}]}`, tt.maxTokens))
								mu.Lock()
								defer mu.Unlock()
								switch {
								case status == http.StatusOK:
									admitted = append(admitted, at)
								case status != http.StatusTooManyRequests:
									t.Errorf("%v: status %d: %s", at, status, body)
								case step == 6:
									retries = append(retries, hdr.Get("Retry-After"))
								}
							})
						}
						wg.Wait()
					}
					most := 0
					for _, from := range admitted {
						n := 0
						for _, a := range admitted {
							if !a.Before(from) && a.Before(from.Add(window)) {
								n++
							}
						}
						most = max(most, n)
					}
					t.Logf("%d calls admitted in 200s; at most %d in any minute (limit %d)", len(admitted), most, limit)
					if most > limit {
						t.Errorf("%d calls admitted within one minute, more than the limit %d", most, limit)
					}
					if got, want := len(admitted), 3*limit; got < want {
						t.Errorf("%d calls admitted in 200s, want at least %d: the window never frees", got, want)
					}
					// At the edge (12:01:00) the calls of 12:00:30 still
					// count, until they leave the window at 12:01:31.
					for _, r := range retries {
						if got, want := r, "31"; got != want {
							t.Errorf("Retry-After at the edge = %q, want %q", got, want)
						}
					}
					if got, want := len(retries), 3; got != want {
						t.Errorf("%d calls refused at the edge, want %d", got, want)
					}
				})
			}
		})
	}
}

func TestSharedBudgetsWithLocalLimitsAreLoggedAtBuild(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	g, err := gateway.New(
		gateway.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))),
		gateway.WithStores(gateway.Stores{Quotas: ratelimit.NewMemoryCounters(nil)}),
		config.WithAI(config.AI{
			Providers: []config.AIProvider{{Name: "d", Type: "demo"}},
			Models:    []config.AIModel{{Alias: "m", Candidates: []config.AICandidate{{Provider: "d"}}}},
			Limits:    []ai.Limit{{Requests: 10}},
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if !strings.Contains(logs.String(), "set Stores.Windows") {
		t.Errorf("no warning that AI limits are not shared:\n%s", logs.String())
	}
}
