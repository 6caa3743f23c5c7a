package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/middleware"
)

// echoingIDServer is an upstream that describes each request, like
// echoServer, and echoes the X-Request-ID it received, as many services do.
func echoingIDServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for _, v := range r.Header.Values("X-Request-Id") {
			w.Header().Add("X-Request-Id", v)
		}
		_ = json.NewEncoder(w).Encode(echo{Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRegressionTheUpstreamGotNoRequestIDOrARejectedOne(t *testing.T) {
	t.Parallel()
	for _, up := range []struct {
		name string
		srv  func(*testing.T) *httptest.Server
	}{
		{"an upstream that ignores the ID", func(t *testing.T) *httptest.Server { return echoServer(t, "app") }},
		{"an upstream that echoes the ID", echoingIDServer},
	} {
		t.Run(up.name, func(t *testing.T) {
			t.Parallel()
			_, gw := newGateway(t, gateway.WithUpstream(upstreamOf(t, "app", up.srv(t))),
				gateway.WithChain("request_id"),
				gateway.WithRoute(gateway.Route{Prefix: "/", Upstream: "app"}))
			tests := []struct {
				name string
				sent []string // the client's X-Request-ID lines
				keep bool     // whether the gateway keeps the client's ID
			}{
				{"a request without an ID gets the generated one", nil, false},
				{"a valid client ID is kept", []string{"order-42:retry.1"}, true},
				{"two ID headers are replaced", []string{"first", "second"}, false},
				{"a script tag is replaced", []string{"<script>alert(1)</script>"}, false},
				{"a 4 KB ID is replaced", []string{strings.Repeat("a", 4096)}, false},
				{"an ID with a control character is replaced", []string{"abc\tdef"}, false},
				{"an ID with a space is replaced", []string{"abc def"}, false},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					req, _ := http.NewRequest(http.MethodGet, gw.URL+"/orders", nil)
					req.Header["X-Request-Id"] = tt.sent
					resp, e := do(t, gw.Client(), req)
					upstream := e.Header.Values("X-Request-Id")
					if got, want := len(upstream), 1; got != want {
						t.Fatalf("the upstream got %d X-Request-ID headers %q, want %d", got, upstream, want)
					}
					client := resp.Header.Values("X-Request-Id")
					if got, want := len(client), 1; got != want {
						t.Fatalf("the response has %d X-Request-ID headers %q, want %d", got, client, want)
					}
					if got, want := upstream[0], client[0]; got != want {
						t.Errorf("the upstream got ID %q, the client %q; want the same", got, want)
					}
					if tt.keep {
						if got, want := upstream[0], tt.sent[0]; got != want {
							t.Errorf("the upstream got ID %q, want the client's %q", got, want)
						}
						return
					}
					if slices.Contains(tt.sent, upstream[0]) {
						t.Errorf("the upstream got the client's rejected ID %q", upstream[0])
					}
					if got, want := len(upstream[0]), 26; got != want {
						t.Errorf("the upstream got ID %q of %d characters, want a %d-character ULID", upstream[0], got, want)
					}
				})
			}
		})
	}
}

func TestTheRequestIDHeaderFollowsTheRequestIDMiddlewaresConfiguration(t *testing.T) {
	t.Parallel()
	_, gw := newGateway(t, gateway.WithUpstream(upstreamOf(t, "app", echoServer(t, "app"))),
		gateway.WithMiddleware("correlation", middleware.RequestID(middleware.RequestIDConfig{
			Header: "X-Correlation-ID", Generate: func() string { return "gw-1" }})),
		gateway.WithChain("correlation"),
		gateway.WithRoute(gateway.Route{Prefix: "/", Upstream: "app"}))
	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/", nil)
	req.Header.Set("X-Correlation-ID", "<bad>")
	req.Header.Set("X-Request-ID", "not-the-gateways-header")
	_, e := do(t, gw.Client(), req)
	if got, want := e.Header.Values("X-Correlation-Id"), []string{"gw-1"}; !slices.Equal(got, want) {
		t.Errorf("the upstream got X-Correlation-ID %q, want %q", got, want)
	}
	if got, want := e.Header.Get("X-Request-Id"), "not-the-gateways-header"; got != want {
		t.Errorf("the upstream got X-Request-ID %q, want the client's %q: the gateway does not read that header", got, want)
	}
}

func TestWithoutTheRequestIDMiddlewareTheHeaderPassesAsSent(t *testing.T) {
	t.Parallel()
	_, gw := newGateway(t, gateway.WithUpstream(upstreamOf(t, "app", echoingIDServer(t))),
		gateway.WithRoute(gateway.Route{Prefix: "/", Upstream: "app"}))
	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/", nil)
	req.Header.Set("X-Request-ID", "client-7")
	resp, e := do(t, gw.Client(), req)
	if got, want := e.Header.Values("X-Request-Id"), []string{"client-7"}; !slices.Equal(got, want) {
		t.Errorf("the upstream got X-Request-ID %q, want %q", got, want)
	}
	if got, want := resp.Header.Values("X-Request-Id"), []string{"client-7"}; !slices.Equal(got, want) {
		t.Errorf("the response has X-Request-ID %q, want the upstream's %q", got, want)
	}
}

func TestMirroredAndComposedCallsCarryTheGatewaysRequestID(t *testing.T) {
	t.Parallel()
	shadow := make(chan http.Header, 1)
	mirror := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		shadow <- r.Header.Clone()
	}))
	t.Cleanup(mirror.Close)
	_, gw := newGateway(t, gateway.WithUpstream(upstreamOf(t, "app", echoServer(t, "app"))),
		gateway.WithUpstream(upstreamOf(t, "shadow", mirror)),
		gateway.WithChain("request_id"),
		gateway.WithRoute(
			gateway.Route{Path: "/mirrored", Upstream: "app", Mirror: &gateway.Mirror{Upstream: "shadow"}},
			gateway.Route{Path: "/composed", Compose: &gateway.Compose{
				Headers: []string{"X-Request-ID"},
				Calls: []gateway.ComposeCall{{
					Name:     "a",
					Key:      "a",
					Upstream: "app",
					Path:     "/a",
				}}}}))

	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/mirrored", nil)
	req.Header.Set("X-Request-ID", "<script>")
	resp, _ := do(t, gw.Client(), req)
	if got, want := (<-shadow).Values("X-Request-Id"), resp.Header.Values("X-Request-Id"); !slices.Equal(got, want) {
		t.Errorf("the mirrored copy got X-Request-ID %q, want the gateway's %q", got, want)
	}

	req, _ = http.NewRequest(http.MethodGet, gw.URL+"/composed", nil)
	req.Header.Set("X-Request-ID", "<script>")
	resp, err := gw.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var composed struct{ A echo }
	if err := json.Unmarshal(body, &composed); err != nil {
		t.Fatalf("composed body %s: %v", body, err)
	}
	if got, want := composed.A.Header.Values("X-Request-Id"), resp.Header.Values("X-Request-Id"); !slices.Equal(got, want) {
		t.Errorf("the composed call got X-Request-ID %q, want the gateway's %q", got, want)
	}
}
