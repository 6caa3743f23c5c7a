package gateway_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

// helloPart is a part built with the core's extension points only: an
// authenticator, the subscription guard, an endpoint, an admin handler,
// a fallback for its prefix, and start and close hooks.
type helloPart struct {
	started, closed atomic.Int64
	prepareErr      error
}

func (p *helloPart) Prepare(b *gateway.Builder) error {
	if p.prepareErr != nil {
		return p.prepareErr
	}
	b.Apply(gateway.WithAuthenticator("hello_key", auth.NewAPIKeyAuth(auth.APIKeyConfig{Keys: auth.NewMemoryAPIKeys(), Consumers: middleware.NewMemoryConsumers()})))
	b.Subscriptions(func(api string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if api != "open" {
					http.Error(w, "not subscribed to "+api, http.StatusForbidden)
					return
				}
				next.ServeHTTP(w, r)
			})
		}
	})
	b.OnStart(func(context.Context) { p.started.Add(1) })
	b.OnClose(closerFunc(func() error { p.closed.Add(1); return nil }))
	return nil
}

func (p *helloPart) Mount(b *gateway.Builder) error {
	// What Prepare applied is built by now.
	if _, ok := b.Authenticator("hello_key"); !ok || !slices.Contains(b.Authenticators(), "hello_key") {
		return &gateway.FieldError{Path: "hello", Msg: "the authenticator applied in Prepare is missing at Mount"}
	}
	b.Endpoint(gateway.Endpoint{
		Kind:    "hello",
		Label:   "the hello endpoint",
		Name:    "hello",
		Method:  http.MethodGet,
		Path:    "/hello",
		At:      "hello.path",
		Chain:   []string{"hello"},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") }),
	})
	b.NotFound("/hello", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such hello", http.StatusTeapot)
	}))
	return b.Admin("/hello/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "admin "+r.URL.Path)
	}))
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func TestAPartMountsItsEndpointAdminHandlerFallbackAndHooks(t *testing.T) {
	t.Parallel()
	part := &helloPart{}
	orders := echoServer(t, "orders")
	g, err := gateway.New(gateway.WithLogger(quiet), gateway.WithPart(part),
		gateway.WithUpstream(upstreamOf(t, "orders", orders)),
		gateway.WithRoute(
			gateway.Route{
				Name:     "open",
				Path:     "/open",
				Upstream: "orders",
				Policy:   gateway.Policy{Auth: &gateway.Auth{Anonymous: true}, Subscription: "open"},
			},
			gateway.Route{
				Name:     "closed",
				Path:     "/closed",
				Upstream: "orders",
				Policy:   gateway.Policy{Auth: &gateway.Auth{Anonymous: true}, Subscription: "closed"},
			}))
	if err != nil {
		t.Fatal(err)
	}
	g.Start(t.Context())
	g.Start(t.Context())
	srv := httptest.NewServer(g)
	defer srv.Close()
	admin := httptest.NewServer(gateway.Admin(gateway.AdminConfig{Gateway: func() *gateway.Gateway { return g }}))
	defer admin.Close()

	for _, tt := range []struct {
		url    string
		status int
		body   string
	}{
		{srv.URL + "/hello", http.StatusOK, "hello"},
		{srv.URL + "/hello/nothing", http.StatusTeapot, "no such hello"},
		{srv.URL + "/open", http.StatusOK, `"server":"orders"`},
		{srv.URL + "/closed", http.StatusForbidden, "not subscribed to closed"},
		{admin.URL + "/hello/x", http.StatusOK, "admin /hello/x"},
		{admin.URL + "/nothing", http.StatusNotFound, "/hello/"},
	} {
		status, body := get(t, http.DefaultClient, tt.url)
		if status != tt.status {
			t.Errorf("GET %s: status %d, want %d", tt.url, status, tt.status)
		}
		if !strings.Contains(body, tt.body) {
			t.Errorf("GET %s: body %q, want it to contain %q", tt.url, body, tt.body)
		}
	}
	name, ok := g.Lookup(httptest.NewRequest(http.MethodGet, "/hello", nil))
	if !ok {
		t.Error("Lookup(/hello) matched nothing, want hello")
	} else if got, want := name, "hello"; got != want {
		t.Errorf("Lookup(/hello) = %q, want %q", got, want)
	}
	kinds := map[string]string{}
	for _, ri := range g.Routes() {
		kinds[ri.Name] = ri.Kind
	}
	if got, want := kinds["hello"], "hello"; got != want {
		t.Errorf("Routes() lists hello as kind %q, want %q", got, want)
	}
	if got, want := part.started.Load(), int64(1); got != want {
		t.Errorf("OnStart ran %d times for two Starts, want %d", got, want)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := part.closed.Load(), int64(1); got != want {
		t.Errorf("OnClose ran %d times, want %d", got, want)
	}
}

func TestAnEndpointOverlappingARouteIsABuildErrorNamingBoth(t *testing.T) {
	t.Parallel()
	_, err := gateway.New(gateway.WithLogger(quiet), gateway.WithPart(&helloPart{}),
		gateway.WithUpstream(upstreamOf(t, "orders", echoServer(t, "orders"))),
		gateway.WithRoute(gateway.Route{Prefix: "/hello", Upstream: "orders"}))
	if err == nil {
		t.Fatal("the overlap was accepted")
	}
	want := `routes[0].prefix: "/hello" overlaps the hello endpoint "GET /hello" (hello.path)`
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %v\nwant one containing %s", err, want)
	}
}

