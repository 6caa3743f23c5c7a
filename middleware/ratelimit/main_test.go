package ratelimit_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve starts a loopback server for h that stops with the test.
func serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// get sends a request built by the caller and returns the response and
// its body.
func do(t testing.TB, srv *httptest.Server, req *http.Request) (*http.Response, []byte) {
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

// newRequest builds a request to srv with the given headers.
func newRequest(t testing.TB, method, url string, body io.Reader, headers ...string) *http.Request {
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

// problemDoc decodes an application/problem+json body.
func problemDoc(t testing.TB, res *http.Response, body []byte) map[string]any {
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

// logSink is a slog.Handler that keeps every record.
type logSink struct {
	mu      sync.Mutex
	records []slog.Record
}

func (s *logSink) Enabled(context.Context, slog.Level) bool { return true }

func (s *logSink) Handle(_ context.Context, r slog.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = append(s.records, r.Clone())
	return nil
}

func (s *logSink) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s *logSink) WithGroup(string) slog.Handler      { return s }

// all returns the records kept so far, each as its level, message and
// attributes.
func (s *logSink) all() []logEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]logEntry, 0, len(s.records))
	for _, r := range s.records {
		e := logEntry{Level: r.Level, Message: r.Message, Attrs: map[string]slog.Value{}}
		r.Attrs(func(a slog.Attr) bool {
			e.Attrs[a.Key] = a.Value
			return true
		})
		out = append(out, e)
	}
	return out
}

type logEntry struct {
	Level   slog.Level
	Message string
	Attrs   map[string]slog.Value
}
