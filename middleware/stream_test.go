package middleware_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/middleware"
)

// everything returns every middleware of the package, in the documented
// order.
func everything(logger *slog.Logger, tel middleware.TelemetryConfig) func(http.Handler) http.Handler {
	return middleware.Chain(
		middleware.RequestID(middleware.RequestIDConfig{}),
		middleware.Recover(middleware.RecoverConfig{Logger: logger}),
		middleware.ClientIP(middleware.ClientIPConfig{}),
		middleware.Telemetry(tel),
		middleware.AccessLog(middleware.AccessLogConfig{Logger: logger}),
		middleware.BodyLimit(1<<20),
		middleware.Timeout(middleware.TimeoutConfig{}),
		middleware.CORS(middleware.CORSConfig{}),
	)
}

func TestServerSentEventsStreamThroughTheWholeChain(t *testing.T) {
	t.Parallel()
	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
		t.Run("over "+proto, func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			finished := make(chan struct{})
			kit := newOtelKit(t)
			sink := &logSink{}
			h := everything(slog.New(sink), kit.cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(finished)
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, "data: one\n\n")
				if err := http.NewResponseController(w).Flush(); err != nil {
					t.Errorf("Flush through the chain: %v", err)
					return
				}
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
				_, _ = io.WriteString(w, "data: two\n\n")
			}))
			srv := httptest.NewUnstartedServer(h)
			if proto == "HTTP/2.0" {
				srv.EnableHTTP2 = true
				srv.StartTLS()
			} else {
				srv.Start()
			}
			t.Cleanup(srv.Close)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			req := newRequest(t, http.MethodGet, srv.URL, nil, "Accept", "text/event-stream")
			res, err := srv.Client().Do(req.WithContext(ctx))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.Proto != proto {
				t.Fatalf("protocol %s, want %s", res.Proto, proto)
			}
			br := bufio.NewReader(res.Body)
			first, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("first line: %v; want the first event", err)
			}
			if want := "data: one\n"; first != want {
				t.Fatalf("first line = %q, want %q", first, want)
			}
			select {
			case <-finished:
				t.Fatal("the handler finished before the first event was read: something buffered")
			default:
			}
			close(release)
			rest, err := io.ReadAll(br)
			if err != nil {
				t.Fatalf("rest: %v; want the second event", err)
			}
			if got, want := string(rest), "\ndata: two\n\n"; got != want {
				t.Fatalf("rest = %q, want %q", got, want)
			}
			<-finished
		})
	}
}

func TestAWebSocketStyleUpgradeHijacksThroughTheWholeChain(t *testing.T) {
	t.Parallel()
	sink := &logSink{}
	kit := newOtelKit(t)
	done := make(chan struct{})
	h := everything(slog.New(sink), kit.cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack through the chain: %v", err)
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		line, err := brw.ReadString('\n')
		if err != nil {
			return
		}
		_, _ = brw.WriteString("echo " + line)
		_ = brw.Flush()
	}))
	srv := serve(t, h)
	conn, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	_, _ = io.WriteString(conn, "GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("status line: %v", err)
	}
	if !strings.HasPrefix(status, "HTTP/1.1 101 ") {
		t.Fatalf("status line %q, want 101", status)
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
	}
	_, _ = io.WriteString(conn, "ping\n")
	got, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("echo: %v", err)
	}
	if want := "echo ping\n"; got != want {
		t.Fatalf("echo = %q, want %q", got, want)
	}
	<-done
	// The access log is written once the middleware unwind, just after.
	waitFor(t, func() bool { return len(sink.All()) > 0 })
	logs := sink.All()
	if len(logs) != 1 {
		t.Fatalf("access log %v, want one record", logs)
	}
	if got, want := logs[0].Attrs["status"].Int64(), int64(http.StatusSwitchingProtocols); got != want {
		t.Errorf("access log status = %d, want %d", got, want)
	}
}
