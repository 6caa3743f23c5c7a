package middleware_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/portico-dev/portico/middleware"
)

// A service puts the whole chain in front of its router.
func Example() {
	r := chi.NewRouter()
	r.Get("/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "order %s, route %s\n", chi.URLParam(r, "id"), middleware.RoutePattern(r))
	})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := middleware.Chain(
		middleware.RequestID(middleware.RequestIDConfig{}),
		middleware.Recover(middleware.RecoverConfig{Logger: logger}),
		middleware.ClientIP(middleware.ClientIPConfig{}),
		middleware.Telemetry(middleware.TelemetryConfig{}),
		middleware.AccessLog(middleware.AccessLogConfig{Logger: logger}),
		middleware.BodyLimit(1<<20),
		middleware.Timeout(middleware.TimeoutConfig{Timeout: 10 * time.Second}),
		middleware.CORS(middleware.CORSConfig{AllowedOrigins: []string{"https://app.example.com"}}),
	)(r)

	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/orders/42")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	fmt.Print(res.Status, "\n", string(body))
	fmt.Println("has request ID:", res.Header.Get("X-Request-ID") != "")
	// Output:
	// 200 OK
	// order 42, route /orders/{id}
	// has request ID: true
}

func ExampleRequestID() {
	h := middleware.RequestID(middleware.RequestIDConfig{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("handler sees:", middleware.RequestIDFrom(r.Context()))
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("X-Request-ID", "checkout-7f3a")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println("response carries:", rec.Header().Get("X-Request-ID"))
	// Output:
	// handler sees: checkout-7f3a
	// response carries: checkout-7f3a
}

func ExampleClientIP() {
	h := middleware.ClientIP(middleware.ClientIPConfig{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip, _ := middleware.ClientIPFrom(r.Context())
		fmt.Println(ip)
	}))
	for _, peer := range []string{"10.1.2.3:5000", "198.51.100.9:5000"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = peer
		req.Header.Set("X-Forwarded-For", "6.6.6.6, 203.0.113.7")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	// Output:
	// 203.0.113.7
	// 198.51.100.9
}

func ExampleBodyLimit() {
	h := middleware.BodyLimit(8)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "accepted")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("far too long a body")))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output:
	// 413 application/problem+json
}

func ExampleTimeout() {
	h := middleware.Timeout(middleware.TimeoutConfig{Timeout: time.Millisecond})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // a slow dependency that honours cancellation
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println(rec.Code)
	// Output:
	// 504
}

func ExampleCORS() {
	h := middleware.CORS(middleware.CORSConfig{
		AllowedOrigins:   []string{"https://*.example.com"},
		AllowedMethods:   []string{http.MethodPut},
		AllowCredentials: true,
		MaxAge:           time.Hour,
	})(http.NotFoundHandler())
	req := httptest.NewRequest(http.MethodOptions, "/orders/1", nil)
	req.Header.Set("Origin", "https://shop.example.com")
	req.Header.Set("Access-Control-Request-Method", http.MethodPut)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code)
	for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods", "Access-Control-Max-Age"} {
		fmt.Printf("%s: %s\n", k, rec.Header().Get(k))
	}
	// Output:
	// 204
	// Access-Control-Allow-Origin: https://shop.example.com
	// Access-Control-Allow-Credentials: true
	// Access-Control-Allow-Methods: GET, HEAD, POST, PUT
	// Access-Control-Max-Age: 3600
}

func ExampleAccessLog() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case slog.TimeKey, "duration", "request_id":
				return slog.Attr{} // vary from run to run
			}
			return a
		},
	}))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	})
	h := middleware.Chain(
		middleware.RequestID(middleware.RequestIDConfig{}),
		middleware.AccessLog(middleware.AccessLogConfig{Logger: logger}),
	)(mux)
	req := httptest.NewRequest(http.MethodGet, "/orders/42", nil)
	req.Header.Set("User-Agent", "example/1.0")
	h.ServeHTTP(httptest.NewRecorder(), req)
	// Output:
	// level=INFO msg=request method=GET route=/orders/{id} status=200 bytes_in=0 bytes_out=2 client_ip=192.0.2.1 user_agent=example/1.0
}

func ExampleRecover() {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := middleware.Recover(middleware.RecoverConfig{Logger: logger})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var orders []string
		fmt.Fprint(w, orders[3]) // an index out of range panics
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output:
	// 500 application/problem+json
}

func ExampleSetRoutePattern() {
	// A router of its own records the template it matched.
	router := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.SetRoutePattern(r, "/files/*")
	})
	h := middleware.RequestID(middleware.RequestIDConfig{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		router.ServeHTTP(w, r)
		fmt.Println(middleware.RoutePattern(r))
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/files/a/b.txt", nil))
	// Output:
	// /files/*
}

func ExampleWrapWriter() {
	h := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rw := middleware.WrapWriter(w)
			next.ServeHTTP(rw, r)
			fmt.Println(rw.Status(), rw.BytesWritten())
		})
	}(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, "created")
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", nil))
	// Output:
	// 201 7
}

func ExampleTelemetry() {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	}()

	r := chi.NewRouter()
	r.Get("/orders/{id}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "{}") })
	// Mounted outside the router, Telemetry still learns the route.
	h := middleware.Telemetry(middleware.TelemetryConfig{TracerProvider: tp, MeterProvider: mp})(r)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/orders/42", nil))

	span := spans.Ended()[0]
	fmt.Println(span.Name())
	for _, a := range span.Attributes() {
		if a.Key == "http.route" || a.Key == "http.response.status_code" {
			fmt.Println(a.Key, a.Value.String())
		}
	}
	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name == "http.server.request.duration" {
			fmt.Println(m.Name, m.Unit, m.Data.(metricdata.Histogram[float64]).DataPoints[0].Count)
		}
	}
	// Output:
	// GET /orders/{id}
	// http.route /orders/{id}
	// http.response.status_code 200
	// http.server.request.duration s 1
}

func ExampleChain() {
	say := func(name string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Println("enter", name)
				next.ServeHTTP(w, r)
				fmt.Println("leave", name)
			})
		}
	}
	h := middleware.Chain(say("outer"), say("inner"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("handler")
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	// Output:
	// enter outer
	// enter inner
	// handler
	// leave inner
	// leave outer
}

func ExampleBodyTimeout() {
	h := middleware.BodyTimeout(middleware.BodyTimeoutConfig{Stall: 50 * time.Millisecond})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			return // the read failed with ErrBodyTimeout; BodyTimeout answers
		}
		fmt.Fprintln(w, "uploaded")
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	// A client promises 100 bytes, sends one, and stalls.
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	fmt.Fprint(c, "POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 100\r\n\r\nx")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
	// Output:
	// 408 application/problem+json
}
