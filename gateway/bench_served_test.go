package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/internal/cputime"
	"github.com/portico-dev/portico/middleware"
)

// BenchmarkServedRoute compares, over loopback and through a real server
// each, a bare httputil.ReverseProxy (the gateway's transport, a pool of
// copy buffers, full duplex) with the gateway of a configuration file
// holding one plain route, served by ServerConfig.Serve with a meter
// provider, as the example gateway serves it: GET and POST with a 1 KiB
// body. gateway-no-body-limits is the same gateway without the server's
// body limits (BodyTimeout), to tell their share. The CPU time per request
// (cpu-ns/op) is the whole process's: client, proxy and upstream; compare
// the targets by the difference.
//
//	go test -run '^$' -bench ServedRoute -benchmem -count 6 ./gateway
func BenchmarkServedRoute(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"7f1c2b","status":"ok","items":[1,2,3],"note":"a small answer from the upstream"}`+"\n")
	}))
	defer up.Close()
	target, _ := url.Parse(up.URL)
	for _, c := range []struct {
		name string
		h    func(*testing.B) (http.Handler, func(context.Context, net.Listener, http.Handler) error)
	}{
		{"bare", func(*testing.B) (http.Handler, func(context.Context, net.Listener, http.Handler) error) {
			return bareProxy(target), plainServe
		}},
		{"gateway", func(b *testing.B) (http.Handler, func(context.Context, net.Listener, http.Handler) error) {
			return oneRouteGateway(b, target.Host), gateway.ServerConfig{Logger: quiet}.Serve
		}},
		{"gateway-no-body-limits", func(b *testing.B) (http.Handler, func(context.Context, net.Listener, http.Handler) error) {
			return oneRouteGateway(b, target.Host), gateway.ServerConfig{Logger: quiet, BodyStallTimeout: -1, BodyMinRate: -1}.Serve
		}},
	} {
		for _, w := range []struct {
			name string
			body []byte
		}{{"GET", nil}, {"POST", bytes.Repeat([]byte("x"), 1<<10)}} {
			b.Run(c.name+"/"+w.name, func(b *testing.B) {
				h, serve := c.h(b)
				benchServed(b, h, serve, w.body)
			})
		}
	}
}

// bareProxy is the load harness's baseline.
func bareProxy(target *url.URL) http.Handler {
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport:  upstream.NewTransport(nil),
		BufferPool: &benchBuffers{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}},
		ErrorLog:   log.New(io.Discard, "", 0),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).EnableFullDuplex()
		p.ServeHTTP(w, r)
	})
}

type benchBuffers struct{ p sync.Pool }

func (b *benchBuffers) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *benchBuffers) Put(s []byte) { b.p.Put(&s) }

func plainServe(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return srv.Serve(l)
}

// oneRouteGateway builds the gateway of a configuration file with one plain
// route to addr, with a meter provider.
func oneRouteGateway(b *testing.B, addr string) *gateway.Gateway {
	f, err := config.Parse("bench.yaml", fmt.Appendf(nil, `
upstreams:
  - {name: backend, instances: [{url: "http://%s"}]}
routes:
  - {name: bench, prefix: /bench, upstream: backend}
`, addr), nil)
	if err != nil {
		b.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	g, err := f.Build(gateway.WithLogger(quiet), gateway.WithMeterProvider(mp))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Close() })
	return g
}

// benchServed serves h with serve on loopback and sends it requests from
// 32 connections until the benchmark ends: GETs when body is nil, else
// POSTs of body. It reports the process's CPU time per request as
// cpu-ns/op.
func benchServed(b *testing.B, h http.Handler, serve func(context.Context, net.Listener, http.Handler) error, body []byte) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, l, h) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.Error(err)
		}
	}()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	defer client.CloseIdleConnections()
	u := "http://" + l.Addr().String() + "/bench/items/7"
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	defer cputime.PerOp(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			method, rd := http.MethodGet, io.Reader(nil)
			if body != nil {
				method, rd = http.MethodPost, bytes.NewReader(body)
			}
			req, _ := http.NewRequest(method, u, rd)
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

// memTransport answers every request in memory with the load harness's
// upstream answer, after reading the request body to its end.
type memTransport struct{}

func (memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{"Content-Type": {"application/json"}, "Content-Length": {"87"}},
		Body:          io.NopCloser(bytes.NewReader(memAnswer)),
		ContentLength: int64(len(memAnswer)),
		Request:       r,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
	}, nil
}

var memAnswer = []byte(`{"id":"7f1c2b","status":"ok","items":[1,2,3],"note":"a small answer from the upstream"}` + "\n")

// discardWriter is a ResponseWriter that keeps nothing but its header map.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkProxyOverhead measures what the gateway adds, per request, to
// a bare httputil.ReverseProxy, both over one in-memory transport: the
// server's body limits, normalization, the route lookup, the upstream
// headers, the pool and the upstream telemetry, without a network. On a
// busy machine, compare cpu-ns/op (the process's CPU time per request).
//
//	go test -run '^$' -bench ProxyOverhead -benchmem -count 6 ./gateway
func BenchmarkProxyOverhead(b *testing.B) {
	target, _ := url.Parse("http://backend")
	bare := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport:  memTransport{},
		BufferPool: &benchBuffers{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}},
		ErrorLog:   log.New(io.Discard, "", 0),
	}
	pool, err := upstream.New(upstream.Config{Name: "backend", Instances: []upstream.Instance{{URL: "http://backend"}}, Transport: memTransport{}})
	if err != nil {
		b.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	g, err := gateway.New(gateway.WithLogger(quiet), gateway.WithMeterProvider(mp), gateway.WithUpstream(pool),
		gateway.WithRoute(gateway.Route{Name: "bench", Prefix: "/bench", Upstream: "backend"}))
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	served := middleware.BodyTimeout(middleware.BodyTimeoutConfig{})(g)
	post := bytes.Repeat([]byte("x"), 1<<10)
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"gateway", served}} {
		for _, body := range [][]byte{nil, post} {
			name := c.name + "/GET"
			if body != nil {
				name = c.name + "/POST"
			}
			b.Run(name, func(b *testing.B) {
				w := &discardWriter{h: http.Header{}}
				rd := bytes.NewReader(body)
				b.ReportAllocs()
				defer cputime.PerOp(b)()
				for b.Loop() {
					var req *http.Request
					if body == nil {
						req = httptest.NewRequest(http.MethodGet, "/bench/items/7", nil)
					} else {
						rd.Reset(body)
						req = httptest.NewRequest(http.MethodPost, "/bench/items", rd)
						req.Header.Set("Content-Type", "application/json")
					}
					req.Header.Set("User-Agent", "Go-http-client/1.1")
					req.Header.Set("Accept-Encoding", "gzip")
					clear(w.h)
					c.h.ServeHTTP(w, req)
					if w.code != http.StatusOK {
						b.Fatalf("status %d", w.code)
					}
				}
			})
		}
	}
}