func TestAPartWhosePrepareFailsIsNotMountedAndFailsTheBuild(t *testing.T) {
	t.Parallel()
	boom := &gateway.FieldError{Path: "hello", Msg: "cannot prepare"}
	part := &helloPart{prepareErr: boom}
	_, err := gateway.New(gateway.WithLogger(quiet), gateway.WithPart(part))
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want the part's", err)
	}
	if got := part.closed.Load(); got != 0 {
		t.Errorf("the part's closer ran %d times, want 0: it never registered one", got)
	}
}

// counterPart borrows a keptCounter from the state under its setting.
type counterPart struct {
	setting string
	got     *keptCounter
}

type keptCounter struct {
	n      atomic.Int64
	closed atomic.Int64
}

func (c *keptCounter) Close() error { c.closed.Add(1); return nil }

func (p *counterPart) Prepare(b *gateway.Builder) error {
	v, err := b.Keep("test_counter", func() (any, error) { return &keptCounter{}, nil }, p.setting)
	if err != nil {
		return err
	}
	p.got = v.(*keptCounter)
	return nil
}

func (p *counterPart) Mount(*gateway.Builder) error { return nil }

func TestAPartKeepsItsPieceAcrossBuildsWhileItsSettingsHold(t *testing.T) {
	t.Parallel()
	st := gateway.NewState()
	build := func(setting string) (*gateway.Gateway, *keptCounter) {
		t.Helper()
		p := &counterPart{setting: setting}
		g, err := gateway.New(gateway.WithLogger(quiet), gateway.WithState(st), gateway.WithPart(p))
		if err != nil {
			t.Fatal(err)
		}
		return g, p.got
	}
	g1, c1 := build("v1")
	c1.n.Add(3)
	g2, c2 := build("v1")
	g3, c3 := build("v2")
	if c2 != c1 {
		t.Error("a build with the same settings got a new piece, want the previous build's")
	}
	if c3 == c1 {
		t.Error("a build with other settings got the previous piece, want a new one")
	}
	for _, g := range []*gateway.Gateway{g1, g2} {
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := c1.closed.Load(), int64(1); got != want {
		t.Errorf("the piece was closed %d times once no gateway used it, want %d", got, want)
	}
	if got := c3.closed.Load(); got != 0 {
		t.Errorf("the piece still in use was closed %d times, want 0", got)
	}
	if err := g3.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := c3.closed.Load(), int64(1); got != want {
		t.Errorf("the last piece was closed %d times, want %d", got, want)
	}
}
