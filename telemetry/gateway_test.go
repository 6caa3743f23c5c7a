package telemetry_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/telemetry"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// proxied builds a gateway with the providers p and a route whose
// upstream answers 503 to its first `fail` calls. It returns the gateway's
// URL and the traceparent headers the upstream saw.
func proxied(t *testing.T, p *telemetry.Providers, fail int32) (string, func() []string) {
	t.Helper()
	var calls atomic.Int32
	var mu sync.Mutex
	var seen []string
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Traceparent")+r.Header.Get("B3"))
		mu.Unlock()
		if calls.Add(1) <= fail {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(svc.Close)
	return newGateway(t, p, svc.URL), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// newGateway builds a gateway with the providers p and a retried route
// to target, and returns its URL.
func newGateway(t *testing.T, p *telemetry.Providers, target string) string {
	t.Helper()
	items, err := upstream.New(upstream.Config{Name: "items", Instances: []upstream.Instance{{URL: target}}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(
		gateway.WithLogger(slog.New(slog.DiscardHandler)),
		gateway.WithTracerProvider(p.TracerProvider),
		gateway.WithMeterProvider(p.MeterProvider),
		gateway.WithPropagator(p.Propagator),
		gateway.WithChain("request_id", "telemetry"),
		gateway.WithUpstream(items),
		gateway.WithRoute(gateway.Route{
			Name:     "items",
			Path:     "/items/{id}",
			Upstream: "items",
			Policy:   gateway.Policy{Timeout: 10 * time.Second, Retry: &gateway.Retry{Attempts: 3, Backoff: time.Millisecond}},
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv.URL
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestSetupExportsTheSpansOfAProxiedRequestWithRetries(t *testing.T) {
	t.Parallel()
	for _, protocol := range []string{telemetry.ProtocolGRPC, telemetry.ProtocolHTTP} {
		t.Run(protocol, func(t *testing.T) {
			t.Parallel()
			r := &receiver{}
			cfg := telemetry.Config{
				Protocol:    protocol,
				Insecure:    true,
				ServiceName: "edge",
				Resource:    map[string]string{"deployment.environment": "test"},
			}
			if protocol == telemetry.ProtocolGRPC {
				cfg.Endpoint = startGRPC(t, r)
			} else {
				cfg.Endpoint = startHTTP(t, r)
			}
			p, err := telemetry.Setup(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			url, seen := proxied(t, p, 2)
			if status, _ := get(t, url+"/items/7"); status != http.StatusOK {
				t.Fatalf("status = %d, want 200", status)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := p.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			checkTree(t, r.Spans(), seen())
			if r.Metrics() == 0 {
				t.Error("no metrics were exported")
			}
		})
	}
}

// checkTree checks one server span for the route with three client spans,
// one per upstream attempt, as its children, in one trace that reached the
// upstream.
func checkTree(t *testing.T, spans []*tracepb.Span, traceparents []string) {
	t.Helper()
	var server *tracepb.Span
	var clients []*tracepb.Span
	for _, s := range spans {
		switch s.GetKind() {
		case tracepb.Span_SPAN_KIND_SERVER:
			server = s
		case tracepb.Span_SPAN_KIND_CLIENT:
			clients = append(clients, s)
		}
	}
	if server == nil {
		t.Fatalf("no server span among %d spans", len(spans))
	}
	if got, want := server.GetName(), "GET /items/{id}"; got != want {
		t.Errorf("server span name = %q, want %q", got, want)
	}
	if got := len(server.GetParentSpanId()); got != 0 {
		t.Errorf("server span has a parent (%d bytes), want a root", got)
	}
	if got, want := len(clients), 3; got != want {
		t.Fatalf("client spans = %d, want %d (one per attempt)", got, want)
	}
	traceID := hex.EncodeToString(server.GetTraceId())
	for i, c := range clients {
		if got, want := hex.EncodeToString(c.GetParentSpanId()), hex.EncodeToString(server.GetSpanId()); got != want {
			t.Errorf("client span %d parent = %s, want the server span %s", i, got, want)
		}
		if got := hex.EncodeToString(c.GetTraceId()); got != traceID {
			t.Errorf("client span %d trace = %s, want %s", i, got, traceID)
		}
	}
	if got, want := len(traceparents), 3; got != want {
		t.Fatalf("upstream calls = %d, want %d", got, want)
	}
	for i, tp := range traceparents {
		if !strings.Contains(tp, traceID) {
			t.Errorf("attempt %d carried %q, want trace %s", i, tp, traceID)
		}
	}
}

func TestProblemDocumentsCarryTheTraceID(t *testing.T) {
	t.Parallel()
	r := &receiver{}
	p, err := telemetry.Setup(context.Background(), telemetry.Config{Endpoint: startGRPC(t, r), Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close() // nothing listens there any more
	status, body := get(t, newGateway(t, p, gone.URL)+"/items/7")
	if got, want := status, http.StatusBadGateway; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}
	var doc struct {
		TraceID string `json:"trace_id"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var server string
	for _, s := range r.Spans() {
		if s.GetKind() == tracepb.Span_SPAN_KIND_SERVER {
			server = hex.EncodeToString(s.GetTraceId())
		}
	}
	if got, want := doc.TraceID, server; got != want {
		t.Errorf("problem trace_id = %q, want the server span's %q (body %s)", got, want, body)
	}
}
