package middleware_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/middleware"
)

func TestTimeout(t *testing.T) {
	t.Parallel()
	const d = 20 * time.Millisecond
	tests := []struct {
		name       string
		headers    []string
		handler    func(w http.ResponseWriter, r *http.Request) error
		wantStatus int
		wantBody   string
		wantErr    error // returned by the handler's late write
	}{
		{name: "a handler that overruns without writing gets a 504 problem",
			handler: func(w http.ResponseWriter, r *http.Request) error {
				<-r.Context().Done()
				return nil
			}, wantStatus: 504},
		{
			name: "a handler that ignores the deadline and writes late gets its write refused and a 504",
			handler: func(w http.ResponseWriter, r *http.Request) error {
				<-r.Context().Done()
				w.Header().Set("Content-Type", "text/plain")
				w.Header().Set("Set-Cookie", "session=abandoned")
				_, err := w.Write([]byte("too late"))
				return err
			},
			wantStatus: 504,
			wantErr:    http.ErrHandlerTimeout,
		},
		{
			name: "a handler that started streaming before the deadline finishes unbuffered",
			handler: func(w http.ResponseWriter, r *http.Request) error {
				_, _ = w.Write([]byte("first "))
				w.(http.Flusher).Flush()
				<-r.Context().Done()
				_, err := w.Write([]byte("second"))
				return err
			},
			wantStatus: 200,
			wantBody:   "first second",
		},
		{
			name: "a fast handler is untouched and sees the deadline",
			handler: func(w http.ResponseWriter, r *http.Request) error {
				dl, ok := r.Context().Deadline()
				if !ok || time.Until(dl) > d {
					return errors.New("no deadline within the timeout")
				}
				_, err := w.Write([]byte("ok"))
				return err
			},
			wantStatus: 200,
			wantBody:   "ok",
		},
		{
			name:    "a Server-Sent Events request runs without a deadline",
			headers: []string{"Accept", "text/event-stream"},
			handler: func(w http.ResponseWriter, r *http.Request) error {
				if _, ok := r.Context().Deadline(); ok {
					return errors.New("deadline set on a stream")
				}
				_, err := w.Write([]byte("stream"))
				return err
			},
			wantStatus: 200,
			wantBody:   "stream",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			errc := make(chan error, 1)
			h := middleware.Chain(
				middleware.RequestID(middleware.RequestIDConfig{}),
				middleware.Timeout(middleware.TimeoutConfig{Timeout: d}),
			)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { errc <- tt.handler(w, r) }))
			srv := serve(t, h)
			res, body := do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil, tt.headers...))
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", res.StatusCode, tt.wantStatus, body)
			}
			if err := <-errc; !errors.Is(err, tt.wantErr) {
				t.Fatalf("handler error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantStatus == 504 {
				doc := problemDoc(t, res, body)
				if doc["request_id"] == nil {
					t.Errorf("problem = %v, want the request ID", doc)
				}
				if detail, _ := doc["detail"].(string); !strings.Contains(detail, "20ms") {
					t.Errorf("problem detail %q, want it to name the 20ms timeout", detail)
				}
				if res.Header.Get("Set-Cookie") != "" {
					t.Fatal("the abandoned response's cookie rode on the 504")
				}
				return
			}
			if string(body) != tt.wantBody {
				t.Fatalf("body = %q, want %q", body, tt.wantBody)
			}
		})
	}
}

func TestTimeoutSkip(t *testing.T) {
	t.Parallel()
	h := middleware.Timeout(middleware.TimeoutConfig{
		Timeout: time.Millisecond,
		Skip:    func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/export") },
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Deadline(); ok {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	srv := serve(t, h)
	if res, _ := do(t, srv, newRequest(t, http.MethodGet, srv.URL+"/export/all", nil)); res.StatusCode != http.StatusOK {
		t.Fatalf("status = %d: the skipped route had a deadline", res.StatusCode)
	}
}

func TestIsStreaming(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		headers []string
		want    bool
	}{
		{name: "a WebSocket upgrade streams", headers: []string{"Connection", "Upgrade", "Upgrade", "websocket"}, want: true},
		{name: "an event-stream Accept streams", headers: []string{"Accept", "application/json, text/event-stream"}, want: true},
		{name: "a JSON request does not stream", headers: []string{"Accept", "application/json"}},
		{name: "a request without headers does not stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := middleware.IsStreaming(newRequest(t, http.MethodGet, "http://example.test/", nil, tt.headers...)); got != tt.want {
				t.Fatalf("IsStreaming = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTimeoutPanicsOnANegativeTimeout(t *testing.T) {
	t.Parallel()
	defer func() {
		if v, _ := recover().(string); !strings.HasPrefix(v, "portico/middleware: Timeout") {
			t.Fatalf("panic %q, want a Timeout wiring error", v)
		}
	}()
	middleware.Timeout(middleware.TimeoutConfig{Timeout: -time.Second})
}
