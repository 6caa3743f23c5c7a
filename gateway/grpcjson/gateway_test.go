package grpcjson_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/grpcjson"
	"github.com/portico-dev/portico/gateway/grpcproxy"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/internal/grpctest"
	"github.com/portico-dev/portico/middleware"
)

const apiKey = "s3cret-key-0123456789"

// shelfGateway builds a gateway that translates /shelf/... to the Shelf
// service of s, with the given policy, from the descriptor set file.
func shelfGateway(t *testing.T, descriptors string, s *grpctest.Server, policy gateway.Policy, st *gateway.State) (*gateway.Gateway, error) {
	t.Helper()
	files, err := grpcjson.LoadDescriptorSet(descriptors)
	if err != nil {
		return nil, err
	}
	h, err := grpcjson.New(grpcjson.Config{Files: files, Timeout: policy.Timeout})
	if err != nil {
		return nil, err
	}
	h2 := grpcproxy.NewUpstreamTransport(nil)
	t.Cleanup(h2.CloseIdleConnections)
	pool, err := upstream.New(upstream.Config{Name: "shelf", Instances: []upstream.Instance{{URL: s.URL}},
		Transport: &grpcproxy.Transport{Next: h2}})
	if err != nil {
		return nil, err
	}
	opts := []gateway.Option{
		gateway.WithLogger(slog.New(slog.DiscardHandler)),
		config.WithConsumers(config.ConsumerConfig{Consumer: middleware.Consumer{ID: "alice"},
			Keys: []config.APIKeyConfig{{ID: "k1", Secret: apiKey}}}),
		gateway.WithUpstream(pool),
		gateway.WithRoute(gateway.Route{
			Prefix:      "/shelf",
			StripPrefix: "/shelf",
			Upstream:    "shelf",
			Policy:      policy,
			Serve:       func(tr http.RoundTripper) http.Handler { return h.WithTransport(tr) },
		}),
	}
	if st != nil {
		opts = append(opts, gateway.WithState(st))
	}
	return gateway.New(opts...)
}

func writeDescriptors(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shelf.binpb")
	if err := os.WriteFile(path, grpctest.DescriptorSet, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTheGatewayTranslatesJSONWithItsAuthAndRetries(t *testing.T) {
	t.Parallel()
	s := grpctest.Start(t, grpctest.Options{})
	g, err := shelfGateway(t, writeDescriptors(t), s, gateway.Policy{
		Timeout: 5 * time.Second,
		Auth:    &gateway.Auth{},
		Retry:   &gateway.Retry{Attempts: 3, Backoff: time.Millisecond},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer g.Close()
	defer srv.Close()

	status, ct, _ := do(t, http.MethodGet, srv.URL+"/shelf/v1/books/b1", "")
	if got, want := status, http.StatusUnauthorized; got != want {
		t.Errorf("without a key: status %d, want %d", got, want)
	}
	if got, want := ct, "application/problem+json"; got != want {
		t.Errorf("without a key: Content-Type %q, want %q", got, want)
	}

	status, _, body := do(t, http.MethodGet, srv.URL+"/shelf/v1/shelves/s2/books/b1?view=full", "", "X-API-Key", apiKey)
	if got, want := status, http.StatusOK; got != want {
		t.Fatalf("status %d, want %d: %s", got, want, body)
	}
	if got, want := decode(t, body)["name"], "shelves/s2/books/b1"; got != want {
		t.Errorf("name %v, want %v", got, want)
	}

	// A POST with an Idempotency-Key is safe to retry.
	status, _, body = do(t, http.MethodPost, srv.URL+"/shelf/portico.grpctest.v1.Shelf/Echo",
		`{"key":"idem","failCode":14,"failTimes":1}`, "X-API-Key", apiKey, "Idempotency-Key", "i-1")
	if got, want := status, http.StatusOK; got != want {
		t.Fatalf("retried POST: status %d, want %d: %s", got, want, body)
	}
	doc := decode(t, body)
	if got, want := doc["attempt"], float64(2); got != want {
		t.Errorf("retried POST: answered by attempt %v, want %v", got, want)
	}
	d, _ := time.ParseDuration(doc["deadline"].(string))
	inRange(t, "the deadline the upstream saw", d, time.Nanosecond, 5*time.Second)
	// One without is not.
	status, _, _ = do(t, http.MethodPost, srv.URL+"/shelf/portico.grpctest.v1.Shelf/Echo",
		`{"key":"once","failCode":14,"failTimes":1}`, "X-API-Key", apiKey)
	if got, want := status, http.StatusServiceUnavailable; got != want {
		t.Errorf("POST: status %d, want %d", got, want)
	}
	if got, want := s.Service.Calls("once"), 1; got != want {
		t.Errorf("POST: %d calls upstream, want %d", got, want)
	}

	status, ct, body = do(t, http.MethodGet, srv.URL+"/shelf/v1/shelves/s/books?pageSize=4", "", "X-API-Key", apiKey)
	if got, want := status, http.StatusOK; got != want {
		t.Fatalf("stream: status %d, want %d", got, want)
	}
	if got, want := ct, "application/x-ndjson"; got != want {
		t.Errorf("stream: Content-Type %q, want %q", got, want)
	}
	if got, want := strings.Count(string(body), "\n"), 4; got != want {
		t.Errorf("stream: %d lines, want %d", got, want)
	}
}

func TestAReloadReadsTheDescriptorsAgain(t *testing.T) {
	t.Parallel()
	s := grpctest.Start(t, grpctest.Options{})
	path := writeDescriptors(t)
	r, err := config.NewReloader(config.ReloadConfig{
		Logger: slog.New(slog.DiscardHandler),
		Drain:  time.Second,
		Load: func(st *gateway.State) (*gateway.Gateway, error) {
			return shelfGateway(t, path, s, gateway.Policy{}, st)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	srv := httptest.NewServer(r)
	defer srv.Close()
	if status, _, body := do(t, http.MethodGet, srv.URL+"/shelf/v1/books/b1", ""); status != http.StatusOK {
		t.Fatalf("before the reload: status %d: %s", status, body)
	}
	// A descriptor file that no longer parses is rejected, and the
	// gateway keeps serving the last good one.
	if err := os.WriteFile(path, []byte("not a descriptor set"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(context.Background()); err == nil {
		t.Error("a reload with a broken descriptor file succeeded")
	}
	if status, _, body := do(t, http.MethodGet, srv.URL+"/shelf/v1/books/b1", ""); status != http.StatusOK {
		t.Errorf("after the rejected reload: status %d: %s", status, body)
	}
}
