package resilience_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/resilience"
)

// admissionServer serves handler behind the middleware.
func admissionServer(t *testing.T, cfg resilience.AdmissionConfig, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(resilience.Middleware(cfg)(h))
	t.Cleanup(srv.Close)
	return srv
}

func TestMiddlewareRejections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		cfg        resilience.AdmissionConfig
		second     func(r *http.Request)
		wantStatus int
		wantRetry  string
		wantErr    error
	}{
		{
			name:       "a full concurrency limit answers 503 with Retry-After",
			cfg:        resilience.AdmissionConfig{MaxConcurrent: 1},
			wantStatus: 503,
			wantRetry:  "1",
			wantErr:    resilience.ErrLimitExceeded,
		},
		{
			name:       "a full adaptive limit answers 503",
			cfg:        resilience.AdmissionConfig{Adaptive: &resilience.AdaptiveConfig{MinLimit: 1, InitialLimit: 1, MaxLimit: 1}},
			wantStatus: 503,
			wantRetry:  "1",
			wantErr:    resilience.ErrLimitExceeded,
		},
		{
			name: "a client over its own share answers 429",
			cfg: resilience.AdmissionConfig{PerKey: 1, RetryAfter: 2500 * time.Millisecond,
				Key: func(r *http.Request) string { return r.Header.Get("X-Client") }},
			wantStatus: 429,
			wantRetry:  "3",
			wantErr:    resilience.ErrBulkheadFull,
		},
		{
			name: "a non-critical request is shed at the threshold",
			cfg: resilience.AdmissionConfig{MaxConcurrent: 2, ShedAt: 0.5,
				Critical: func(r *http.Request) bool { return r.URL.Path == "/critical" }},
			wantStatus: 503,
			wantRetry:  "1",
			wantErr:    resilience.ErrShed,
		},
		{
			name: "a critical request is admitted above the shedding threshold",
			cfg: resilience.AdmissionConfig{MaxConcurrent: 2, ShedAt: 0.5,
				Critical: func(r *http.Request) bool { return r.URL.Path == "/critical" }},
			second:     func(r *http.Request) { r.URL.Path = "/critical" },
			wantStatus: 200,
		},
		{
			name:       "another client keeps its own share",
			cfg:        resilience.AdmissionConfig{PerKey: 1, Key: func(r *http.Request) string { return r.Header.Get("X-Client") }},
			second:     func(r *http.Request) { r.Header.Set("X-Client", "b") },
			wantStatus: 200,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			release := newGate()
			var entered atomic.Int64
			var rejectErr atomic.Value
			tt.cfg.OnReject = func(_ *http.Request, err error) { rejectErr.Store(err) }
			srv := admissionServer(t, tt.cfg, func(w http.ResponseWriter, r *http.Request) {
				if entered.Add(1) == 1 {
					release.wait(r)
				}
				io.WriteString(w, "served")
			})
			t.Cleanup(release.open)
			client := srv.Client()
			done := make(chan struct{})
			go func() {
				defer close(done)
				req, _ := http.NewRequest(http.MethodGet, srv.URL+"/first", nil)
				req.Header.Set("X-Client", "a")
				if resp, err := client.Do(req); err == nil {
					resp.Body.Close()
				}
			}()
			eventually(t, "the first request to be served", func() bool { return entered.Load() == 1 })
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/second", nil)
			req.Header.Set("X-Client", "a")
			if tt.second != nil {
				tt.second(req)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			release.open()
			<-done
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, body, tt.wantStatus)
			}
			if tt.wantStatus == 200 {
				return
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(body), &doc); err != nil {
				t.Fatalf("body %q is not JSON: %v", body, err)
			}
			if got, want := resp.Header.Get("Content-Type"), "application/problem+json"; got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			if got, want := doc["status"], float64(tt.wantStatus); got != want {
				t.Errorf("document status = %v, want %v (document %v)", got, want, doc)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.wantRetry {
				t.Fatalf("Retry-After = %q, want %q", got, tt.wantRetry)
			}
			if err, _ := rejectErr.Load().(error); !errors.Is(err, tt.wantErr) {
				t.Fatalf("OnReject got %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestMiddlewareQueuesUpToMaxWait(t *testing.T) {
	t.Parallel()
	release := newGate()
	var entered atomic.Int64
	srv := admissionServer(t, resilience.AdmissionConfig{MaxConcurrent: 1, MaxWait: time.Minute},
		func(_ http.ResponseWriter, r *http.Request) {
			if entered.Add(1) == 1 {
				release.wait(r)
			}
		})
	t.Cleanup(release.open)
	var wg sync.WaitGroup
	codes := make(chan int, 2)
	for range 2 {
		wg.Go(func() {
			resp, err := srv.Client().Get(srv.URL)
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	eventually(t, "the first request to be served", func() bool { return entered.Load() == 1 })
	release.open()
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Fatalf("status = %d, want both requests served after queueing", c)
		}
	}
}

func TestAdaptiveLimitFallsWhenLatencyRises(t *testing.T) {
	t.Parallel()
	var slow atomic.Bool
	type change struct {
		old, new int
		slow     bool
	}
	changes := make(chan change, 1024)
	srv := admissionServer(t, resilience.AdmissionConfig{
		MaxWait: time.Second,
		Adaptive: &resilience.AdaptiveConfig{
			MinLimit:       1,
			InitialLimit:   20,
			MaxLimit:       100,
			MaxLimitFactor: 100,
			Window:         20 * time.Millisecond,
			MinSamples:     5,
			OnLimitChange: func(o, n int) {
				select {
				case changes <- change{o, n, slow.Load()}:
				default:
				}
			},
		},
	}, func(w http.ResponseWriter, _ *http.Request) {
		if slow.Load() {
			time.Sleep(40 * time.Millisecond)
		} else {
			time.Sleep(time.Millisecond)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
				if resp, err := srv.Client().Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		})
	}
	defer func() { cancel(); wg.Wait() }()
	time.Sleep(300 * time.Millisecond) // let the baseline settle on fast responses
	slow.Store(true)
	deadline := time.After(20 * time.Second)
	for {
		select {
		case c := <-changes:
			if c.slow && c.new < c.old {
				return // the limit fell once latency rose
			}
		case <-deadline:
			t.Fatal("the adaptive limit never fell after latency rose")
		}
	}
}
