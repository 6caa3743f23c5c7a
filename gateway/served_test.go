package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway"
)

// TestServeAnswersARouteWithItsOwnHandler checks the Serve hook: the
// handler gets the request as the proxy would send it, and a transport
// that reaches the upstream through the route's policies.
func TestServeAnswersARouteWithItsOwnHandler(t *testing.T) {
	t.Parallel()
	up := echoServer(t, "svc")
	serve := func(tr http.RoundTripper) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Send the prepared request on as it is, and report what the
			// handler saw along with the upstream's answer.
			out := r.Clone(r.Context())
			out.RequestURI = ""
			resp, err := tr.RoundTrip(out)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			w.Header().Set("X-Seen-Path", r.URL.Path)
			w.Header().Set("X-Seen-Host", r.URL.Host)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.Copy(w, resp.Body)
		})
	}
	_, srv := newGateway(t,
		gateway.WithUpstream(upstreamOf(t, "svc", up)),
		gateway.WithRoute(gateway.Route{
			Prefix:         "/api",
			StripPrefix:    "/api",
			Upstream:       "svc",
			Serve:          serve,
			RequestHeaders: gateway.HeaderEdits{Set: map[string]string{"X-Route": "served"}},
			Policy:         gateway.Policy{Retry: &gateway.Retry{Attempts: 2}},
		}),
	)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/items/7", nil)
	resp, e := do(t, srv.Client(), req)
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("status %d, want %d", got, want)
	}
	if got, want := resp.Header.Get("X-Seen-Path"), "/items/7"; got != want {
		t.Errorf("the handler saw path %q, want %q", got, want)
	}
	if got, want := resp.Header.Get("X-Seen-Host"), "svc"; got != want {
		t.Errorf("the handler saw URL host %q, want the upstream's name %q", got, want)
	}
	if got, want := e.Path, "/items/7"; got != want {
		t.Errorf("the upstream got path %q, want %q", got, want)
	}
	if got, want := e.Header.Get("X-Route"), "served"; got != want {
		t.Errorf("the upstream got X-Route %q, want %q", got, want)
	}
	if got := e.Header.Get("X-Forwarded-For"); !strings.HasPrefix(got, "127.0.0.1") {
		t.Errorf("the upstream got X-Forwarded-For %q, want the client's address", got)
	}
}

func TestServeCannotBeCombinedWithCompose(t *testing.T) {
	t.Parallel()
	_, err := gateway.New(gateway.WithLogger(quiet),
		gateway.WithUpstream(upstreamOf(t, "svc", echoServer(t, "svc"))),
		gateway.WithRoute(gateway.Route{
			Path: "/c", Serve: func(http.RoundTripper) http.Handler { return http.NotFoundHandler() },
			Compose: &gateway.Compose{Calls: []gateway.ComposeCall{{Name: "a", Upstream: "svc", Path: "/a"}}},
		}),
	)
	wantErrContaining(t, err, "serve: cannot be combined with versions or compose")
}
