package config_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/internal/grpctest"
	"github.com/portico-dev/portico/internal/grpctest/testpb"
)

const (
	grpcKey      = "grpc-key-0123456789abcdef"
	shelfService = "portico.grpctest.v1.Shelf"
)

// grpcFile is a config file with a gRPC route and a translating route to
// the Shelf service at url, with its descriptors at descriptors.
func grpcFile(url, descriptors, translate string) string {
	if translate == "" {
		translate = "descriptors: " + descriptors
	}
	return `
server: {h2c: true}
upstreams:
  - name: shelf
    instances: [{url: "` + url + `"}]
    health_check: {grpc_service: "portico.grpctest.v1.Shelf", interval: 1h}
consumers:
  - id: alice
    api_keys: [{id: k1, secret: ` + grpcKey + `}]
routes:
  - name: shelf-grpc
    prefix: /portico.grpctest.v1.Shelf/
    upstream: shelf
    protocol: grpc
    idempotent_methods: [/portico.grpctest.v1.Shelf/Echo]
    policy:
      timeout: 30s
      auth: {}
      retry: {attempts: 3, backoff: 1ms}
      rate_limit: {requests: 1000, per: 1h, burst: 1000}
  - name: shelf-json
    prefix: /shelf
    strip_prefix: /shelf
    upstream: shelf
    translate: {` + translate + `, stream: ndjson}
    policy:
      auth: {}
      rate_limit: {name: json, requests: 4, per: 1h, burst: 4}
`
}

