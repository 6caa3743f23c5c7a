package openapi_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/portico-dev/portico/openapi"
)

// fixed answers with a fixed status, content type and body.
func fixed(status int, ctype, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ctype != "" {
			w.Header().Set("Content-Type", ctype)
		}
		w.Header().Set("X-Upstream", "yes")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
}

// withHeaders sets response headers before h writes.
func withHeaders(h http.Handler, kv ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(kv); i += 2 {
			w.Header().Set(kv[i], kv[i+1])
		}
		h.ServeHTTP(w, r)
	})
}

func TestEnforcedResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		target string
		opts   []openapi.Option
		h      http.Handler
		status int
		body   string
		errors []openapi.Violation
	}{
		{
			name:   "a response that keeps the contract is forwarded unchanged",
			target: "/v1/pets/1",
			h:      fixed(200, "application/json", `{"id":1,"name":"Rex","species":"dog"}`),
			status: 200,
			body:   `{"id":1,"name":"Rex","species":"dog"}`,
		},
		{
			name:   "a body missing a required property becomes a 502",
			target: "/v1/pets/1",
			h:      fixed(200, "application/json", `{"id":1,"species":"dog"}`),
			status: 502,
			errors: []openapi.Violation{v("body", "", "/name", "is required", "required")},
		},
		{
			name:   "an undocumented status becomes a 502",
			target: "/v1/pets/1",
			h:      fixed(418, "application/json", `{}`),
			status: 502,
			errors: []openapi.Violation{{In: "status", Message: "status 418 is not documented for GET /pets/{petId}"}},
		},
		{
			name:   "an undocumented content type becomes a 502",
			target: "/v1/pets/1",
			h:      fixed(200, "text/html", `<p>hi</p>`),
			status: 502,
			errors: []openapi.Violation{{In: "header", Name: "Content-Type", Message: "text/html is not documented; the operation returns application/json"}},
		},
		{
			name:   "a writeOnly property in a response becomes a 502",
			target: "/v1/things",
			h:      fixed(200, "application/json", `{"id":"0b6c5f3e-3b3c-4f0e-8d55-6d2b8f1f5a10","name":"x","password":"secret123"}`),
			status: 502,
			errors: []openapi.Violation{v("body", "", "/password", "is write-only and must not be returned", "writeOnly")},
		},
		{
			name:   "a readOnly property may be returned and a writeOnly required one left out",
			target: "/v1/things",
			h:      fixed(200, "application/json", `{"id":"0b6c5f3e-3b3c-4f0e-8d55-6d2b8f1f5a10","name":"x"}`),
			status: 200,
			body:   `{"id":"0b6c5f3e-3b3c-4f0e-8d55-6d2b8f1f5a10","name":"x"}`,
		},
		{
			name:   "a body over the response limit is forwarded unchecked",
			target: "/v1/pets/1",
			opts:   []openapi.Option{openapi.WithResponseLimit(8)},
			h:      fixed(200, "application/json", `{"id":1,"species":"dog"}`),
			status: 200,
			body:   `{"id":1,"species":"dog"}`,
		},
		{
			name:   "documented response headers that keep the contract pass",
			target: "/v1/pets",
			h:      withHeaders(fixed(201, "application/json", `{"id":3,"name":"Rex","species":"dog"}`), "Location", "/pets/3", "X-Rate-Remaining", "4"),
			status: 201,
			body:   `{"id":3,"name":"Rex","species":"dog"}`,
		},
		{
			name:   "a missing required response header and a mistyped one become a 502",
			target: "/v1/pets",
			h:      withHeaders(fixed(201, "application/json", `{"id":3,"name":"Rex","species":"dog"}`), "X-Rate-Remaining", "-1"),
			status: 502,
			errors: []openapi.Violation{{
				In:      "header",
				Name:    "Location",
				Message: "is required",
				Keyword: "required",
			}, v("header", "X-Rate-Remaining", "", "must be >= 0", "minimum")},
		},
		{
			name:   "a range response code such as default matches any status",
			target: "/v1/pets",
			h:      fixed(500, "application/problem+json", `{"title":"oops","status":"500"}`),
			status: 502,
			errors: []openapi.Violation{v("body", "", "/status", "must be integer, got string", "type")},
		},
	}
	for _, file := range versions {
		spec := load(t, file)
		for _, tc := range tests {
			t.Run(spec.Version()+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				opts := append([]openapi.Option{openapi.WithResponses(openapi.ResponsesEnforce), openapi.WithLogger(slog.New(slog.DiscardHandler))}, tc.opts...)
				val := openapi.NewValidator(spec, opts...)
				method := "GET"
				body := ""
				if strings.HasSuffix(tc.target, "/things") {
					method = "POST"
				}
				if tc.target == "/v1/pets" {
					method, body = "POST", `{"name":"Rex","species":"dog"}`
				}
				w := httptest.NewRecorder()
				val.Middleware(tc.h).ServeHTTP(w, newRequest(method, tc.target, "application/json", body))
				if w.Code != tc.status {
					t.Fatalf("status = %d, want %d: %s", w.Code, tc.status, w.Body.String())
				}
				if tc.status != 502 {
					if got, want := w.Body.String(), tc.body; got != want {
						t.Errorf("body = %q, want it unchanged: %q", got, want)
					}
					if got, want := w.Header().Get("X-Upstream"), "yes"; got != want {
						t.Errorf("X-Upstream = %q, want it unchanged: %q", got, want)
					}
					return
				}
				if w.Header().Get("X-Upstream") != "" {
					t.Errorf("the upstream's headers leaked into the 502: %v", w.Header())
				}
				if p := decodeProblem(t, w.Result()); !reflect.DeepEqual(p.Errors, tc.errors) {
					t.Errorf("errors:\n got %#v\nwant %#v", p.Errors, tc.errors)
				}
			})
		}
	}
}

