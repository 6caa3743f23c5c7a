package middleware_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/portico-dev/portico/middleware"
)

func TestAccessLog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		path      string
		body      string
		wantLevel slog.Level
		want      map[string]string
	}{
		{
			name:      "a success is logged at Info with the route template, not the path",
			path:      "/orders/42",
			wantLevel: slog.LevelInfo,
			want:      map[string]string{"method": "GET", "route": "/orders/{id}", "status": "200", "bytes_out": "11", "bytes_in": "0"},
		},
		{
			name:      "a client error is logged at Warn",
			path:      "/missing",
			wantLevel: slog.LevelWarn,
			want:      map[string]string{"status": "404", "route": ""},
		},
		{
			name:      "a server error is logged at Error",
			path:      "/orders/fail",
			wantLevel: slog.LevelError,
			want:      map[string]string{"status": "502"},
		},
		{
			name:      "request body bytes of unknown length are counted as read",
			path:      "/orders/42",
			body:      "0123456789",
			wantLevel: slog.LevelInfo,
			want:      map[string]string{"bytes_in": "10", "method": "POST"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sink := &logSink{}
			kit := newOtelKit(t)
			r := chi.NewRouter()
			r.Get("/orders/{id}", orders)
			r.Post("/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				orders(w, r)
			})
			h := middleware.Chain(
				middleware.RequestID(middleware.RequestIDConfig{}),
				middleware.ClientIP(middleware.ClientIPConfig{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}),
				middleware.AccessLog(middleware.AccessLogConfig{Logger: slog.New(sink)}),
				middleware.Telemetry(kit.cfg),
			)(r)
			srv := serve(t, h)
			method := http.MethodGet
			var req *http.Request
			if tt.body != "" {
				method = http.MethodPost
				req = newRequest(t, method, srv.URL+tt.path, chunked{strings.NewReader(tt.body)})
			} else {
				req = newRequest(t, method, srv.URL+tt.path, nil)
			}
			req.Header.Set("User-Agent", "log-test/1")
			req.Header.Set("X-Forwarded-For", "203.0.113.7")
			res, _ := do(t, srv, req)
			logs := sink.All()
			if len(logs) != 1 {
				t.Fatalf("%d records, want 1", len(logs))
			}
			e := logs[0]
			if got, want := e.Level, tt.wantLevel; got != want {
				t.Errorf("record level = %s, want %s", got, want)
			}
			if got, want := e.Message, "request"; got != want {
				t.Errorf("record message = %q, want %q", got, want)
			}
			want := map[string]string{
				"request_id": res.Header.Get("X-Request-ID"),
				"client_ip":  "203.0.113.7",
				"user_agent": "log-test/1",
				"trace_id":   kit.spans.Ended()[0].SpanContext().TraceID().String(),
				"span_id":    kit.spans.Ended()[0].SpanContext().SpanID().String(),
			}
			for k, v := range tt.want {
				want[k] = v
			}
			for k, v := range want {
				if got := e.Attrs[k].String(); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if got, want := e.Attrs["duration"].Kind(), slog.KindDuration; got != want {
				t.Errorf("duration kind = %v, want %v", got, want)
			} else if got := e.Attrs["duration"].Duration(); got <= 0 {
				t.Errorf("duration = %v, want a positive duration", got)
			}
		})
	}
}

func TestAccessLogOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      middleware.AccessLogConfig
		statuses []int
		want     []int // statuses logged
	}{
		{
			name:     "sampling keeps one in three successes and every error",
			cfg:      middleware.AccessLogConfig{SampleSuccess: 3},
			statuses: []int{200, 200, 200, 500, 200, 404, 302, 200},
			want:     []int{200, 500, 200, 404},
		},
		{
			name: "a custom level function can silence successes",
			cfg: middleware.AccessLogConfig{Level: func(status int) slog.Level {
				if status < 400 {
					return slog.LevelDebug
				}
				return slog.LevelError
			}},
			statuses: []int{200, 503},
			want:     []int{503},
		},
		{
			name:     "skipped requests are not logged",
			cfg:      middleware.AccessLogConfig{Skip: func(r *http.Request) bool { return r.URL.Query().Get("s") == "204" }},
			statuses: []int{200, 204, 201},
			want:     []int{200, 201},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sink := &levelSink{logSink: &logSink{}, min: slog.LevelInfo}
			cfg := tt.cfg
			cfg.Logger = slog.New(sink)
			srv := serve(t, middleware.AccessLog(cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				code, _ := strconv.Atoi(r.URL.Query().Get("s"))
				w.WriteHeader(code)
			})))
			for _, s := range tt.statuses {
				do(t, srv, newRequest(t, http.MethodGet, srv.URL+"/?s="+strconv.Itoa(s), nil))
			}
			var got []int
			for _, e := range sink.All() {
				got = append(got, int(e.Attrs["status"].Int64()))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("logged %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("logged %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// levelSink is a logSink that drops records below min.
type levelSink struct {
	*logSink
	min slog.Level
}

func (s *levelSink) Enabled(_ context.Context, l slog.Level) bool { return l >= s.min }