// writeFile writes data to name in a temporary directory and returns its path.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serveReloading serves the config file at path over h2c, reloaded by the
// returned Reloader, and returns the listener's address.
func serveReloading(t *testing.T, path string) (*config.Reloader, string) {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	r, err := config.NewReloader(config.ReloadConfig{
		Logger: quiet,
		Drain:  time.Second,
		Load: func(st *gateway.State) (*gateway.Gateway, error) {
			return config.LoadGateway(path, gateway.WithLogger(quiet), gateway.WithState(st))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r, grpctest.ServeH2C(t, r)
}

func jsonCall(t *testing.T, method, url, body string, header ...string) (int, http.Header, string) {
	t.Helper()
	status, h, b := grpctest.DoJSON(t, method, url, body, header...)
	return status, h, string(b)
}

// TestAConfigFileServesGRPCAndJSONClients builds a gateway from a config
// file with a gRPC route and a translating route to a real grpc-go
// server, and calls it with a grpc-go client and with JSON, through auth,
// retries and rate limits, across a reload.
func TestAConfigFileServesGRPCAndJSONClients(t *testing.T) {
	t.Parallel()
	s := grpctest.Start(t, grpctest.Options{})
	s.Health.SetServingStatus(shelfService, healthpb.HealthCheckResponse_SERVING)
	path := writeFile(t, "gateway.yaml", []byte(grpcFile(s.URL, writeFile(t, "shelf.binpb", grpctest.DescriptorSet), "")))
	r, addr := serveReloading(t, path)
	c := testpb.NewShelfClient(grpctest.Dial(t, addr, nil))
	authed := metadata.AppendToOutgoingContext(context.Background(), "x-api-key", grpcKey)

	// gRPC: the gateway's 401 is a gRPC status.
	_, err := c.Echo(context.Background(), &testpb.EchoRequest{Message: "hi"})
	if got, want := status.Code(err), codes.Unauthenticated; got != want {
		t.Errorf("without a key: %v, want %v", got, want)
	}
	reply, err := c.Echo(authed, &testpb.EchoRequest{
		Message:   "hi",
		Key:       "idem",
		FailCode:  int32(codes.Unavailable),
		FailTimes: 1,
	})
	if err != nil {
		t.Fatalf("an idempotent method failing once: %v", err)
	}
	if got, want := reply.GetAttempt(), int32(2); got != want {
		t.Errorf("answered by attempt %d, want %d", got, want)
	}
	inRange(t, "the deadline the upstream saw", reply.GetDeadline().AsDuration(), time.Nanosecond, 30*time.Second)
	// Every streaming kind passes.
	grpctest.CheckStreams(authed, t, c)

	// JSON.
	base := "http://" + addr + "/shelf"
	status, hdr, _ := jsonCall(t, http.MethodGet, base+"/v1/books/b1", "")
	if got, want := status, http.StatusUnauthorized; got != want {
		t.Errorf("JSON without a key: status %d, want %d", got, want)
	}
	if got, want := hdr.Get("Content-Type"), "application/problem+json"; got != want {
		t.Errorf("JSON without a key: Content-Type %q, want %q", got, want)
	}
	status, _, body := jsonCall(t, http.MethodGet, base+"/v1/shelves/s2/books/b1", "", "X-API-Key", grpcKey)
	if got, want := status, http.StatusOK; got != want {
		t.Fatalf("JSON: status %d, want %d: %s", got, want, body)
	}
	if got, want := body, `"name":"shelves/s2/books/b1"`; !strings.Contains(got, want) {
		t.Errorf("JSON: %s, want it to hold %s", got, want)
	}
	// stream: ndjson, even to a client that accepts SSE.
	status, hdr, body = jsonCall(t, http.MethodGet, base+"/v1/shelves/s/books?pageSize=3", "", "X-API-Key", grpcKey, "Accept", "text/event-stream")
	if got, want := status, http.StatusOK; got != want {
		t.Fatalf("stream: status %d, want %d", got, want)
	}
	if got, want := hdr.Get("Content-Type"), "application/x-ndjson"; got != want {
		t.Errorf("stream: Content-Type %q, want %q", got, want)
	}
	if got, want := strings.Count(body, "\n"), 3; got != want {
		t.Errorf("stream: %d lines, want %d", got, want)
	}

	// A reload keeps the rate limit's count (2 of 4 left), and re-reads
	// the descriptors: a broken file is refused, the last good gateway
	// goes on.
	if err := r.Reload(context.Background()); err != nil {
		t.Fatalf("reload: %v", err)
	}
	for i := range 2 {
		if status, _, body := jsonCall(t, http.MethodGet, base+"/v1/books/b1", "", "X-API-Key", grpcKey); status != http.StatusOK {
			t.Fatalf("call %d after the reload: status %d: %s", i+1, status, body)
		}
	}
	status, hdr, _ = jsonCall(t, http.MethodGet, base+"/v1/books/b1", "", "X-API-Key", grpcKey)
	if got, want := status, http.StatusTooManyRequests; got != want {
		t.Errorf("the fifth JSON call: status %d, want %d", got, want)
	}
	if got, want := hdr.Get("Content-Type"), "application/problem+json"; got != want {
		t.Errorf("the fifth JSON call: Content-Type %q, want %q", got, want)
	}
	descriptors := filepath.Join(filepath.Dir(path), "broken.binpb")
	if err := os.WriteFile(descriptors, []byte("not a descriptor set"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(grpcFile(s.URL, descriptors, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	err = r.Reload(context.Background())
	if err == nil {
		t.Fatal("a reload with a broken descriptor file succeeded")
	}
	if got, want := err.Error(), "routes[1].translate.descriptors"; !strings.Contains(got, want) {
		t.Errorf("reload error %q, want it to name %s", got, want)
	}
	if _, err := c.Echo(authed, &testpb.EchoRequest{Message: "still"}); err != nil {
		t.Errorf("gRPC after the refused reload: %v", err)
	}
}

// TestATranslatingRouteCanReflect builds the translation from the
// upstream's server reflection, and fails the build naming the field
// when the upstream cannot answer.
func TestATranslatingRouteCanReflect(t *testing.T) {
	t.Parallel()
	s := grpctest.Start(t, grpctest.Options{})
	s.Health.SetServingStatus(shelfService, healthpb.HealthCheckResponse_SERVING)
	quiet := slog.New(slog.DiscardHandler)
	path := writeFile(t, "gateway.yaml", []byte(grpcFile(s.URL, "", "reflection: true")))
	g, err := config.LoadGateway(path, gateway.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	addr := grpctest.ServeH2C(t, g)
	status, _, body := jsonCall(t, http.MethodPost, "http://"+addr+"/shelf/portico.grpctest.v1.Shelf/Echo",
		`{"message":"reflected"}`, "X-API-Key", grpcKey)
	if got, want := status, http.StatusOK; got != want {
		t.Fatalf("status %d, want %d: %s", got, want, body)
	}
	if got, want := body, `"message":"reflected"`; !strings.Contains(got, want) {
		t.Errorf("%s, want it to hold %s", got, want)
	}

	// The catalog shows the translated service as OpenAPI generated from
	// the descriptors.
	admin := grpctest.ServeH2C(t, gateway.Admin(gateway.AdminConfig{Gateway: func() *gateway.Gateway { return g }}))
	status, _, body = jsonCall(t, http.MethodGet, "http://"+admin+"/apis/", "")
	if got, want := status, http.StatusOK; got != want {
		t.Fatalf("/apis/: status %d, want %d", got, want)
	}
	if got, want := body, "/apis/shelf-json/"; !strings.Contains(got, want) {
		t.Errorf("/apis/ does not list %s", want)
	}
	status, _, body = jsonCall(t, http.MethodGet, "http://"+admin+"/apis/shelf-json/openapi.json", "")
	if got, want := status, http.StatusOK; got != want {
		t.Fatalf("openapi.json: status %d, want %d", got, want)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Parameters  []struct{ Name, In string }
			RequestBody *struct{} `json:"requestBody"`
			Responses   map[string]struct {
				Content map[string]struct{} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Type   string   `json:"type"`
					Format string   `json:"format"`
					Enum   []string `json:"enum"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	get, ok := doc.Paths["/shelf/v1/shelves/{shelf}/books/{book}"]["get"]
	if !ok {
		t.Fatalf("no GET /shelf/v1/shelves/{shelf}/books/{book} in %v", doc.Paths)
	}
	if got, want := get.OperationID, "portico.grpctest.v1.Shelf.GetBook"; got != want {
		t.Errorf("operationId %q, want %q", got, want)
	}
	if got, want := len(get.Parameters), 3; got < want {
		t.Errorf("GetBook: %d parameters, want at least %d (shelf, book, view): %+v", got, want, get.Parameters)
	}
	if _, ok := get.Responses["default"].Content["application/problem+json"]; !ok {
		t.Errorf("GetBook: no problem+json default response: %+v", get.Responses)
	}
	if _, ok := doc.Paths["/shelf/v1/books/{book}"]["get"]; !ok {
		t.Error("the additional binding GET /shelf/v1/books/{book} is missing")
	}
	if post := doc.Paths["/shelf/v1/shelves/{shelf}/books"]["post"]; post.RequestBody == nil {
		t.Error("CreateBook: no request body")
	}
	if _, ok := doc.Paths["/shelf/v1/shelves/{shelf}/books"]["get"].Responses["200"].Content["application/x-ndjson"]; !ok {
		t.Error("ListBooks: the stream is not application/x-ndjson")
	}
	if _, ok := doc.Paths["/shelf/portico.grpctest.v1.Shelf/Echo"]["post"]; !ok {
		t.Error("Echo's default POST binding is missing")
	}
	book := doc.Components.Schemas["portico.grpctest.v1.Book"].Properties
	for field, want := range map[string]string{"name": "string", "pageCount": "string/int64", "publishedTime": "string/date-time", "tags": "array"} {
		got := book[field].Type
		if book[field].Format != "" {
			got += "/" + book[field].Format
		}
		if got != want {
			t.Errorf("Book.%s: %q, want %q", field, got, want)
		}
	}
	if got := book["genre"].Enum; len(got) == 0 {
		t.Error("Book.genre: no enum values")
	}

	off := grpctest.Start(t, grpctest.Options{NoReflection: true})
	_, err = config.LoadGateway(writeFile(t, "off.yaml", []byte(grpcFile(off.URL, "", "reflection: true"))), gateway.WithLogger(quiet))
	if err == nil {
		t.Fatal("a build reflecting an upstream without reflection succeeded")
	}
	if got, want := err.Error(), "routes[1].translate.reflection"; !strings.Contains(got, want) {
		t.Errorf("error %q, want it to name %s", got, want)
	}
}

// TestAGRPCHealthCheckFollowsTheService checks a pool's instances with
// grpc.health.v1 for the service the file names.
func TestAGRPCHealthCheckFollowsTheService(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		status  healthpb.HealthCheckResponse_ServingStatus
		healthy bool
	}{
		{healthpb.HealthCheckResponse_SERVING, true},
		{healthpb.HealthCheckResponse_NOT_SERVING, false},
	} {
		s := grpctest.Start(t, grpctest.Options{})
		s.Health.SetServingStatus(shelfService, c.status)
		g, err := config.LoadGateway(writeFile(t, "gateway.yaml", []byte(grpcFile(s.URL, writeFile(t, "shelf.binpb", grpctest.DescriptorSet), ""))),
			gateway.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		g.Start(ctx)
		g.Warm(ctx)
		if got, want := g.Upstreams()[0].Instances[0].Healthy, c.healthy; got != want {
			t.Errorf("%v: healthy %v, want %v", c.status, got, want)
		}
		cancel()
		_ = g.Close()
	}
}

func TestGRPCRouteFieldsAreChecked(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, route, want string }{
		{"protocol", `{prefix: /a, upstream: shelf, protocol: soap}`, `routes[0].protocol: "soap" is not a protocol`},
		{"both", `{prefix: /a, upstream: shelf, protocol: grpc, translate: {reflection: true}}`, "routes[0].translate: set protocol: grpc"},
		{"no source", `{prefix: /a, upstream: shelf, translate: {services: [a.B]}}`, "routes[0].translate.descriptors: required"},
		{"two sources", `{prefix: /a, upstream: shelf, translate: {descriptors: x.binpb, reflection: true}}`, "routes[0].translate.reflection: set descriptors or reflection"},
		{"stream", `{prefix: /a, upstream: shelf, translate: {reflection: true, stream: websocket}}`, `routes[0].translate.stream: "websocket" is not a stream format`},
		{"missing file", `{prefix: /a, upstream: shelf, translate: {descriptors: /nonexistent/x.binpb}}`, "routes[0].translate.descriptors:"},
		{"method", `{prefix: /a, upstream: shelf, protocol: grpc, idempotent_methods: [Echo]}`, `routes[0].idempotent_methods[0]: "Echo" is not a gRPC method`},
		{"http idempotent", `{prefix: /a, upstream: shelf, idempotent_methods: [/a.B/C]}`, "routes[0].idempotent_methods: is for protocol: grpc"},
		{"unknown service", `{prefix: /a, upstream: shelf, translate: {descriptors: DESC, services: [no.Such]}}`, "routes[0].translate:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			route := strings.ReplaceAll(c.route, "DESC", writeFile(t, "d.binpb", grpctest.DescriptorSet))
			f, err := config.Parse("gw.yaml", []byte("upstreams: [{name: shelf, instances: [{url: \"http://127.0.0.1:1\"}]}]\nroutes:\n  - "+route+"\n"), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.Build(gateway.WithLogger(slog.New(slog.DiscardHandler)))
			if err == nil {
				t.Fatal("the build succeeded")
			}
			if got := err.Error(); !strings.Contains(got, c.want) {
				t.Errorf("error %q, want it to hold %q", got, c.want)
			}
			var fe *gateway.FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error %T, want a *gateway.FieldError", err)
			}
		})
	}
}

// TestAConfigFileCountsFailuresInTrailers builds a gateway from a config
// file whose gRPC route has a breaker and whose pool ejects outliers, and
// streams calls that fail in trailers after a message: UNAVAILABLE opens
// the instance's breaker and ejects it, INVALID_ARGUMENT does neither.
func TestAConfigFileCountsFailuresInTrailers(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		shelf  string
		code   codes.Code
		failed bool
	}{
		{"invalid", codes.InvalidArgument, false},
		{"broken", codes.Unavailable, true},
	} {
		s := grpctest.Start(t, grpctest.Options{})
		file := `
server: {h2c: true}
upstreams:
  - name: shelf
    instances: [{url: "` + s.URL + `"}]
    outlier: {consecutive_5xx: 3, base_ejection: 1h, max_ejected_percent: 100}
routes:
  - name: shelf-grpc
    prefix: /portico.grpctest.v1.Shelf/
    upstream: shelf
    protocol: grpc
    policy:
      breaker: {failures: 3, delay: 1h}
`
		_, addr := serveReloading(t, writeFile(t, "gateway.yaml", []byte(file)))
		client := testpb.NewShelfClient(grpctest.Dial(t, addr, nil))
		for i := range 3 {
			stream, err := client.ListBooks(context.Background(), &testpb.ListBooksRequest{Shelf: c.shelf, PageSize: 2})
			if err != nil {
				t.Fatalf("%s: call %d: %v", c.shelf, i, err)
			}
			if _, err := stream.Recv(); err != nil {
				t.Fatalf("%s: call %d: the first book: %v", c.shelf, i, err)
			}
			if _, err := stream.Recv(); status.Code(err) != c.code {
				t.Fatalf("%s: call %d: %v, want %v", c.shelf, i, err, c.code)
			}
		}
		_, err := client.Echo(context.Background(), &testpb.EchoRequest{Key: "next"})
		if got, want := status.Code(err) == codes.Unavailable, c.failed; got != want {
			t.Errorf("%s: the next call fails with UNAVAILABLE: %v (%v), want %v", c.shelf, got, err, want)
		}
		if got, want := s.Service.Calls("next") > 0, !c.failed; got != want {
			t.Errorf("%s: the next call reached the instance: %v, want %v", c.shelf, got, want)
		}
	}
}
