// Package mwtest holds the test helpers that middleware and its
// subpackages share: loopback servers, requests, problem documents, a log
// sink, a clock that moves by hand and a counting origin. Only tests
// import it.
package mwtest

import (
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/middleware"
)

// Serve starts a loopback server for h that stops with the test.
func Serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// Do sends a request built by the caller and returns the response and its
// body.
func Do(t testing.TB, srv *httptest.Server, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return res, body
}

// NewRequest builds a request to url with the given headers, as name,
// value pairs.
func NewRequest(t testing.TB, method, url string, body io.Reader, headers ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	return req
}

// ProblemDoc decodes an application/problem+json body.
func ProblemDoc(t testing.TB, res *http.Response, body []byte) map[string]any {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json (body %q)", ct, body)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("decoding problem %q: %v", body, err)
	}
	return doc
}

// LogSink is a slog.Handler that keeps every record.
type LogSink struct {
	mu      sync.Mutex
	records []slog.Record
}

// Enabled reports true for every level.
func (s *LogSink) Enabled(context.Context, slog.Level) bool { return true }

// Handle keeps r.
func (s *LogSink) Handle(_ context.Context, r slog.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = append(s.records, r.Clone())
	return nil
}

// WithAttrs returns s.
func (s *LogSink) WithAttrs([]slog.Attr) slog.Handler { return s }

// WithGroup returns s.
func (s *LogSink) WithGroup(string) slog.Handler { return s }

// All returns the records kept so far, each as its level, message and
// attributes.
func (s *LogSink) All() []LogEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]LogEntry, 0, len(s.records))
	for _, r := range s.records {
		e := LogEntry{Level: r.Level, Message: r.Message, Attrs: map[string]slog.Value{}}
		r.Attrs(func(a slog.Attr) bool {
			e.Attrs[a.Key] = a.Value
			return true
		})
		out = append(out, e)
	}
	return out
}

// LogEntry is one record of a [LogSink].
type LogEntry struct {
	Level   slog.Level
	Message string
	Attrs   map[string]slog.Value
}

// WaitFor polls cond until it holds, failing the test after a generous
// deadline.
func WaitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Clock is an injectable clock that only moves when told to.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock that reads start.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Consumers is a registry shared by the authentication and limit tests.
func Consumers() *middleware.MemoryConsumers {
	return middleware.NewMemoryConsumers(
		&middleware.Consumer{ID: "acme", Tenant: "acme-corp", Plan: "gold", Scopes: []string{"orders:read", "orders:write"}, Roles: []string{"admin"}},
		&middleware.Consumer{ID: "bob", Tenant: "bobs", Plan: "free", Scopes: []string{"orders:read"}},
	)
}

// CountingOrigin is a real upstream server on loopback that counts its
// calls.
type CountingOrigin struct {
	*httptest.Server
	Calls atomic.Int64
}

// NewCountingOrigin starts a CountingOrigin answering with h.
func NewCountingOrigin(t *testing.T, h http.HandlerFunc) *CountingOrigin {
	t.Helper()
	o := &CountingOrigin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.Calls.Add(1)
		h(w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

// FrontFor starts a real front server: mw wrapped around a reverse proxy
// to o.
func FrontFor(t *testing.T, o *CountingOrigin, mw func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	u, err := url.Parse(o.URL)
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(mw(httputil.NewSingleHostReverseProxy(u)))
	t.Cleanup(gw.Close)
	return gw
}

// WantPanic fails the test unless r, a recovered value, is a string that
// starts with prefix and names want.
func WantPanic(t testing.TB, r any, prefix, want string) {
	t.Helper()
	msg, ok := r.(string)
	if !ok {
		t.Fatalf("recover() = %#v, want a string starting %q", r, prefix)
	}
	if !strings.HasPrefix(msg, prefix) {
		t.Errorf("panic %q, want one starting %q", msg, prefix)
	}
	if !strings.Contains(msg, want) {
		t.Errorf("panic %q, want one naming %q", msg, want)
	}
}

// WantErrContaining fails the test unless err is an error whose text
// holds sub.
func WantErrContaining(t testing.TB, err error, sub string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want one containing %q", sub)
	}
	if !strings.Contains(err.Error(), sub) {
		t.Fatalf("err = %v, want one containing %q", err, sub)
	}
}

// InRange fails the test unless lo <= got <= hi.
func InRange[T cmp.Ordered](t testing.TB, name string, got, lo, hi T) {
	t.Helper()
	if got < lo {
		t.Errorf("%s = %v, want at least %v (and at most %v)", name, got, lo, hi)
	}
	if got > hi {
		t.Errorf("%s = %v, want at most %v (and at least %v)", name, got, hi, lo)
	}
}

// Who is the comparable part of a Consumer that says who it is and how it
// authenticated.
type Who struct{ ID, Credential, Method string }

// WhoOf returns the Who of c.
func WhoOf(c *middleware.Consumer) Who { return Who{c.ID, c.Credential, c.Method} }

// AsConsumer stands in for an authenticator: it places the consumer named
// by the X-Test-Consumer and X-Test-Tenant headers in the context, on the
// "gold" plan.
func AsConsumer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get("X-Test-Consumer"); id != "" {
			c := &middleware.Consumer{ID: id, Tenant: r.Header.Get("X-Test-Tenant"), Plan: "gold"}
			r = r.WithContext(middleware.WithConsumer(r.Context(), c))
		}
		next.ServeHTTP(w, r)
	})
}

// Fetch sends a request with the given header fields to url on the
// default client and returns the response's status, header and whole
// body.
func Fetch(t testing.TB, method, url string, header map[string]string, body io.Reader) (status int, h http.Header, b string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(raw)
}
