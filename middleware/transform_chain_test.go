package middleware_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/cache"
)

// responsePolicies chains the cache, idempotency, transformation,
// versioning and lifecycle middleware.
func responsePolicies() func(http.Handler) http.Handler {
	return middleware.Chain(
		middleware.Version(middleware.VersionConfig{}),
		middleware.Lifecycle(middleware.LifecycleConfig{Deprecated: time.Unix(1, 0)}),
		cache.New(cache.Config{}),
		cache.Idempotency(cache.IdempotencyConfig{Methods: []string{http.MethodPost, http.MethodGet}}),
		middleware.Transform(middleware.TransformConfig{
			Response:     middleware.HeaderRules{Set: map[string]string{"X-Chain": "yes"}},
			ResponseBody: middleware.JSONRules{Remove: []string{"x"}},
		}),
	)
}

func TestResponsePoliciesStreamEventsUnbuffered(t *testing.T) {
	t.Parallel()
	finish := make(chan struct{})
	h := responsePolicies()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush through the chain: %v", err)
		}
		select {
		case <-finish:
		case <-r.Context().Done():
		}
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req, _ := http.NewRequestWithContext(ctx, method, srv.URL+"/v1/events", strings.NewReader("{}"))
		req.Header.Set("Idempotency-Key", "stream-"+method)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(res.Body).ReadString('\n')
		if err != nil {
			t.Errorf("%s: first line: %v: the event was held back", method, err)
		} else if want := "data: one\n"; line != want {
			t.Errorf("%s: first line = %q, want %q", method, line, want)
		}
		if got, want := res.Header.Get("X-Chain"), "yes"; got != want {
			t.Errorf("%s: X-Chain = %q, want %q", method, got, want)
		}
		if res.Header.Get("Deprecation") == "" {
			t.Errorf("%s: no Deprecation header", method)
		}
		finish <- struct{}{}
		res.Body.Close()
	}
}

func TestResponsePoliciesKeepUpgradesWorking(t *testing.T) {
	t.Parallel()
	h := responsePolicies()(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack through the chain: %v", err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		line, _ := brw.ReadString('\n')
		brw.WriteString("echo: " + line)
		brw.Flush()
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req, _ := http.NewRequest(method, srv.URL+"/v1/ws", nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "echo")
		req.Header.Set("Idempotency-Key", "ws-"+method)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("%s: status %d, want 101", method, res.StatusCode)
		}
		rw, ok := res.Body.(io.ReadWriteCloser)
		if !ok {
			t.Fatalf("%s: the upgraded body is not writable", method)
		}
		io.WriteString(rw, "ping\n")
		got, _ := bufio.NewReader(rw).ReadString('\n')
		rw.Close()
		if got != "echo: ping\n" {
			t.Errorf("%s: got %q over the upgraded connection", method, got)
		}
	}
}
