package gateway_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/resilience"
)

// emptyDNS resolves every name to nothing.
type emptyDNS struct{}

func (emptyDNS) LookupIPAddr(context.Context, string) ([]net.IPAddr, error) { return nil, nil }
func (emptyDNS) LookupSRV(context.Context, string, string, string) (string, []*net.SRV, error) {
	return "", nil, nil
}

func TestFailuresAreProblemDocuments(t *testing.T) {
	t.Parallel()
	// A port with nothing listening.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := "http://" + l.Addr().String()
	l.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
	}))
	t.Cleanup(slow.Close)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	dead, err := upstream.New(upstream.Config{Name: "dead", Instances: []upstream.Instance{{URL: deadAddr}}})
	if err != nil {
		t.Fatal(err)
	}
	empty, err := upstream.New(upstream.Config{Name: "empty", DNS: &upstream.DNSConfig{Name: "none.test", Port: 80, Resolver: emptyDNS{}}})
	if err != nil {
		t.Fatal(err)
	}
	g, gw := newGateway(t,
		gateway.WithUpstream(dead, empty, upstreamOf(t, "slow", slow), upstreamOf(t, "failing", failing), upstreamOf(t, "echo", echoServer(t, "echo"))),
		gateway.WithRoute(
			gateway.Route{Path: "/dead", Upstream: "dead"},
			gateway.Route{Path: "/empty", Upstream: "empty"},
			gateway.Route{Path: "/slow", Upstream: "slow", Policy: gateway.Policy{Timeout: 100 * time.Millisecond}},
			gateway.Route{Path: "/breaker", Upstream: "failing", Policy: gateway.Policy{Breaker: &gateway.Breaker{Failures: 2, Delay: time.Hour}}},
			gateway.Route{Path: "/small", Upstream: "echo", Policy: gateway.Policy{MaxBodyBytes: 8}},
		))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	g.Start(ctx)

	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		status     int
		retryAfter bool
	}{
		{name: "an unreachable upstream is 502", path: "/dead", status: 502},
		{name: "an upstream without instances is 503", path: "/empty", status: 503},
		{name: "an upstream that runs out of time is 504", path: "/slow", status: 504},
		{
			name:       "an open breaker is 503 with Retry-After",
			path:       "/breaker",
			status:     503,
			retryAfter: true,
		},
		{
			name:   "a body over the route's limit is 413",
			method: http.MethodPost,
			path:   "/small",
			body:   "0123456789abcdef",
			status: 413,
		},
		{name: "an unmatched path is 404", path: "/missing", status: 404},
	}
	// Two failures open the breaker.
	for range 2 {
		resp, err := gw.Client().Get(gw.URL + "/breaker")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("upstream 500 reached the client as %d", resp.StatusCode)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			req, _ := http.NewRequest(method, gw.URL+tt.path, strings.NewReader(tt.body))
			resp, err := gw.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != problem.ContentType {
				t.Errorf("Content-Type = %q", ct)
			}
			var doc map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
				t.Fatal(err)
			}
			if got, want := doc["status"], any(float64(tt.status)); got != want {
				t.Errorf("document status = %v, want %v", got, want)
			}
			if doc["detail"] == "" {
				t.Errorf("document without detail: %v", doc)
			}
			if strings.Contains(doc["detail"].(string), "127.0.0.1") {
				t.Errorf("the document leaks an upstream address: %v", doc)
			}
			if tt.retryAfter && resp.Header.Get("Retry-After") == "" {
				t.Error("no Retry-After")
			}
		})
	}
}

// statusWriter records the status a handler writes.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func TestClientThatLeavesIsRecordedAsResilienceStatusClientClosedRequest(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	}))
	t.Cleanup(slow.Close)
	recorded := make(chan int, 1)
	record := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			recorded <- sw.status
		})
	}
	_, srv := newGateway(t,
		gateway.WithMiddleware("record", record), gateway.WithChain("record"),
		gateway.WithUpstream(upstreamOf(t, "slow", slow)),
		gateway.WithRoute(gateway.Route{Path: "/slow", Upstream: "slow"}))

	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/slow", nil)
	go func() {
		<-arrived
		cancel()
	}()
	if resp, err := srv.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("the request succeeded; want it canceled")
	}
	select {
	case got := <-recorded:
		if want := resilience.StatusClientClosedRequest; got != want {
			t.Errorf("recorded status %d, want %d", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the gateway never finished the canceled request")
	}
}