// metered returns a meter provider whose counters the test reads.
func metered(t *testing.T) (*sdkmetric.MeterProvider, func(name string) int64) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return mp, func(name string) int64 {
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != name {
					continue
				}
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					n += dp.Value
				}
			}
		}
		return n
	}
}

// gateway puts the validator in front of a reverse proxy to upstream.
func gateway(t *testing.T, val *openapi.Validator, upstream http.Handler) (*httptest.Server, *http.Client) {
	up := httptest.NewServer(upstream)
	t.Cleanup(up.Close)
	target, _ := url.Parse(up.URL)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }, Transport: tr}
	gw := httptest.NewServer(val.Middleware(proxy))
	t.Cleanup(gw.Close)
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	return gw, client
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestReportOnlyOnADriftingUpstream(t *testing.T) {
	t.Parallel()
	mp, count := metered(t)
	var logs syncBuffer
	val := openapi.NewValidator(load(t, versions[1]),
		openapi.WithResponses(openapi.ResponsesReport), openapi.WithMeterProvider(mp),
		openapi.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	const drift = `{"id":"seven","name":"Rex","species":"dog"}`
	gw, client := gateway(t, val, fixed(200, "application/json", drift))

	res, err := client.Get(gw.URL + "/v1/pets/7")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if got, want := res.StatusCode, http.StatusOK; got != want {
		t.Errorf("status = %d, want the upstream's %d", got, want)
	}
	if got, want := string(body), drift; got != want {
		t.Errorf("body = %q, want the upstream's %q", got, want)
	}
	if got, want := res.Header.Get("X-Upstream"), "yes"; got != want {
		t.Errorf("X-Upstream = %q, want the upstream's %q", got, want)
	}
	if n := count("portico.openapi.response.violations"); n != 1 {
		t.Fatalf("violations counted = %d, want 1", n)
	}
	if !strings.Contains(logs.String(), "body /id: must be integer, got string") {
		t.Errorf("log does not name the violation: %s", logs.String())
	}
}

func TestStreamsAreNeverHeld(t *testing.T) {
	t.Parallel()
	for _, mode := range []openapi.ResponseMode{openapi.ResponsesReport, openapi.ResponsesEnforce} {
		t.Run("in "+mode.String()+" mode an event stream reaches the client before it ends", func(t *testing.T) {
			t.Parallel()
			mp, count := metered(t)
			release := make(chan struct{})
			upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, "data: one\n\n")
				w.(http.Flusher).Flush()
				select { // the second event waits until the client saw the first
				case <-release:
				case <-r.Context().Done():
					return
				case <-time.After(30 * time.Second):
					return
				}
				_, _ = io.WriteString(w, "data: two\n\n")
			})
			val := openapi.NewValidator(load(t, versions[0]), openapi.WithResponses(mode), openapi.WithMeterProvider(mp))
			gw, client := gateway(t, val, upstream)
			res, err := client.Get(gw.URL + "/v1/events")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			rd := bufio.NewReader(res.Body)
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("first line: %v", err)
			}
			if want := "data: one\n"; line != want {
				t.Fatalf("first line = %q, want %q", line, want)
			}
			close(release)
			rest, _ := io.ReadAll(rd)
			if string(rest) != "\ndata: two\n\n" {
				t.Fatalf("rest = %q", rest)
			}
			if n := count("portico.openapi.response.violations"); n != 0 {
				t.Errorf("violations counted = %d, want 0", n)
			}
		})
	}
}

func TestResponseControllerPassesThrough(t *testing.T) {
	t.Parallel()
	errs := make(chan error, 2)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		errs <- rc.SetWriteDeadline(time.Now().Add(time.Minute))
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: x\n\n")
		errs <- rc.Flush()
	})
	val := openapi.NewValidator(load(t, versions[0]), openapi.WithResponses(openapi.ResponsesEnforce))
	srv := httptest.NewServer(val.Middleware(h))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	res, err := client.Get(srv.URL + "/v1/events")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("ResponseController through the validator: %v", err)
		}
	}
}

func TestAPanicIsLeftToTheRecoveryOutside(t *testing.T) {
	t.Parallel()
	val := openapi.NewValidator(load(t, versions[0]), openapi.WithResponses(openapi.ResponsesEnforce))
	panicking := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":1}`)
		panic("boom")
	})
	recovery := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if recover() != nil {
					w.WriteHeader(http.StatusInternalServerError)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
	w := httptest.NewRecorder()
	recovery(val.Middleware(panicking)).ServeHTTP(w, newRequest("GET", "/v1/pets/1", "", ""))
	if got, want := w.Code, http.StatusInternalServerError; got != want {
		t.Errorf("status = %d, want the recovery's %d", got, want)
	}
	if got := w.Body.String(); got != "" {
		t.Errorf("body = %q, want the recovery's empty one", got)
	}
}
