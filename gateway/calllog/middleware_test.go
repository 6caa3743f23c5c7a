package calllog_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

func TestMiddlewareRecordsOneRecordPerRequest(t *testing.T) {
	t.Parallel()
	ring := calllog.NewRing(100)
	rec := calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{ring}})
	defer closeRecorder(t, rec)
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		if c := calllog.FromContext(r.Context()); c != nil {
			c.Upstream, c.Retries = "10.0.0.7:8080", 1
		}
		_, _ = io.WriteString(w, "order "+r.PathValue("id"))
	})
	mux.HandleFunc("POST /chat", func(w http.ResponseWriter, r *http.Request) {
		c := calllog.FromContext(r.Context())
		c.Model, c.InputTokens, c.OutputTokens, c.Cost = "gpt-x", 12, 30, 0.002
		w.WriteHeader(http.StatusGatewayTimeout)
		c.Error = "timeout"
	})
	mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	authn := auth.AuthenticatorFunc(func(r *http.Request) (*middleware.Consumer, error) {
		if r.Header.Get("X-Test-Consumer") == "" {
			return nil, auth.ErrNoCredentials
		}
		return &middleware.Consumer{ID: r.Header.Get("X-Test-Consumer"), Tenant: "acme"}, nil
	})
	h := middleware.Chain(
		middleware.RequestID(middleware.RequestIDConfig{}),
		middleware.Recover(middleware.RecoverConfig{}),
		middleware.Telemetry(middleware.TelemetryConfig{TracerProvider: tp, Propagator: propagation.TraceContext{}}),
		auth.New(auth.Config{Authenticators: []auth.Authenticator{authn}, Anonymous: true}),
		calllog.Middleware(calllog.MiddlewareConfig{Recorder: rec, API: func(*http.Request) string { return "shop" }}),
	)(mux)
	srv := httptest.NewServer(h)
	defer srv.Close()

	send := func(method, path, consumer, body string) {
		req, _ := http.NewRequestWithContext(context.Background(), method, srv.URL+path, strings.NewReader(body))
		if consumer != "" {
			req.Header.Set("X-Test-Consumer", consumer)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	send(http.MethodGet, "/orders/7", "billing", "")
	send(http.MethodPost, "/chat", "", `{"q":"hi"}`)
	send(http.MethodGet, "/panic", "billing", "")
	flush(t, rec)

	got := ring.Query(calllog.Filter{})
	if len(got) != 3 {
		t.Fatalf("got %d records, want 3", len(got))
	}
	panicked, chat, order := got[0], got[1], got[2]
	type orderFacts struct {
		Tenant, Consumer, API, Route, Method string
		Status                               int
		BytesOut                             int64
		Upstream                             string
		Retries                              int
	}
	if got, want := (orderFacts{
		Tenant:   order.Tenant,
		Consumer: order.Consumer,
		API:      order.API,
		Route:    order.Route,
		Method:   order.Method,
		Status:   order.Status,
		BytesOut: order.BytesOut,
		Upstream: order.Upstream,
		Retries:  order.Retries,
	}),
		(orderFacts{
			Tenant:   "acme",
			Consumer: "billing",
			API:      "shop",
			Route:    "/orders/{id}",
			Method:   http.MethodGet,
			Status:   200,
			BytesOut: int64(len("order 7")),
			Upstream: "10.0.0.7:8080",
			Retries:  1,
		}); got != want {
		t.Errorf("order record = %+v, want %+v", got, want)
	}
	if order.RequestID == "" {
		t.Error("order record has no request ID")
	}
	if got, want := len(order.TraceID), 32; got != want {
		t.Errorf("order record trace ID %q has %d digits, want %d", order.TraceID, got, want)
	}
	if order.Latency <= 0 {
		t.Errorf("order record latency = %v, want > 0", order.Latency)
	}
	if order.Time.IsZero() {
		t.Error("order record has no time")
	}
	type chatFacts struct {
		Consumer                  string
		Status                    int
		Error                     string
		BytesIn                   int64
		Model                     string
		InputTokens, OutputTokens int64
		Cost                      float64
		Failed                    bool
	}
	if got, want := (chatFacts{
		Consumer:     chat.Consumer,
		Status:       chat.Status,
		Error:        chat.Error,
		BytesIn:      chat.BytesIn,
		Model:        chat.Model,
		InputTokens:  chat.InputTokens,
		OutputTokens: chat.OutputTokens,
		Cost:         chat.Cost,
		Failed:       chat.Failed(),
	}),
		(chatFacts{
			Consumer:     "",
			Status:       http.StatusGatewayTimeout,
			Error:        "timeout",
			BytesIn:      10,
			Model:        "gpt-x",
			InputTokens:  12,
			OutputTokens: 30,
			Cost:         0.002,
			Failed:       true,
		}); got != want {
		t.Errorf("chat record = %+v, want %+v", got, want)
	}
	if got, want := panicked.Status, 500; got != want {
		t.Errorf("panic record status = %d, want %d", got, want)
	}
	if got, want := panicked.Error, "panic"; got != want {
		t.Errorf("panic record error = %q, want %q", got, want)
	}
}

func TestMiddlewareKeepsFlushingAndHijackingWorking(t *testing.T) {
	t.Parallel()
	rec := calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{calllog.NewRing(10)}})
	defer closeRecorder(t, rec)
	h := calllog.Middleware(calllog.MiddlewareConfig{Recorder: rec})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: one\n\n")
		if err := rc.Flush(); err != nil {
			t.Errorf("Flush through the middleware: %v", err)
		}
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			t.Errorf("SetWriteDeadline: %v", err)
		}
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "data: one\n\n" {
		t.Errorf("body %q", b)
	}
}

func TestMiddlewarePanicsWithoutARecorder(t *testing.T) {
	t.Parallel()
	defer func() {
		v := recover()
		if v == nil {
			t.Fatal("no panic, want a portico/calllog panic")
		}
		if s, _ := v.(string); !strings.HasPrefix(s, "portico/calllog:") {
			t.Errorf("recover() = %v, want a portico/calllog panic", v)
		}
	}()
	calllog.Middleware(calllog.MiddlewareConfig{})
}
