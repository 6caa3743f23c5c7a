package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/middleware"
)

var ulid = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{26}$`)

func TestRequestID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     middleware.RequestIDConfig
		inbound []string // X-Request-ID values sent
		keep    bool     // the inbound ID is kept
	}{
		{name: "a request without an ID gets a new ULID"},
		{name: "a well-formed inbound ID is kept", inbound: []string{"abc-123_x.y:z+=/@"}, keep: true},
		{name: "a UUID is kept", inbound: []string{"0b3c2c8e-9c5e-4d5a-9f0e-6a3b2f1d7c11"}, keep: true},
		{name: "an ID of exactly the maximum length is kept", inbound: []string{strings.Repeat("a", 128)}, keep: true},
		{name: "an oversized ID is replaced", inbound: []string{strings.Repeat("a", 129)}},
		{name: "an empty ID is replaced", inbound: []string{""}},
		{name: "an ID with a space is replaced", inbound: []string{"abc def"}},
		{name: "an ID with a quote is replaced", inbound: []string{`abc"def`}},
		{name: "an ID with a tab is replaced", inbound: []string{"abc\tdef"}},
		{name: "an ID with non-ASCII bytes is replaced", inbound: []string{"abcé"}},
		{name: "an ID with a log-injection newline escape is replaced", inbound: []string{`abc\ndef`}},
		{name: "two ID headers are replaced by one new ID", inbound: []string{"one", "two"}},
		{name: "a shorter MaxLength is honoured", cfg: middleware.RequestIDConfig{MaxLength: 4}, inbound: []string{"abcde"}},
		{name: "IgnoreInbound replaces even a well-formed ID", cfg: middleware.RequestIDConfig{IgnoreInbound: true}, inbound: []string{"good-id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var seen string
			h := middleware.RequestID(tt.cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = middleware.RequestIDFrom(r.Context())
			}))
			srv := serve(t, h)
			req := newRequest(t, http.MethodGet, srv.URL, nil)
			for _, v := range tt.inbound {
				req.Header.Add("X-Request-ID", v)
			}
			res, _ := do(t, srv, req)
			got := res.Header.Get("X-Request-ID")
			if got != seen {
				t.Fatalf("response header %q, context %q: they differ", got, seen)
			}
			if tt.keep {
				if got != tt.inbound[0] {
					t.Fatalf("ID = %q, want the inbound %q", got, tt.inbound[0])
				}
				return
			}
			if !ulid.MatchString(got) {
				t.Fatalf("ID = %q, want a new ULID", got)
			}
			if n := len(res.Header.Values("X-Request-ID")); n != 1 {
				t.Fatalf("%d X-Request-ID headers, want 1", n)
			}
		})
	}
}

func TestRequestIDIsUniqueAndOrdered(t *testing.T) {
	t.Parallel()
	var prev string
	seen := map[string]bool{}
	h := middleware.RequestID(middleware.RequestIDConfig{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for range 1000 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		id := rec.Header().Get("X-Request-ID")
		if seen[id] {
			t.Fatalf("ID %q generated twice", id)
		}
		seen[id] = true
		if id[:10] < prev {
			t.Fatalf("time part of %q sorts before the previous %q", id, prev)
		}
		prev = id[:10]
	}
}

func TestRequestIDOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cfg    middleware.RequestIDConfig
		header string
		want   string
	}{
		{
			name:   "a custom header carries the ID",
			cfg:    middleware.RequestIDConfig{Header: "X-Correlation-ID", Generate: func() string { return "gen" }},
			header: "X-Correlation-Id",
			want:   "gen",
		},
		{
			name:   "a custom generator makes the IDs",
			cfg:    middleware.RequestIDConfig{Generate: func() string { return "fixed" }},
			header: "X-Request-Id",
			want:   "fixed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			middleware.RequestID(tt.cfg)(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			if got := rec.Header().Get(tt.header); got != tt.want {
				t.Fatalf("%s = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
}

func TestRequestIDReachesProblemDocuments(t *testing.T) {
	t.Parallel()
	h := middleware.RequestID(middleware.RequestIDConfig{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problem.Error(w, r, http.StatusConflict, "taken")
	}))
	srv := serve(t, h)
	res, body := do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil, "X-Request-ID", "trace-me"))
	doc := problemDoc(t, res, body)
	if doc["request_id"] != "trace-me" {
		t.Fatalf("request_id = %v, want trace-me", doc["request_id"])
	}
}

func TestRequestIDPanicsOnANegativeMaxLength(t *testing.T) {
	t.Parallel()
	defer func() {
		wantPanic(t, recover(), "portico/middleware: ", "")
	}()
	middleware.RequestID(middleware.RequestIDConfig{MaxLength: -1})
}

func FuzzRequestID(f *testing.F) {
	for _, s := range []string{"", "abc", strings.Repeat("x", 200), "a b", "é", "a\r\nb", "0b3c2c8e-9c5e-4d5a", "../../etc"} {
		f.Add(s)
	}
	valid := regexp.MustCompile(`^[A-Za-z0-9._:+=/@-]{1,128}$`)
	h := middleware.RequestID(middleware.RequestIDConfig{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	f.Fuzz(func(t *testing.T, in string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header["X-Request-Id"] = []string{in}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-ID")
		if !valid.MatchString(got) {
			t.Fatalf("inbound %q gave ID %q, which is not well-formed", in, got)
		}
		if valid.MatchString(in) != (got == in) {
			t.Fatalf("inbound %q gave ID %q: a well-formed ID must be kept and only it", in, got)
		}
	})
}
