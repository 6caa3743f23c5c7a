package middleware_test

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/middleware"
)

func TestRecover(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int  // 0: the connection breaks
		wantLog    bool // an error record with a stack
	}{
		{
			name:       "a panic before writing becomes a 500 problem",
			handler:    func(w http.ResponseWriter, r *http.Request) { panic("boom") },
			wantStatus: 500,
			wantLog:    true,
		},
		{
			name: "a panic after setting a cookie and a redirect drops them from the 500",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Set-Cookie", "session=half-made")
				w.Header().Set("Location", "/elsewhere")
				panic("boom")
			},
			wantStatus: 500,
			wantLog:    true,
		},
		{
			name:       "a panic with an error value becomes a 500 problem",
			handler:    func(w http.ResponseWriter, r *http.Request) { panic(io.ErrUnexpectedEOF) },
			wantStatus: 500,
			wantLog:    true,
		},
		{
			name: "a panic after the response started sends no second status and breaks the response",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte("partial"))
				w.(http.Flusher).Flush()
				panic("late boom")
			},
			wantStatus: 0,
			wantLog:    true,
		},
		{name: "http.ErrAbortHandler is re-raised without a log",
			handler: func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) }, wantStatus: 0},
		{name: "a handler that does not panic is untouched",
			handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }, wantStatus: 418},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sink := &logSink{}
			h := middleware.Chain(
				middleware.RequestID(middleware.RequestIDConfig{}),
				middleware.Recover(middleware.RecoverConfig{Logger: slog.New(sink)}),
			)(tt.handler)
			srv := serve(t, h)
			res, err := srv.Client().Do(newRequest(t, http.MethodGet, srv.URL, nil))
			if tt.wantStatus == 0 {
				if err == nil {
					_, err = io.ReadAll(res.Body)
					res.Body.Close()
				}
				if err == nil {
					t.Fatal("the response completed; want a broken connection")
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != tt.wantStatus {
					t.Fatalf("status = %d, want %d", res.StatusCode, tt.wantStatus)
				}
				if tt.wantStatus == 500 {
					doc := problemDoc(t, res, body)
					if got, want := doc["request_id"], res.Header.Get("X-Request-ID"); got != want {
						t.Errorf("problem request_id = %v, want %q", got, want)
					}
					if strings.Contains(string(body), "boom") {
						t.Errorf("problem %s holds the panic value", body)
					}
					for _, h := range []string{"Set-Cookie", "Location"} {
						if got := res.Header.Get(h); got != "" {
							t.Errorf("the abandoned response's %s %q rode on the 500", h, got)
						}
					}
				}
			}
			logs := sink.All()
			if !tt.wantLog {
				if len(logs) != 0 {
					t.Fatalf("%d log records, want none", len(logs))
				}
				return
			}
			if len(logs) != 1 {
				t.Fatalf("logs = %v, want one record", logs)
			}
			if got, want := logs[0].Level, slog.LevelError; got != want {
				t.Errorf("log level = %v, want %v", got, want)
			}
			if st := logs[0].Attrs["stack"].String(); !strings.Contains(st, "recover_test.go") {
				t.Fatalf("stack %q does not show the panicking handler", st)
			}
			if logs[0].Attrs["request_id"].String() == "" {
				t.Fatal("log record has no request_id")
			}
		})
	}
}
