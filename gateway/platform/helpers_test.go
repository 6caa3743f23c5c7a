package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/gateway/platform"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const adminToken = "admin-token-0123456789abcdef"

// upstream is a real service on loopback: /fail answers 502 with no body,
// everything else echoes the path and the consumer headers it received.
func upstream(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/fail") {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// gateway is one replica: a platform over store, its admin server and a
// public server that authenticates API keys, records calls and guards the
// "orders" and "reports" APIs in front of a real upstream.
type gateway struct {
	p      *platform.Platform
	admin  *httptest.Server
	public *httptest.Server
	rec    *calllog.Recorder
	ring   *calllog.Ring
	agg    *calllog.Aggregator
}

func newGateway(t testing.TB, store platform.Store, opts ...platform.Option) *gateway {
	t.Helper()
	g := &gateway{ring: calllog.NewRing(1000), agg: calllog.NewAggregator(calllog.AggregatorConfig{})}
	g.rec = calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{g.ring, g.agg}})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = g.rec.Close(ctx)
	})
	opts = append([]platform.Option{platform.WithAdminToken("root", adminToken),
		platform.WithCallLog(g.ring, g.agg), platform.WithSubscribeURL("/subscriptions")}, opts...)
	g.p = platform.New(store, opts...)
	up := upstream(t)
	target, _ := url.Parse(up.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	keys := []auth.Authenticator{g.p.KeyAuth(auth.APIKeyConfig{})}
	authn := auth.New(auth.Config{Authenticators: keys})
	// The portal lets requests without a key through, to send browsers to
	// its sign-in form.
	portal := auth.New(auth.Config{Authenticators: keys, Anonymous: true})(g.p.Portal())
	mux := http.NewServeMux()
	mux.Handle("/orders/", authn(g.p.Guard("orders")(proxy)))
	mux.Handle("/reports/", authn(g.p.Guard("reports")(proxy)))
	mux.Handle("/subscriptions", portal)
	mux.Handle("/subscriptions/", portal)
	public := middleware.Chain(
		middleware.RequestID(middleware.RequestIDConfig{}),
		calllog.Middleware(calllog.MiddlewareConfig{Recorder: g.rec}),
	)(mux)
	g.public = httptest.NewServer(public)
	t.Cleanup(g.public.Close)
	g.admin = httptest.NewServer(g.p.Admin())
	t.Cleanup(g.admin.Close)
	return g
}

// flush waits until the recorder handed every record to the sinks.
func (g *gateway) flush(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

func send(t testing.TB, method, u, token string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, b}
}

// adm sends an admin API request with the admin credential and fails the
// test unless the status is want.
func (g *gateway) adm(t testing.TB, method, path string, body any, want int) response {
	t.Helper()
	r := send(t, method, g.admin.URL+path, adminToken, body)
	if r.status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

// call sends a public request with an API key.
func (g *gateway) call(t testing.TB, method, path, key string, body any) response {
	t.Helper()
	return send(t, method, g.public.URL+path, key, body)
}

// seed creates tenants acme and globex, a consumer in each, a key for each
// and the APIs: orders (acme, public, manual approval, published) and
// reports (globex, tenant-only, auto approval, published). It returns the
// keys of acme's "shop" and globex's "ledger".
func (g *gateway) seed(t testing.TB) (shopKey, ledgerKey string) {
	t.Helper()
	for _, tn := range []string{"acme", "globex"} {
		g.adm(t, http.MethodPost, "/api/tenants", map[string]any{"id": tn, "name": strings.ToUpper(tn)}, http.StatusCreated)
	}
	g.adm(t, http.MethodPost, "/api/tenants/acme/consumers", map[string]any{"id": "shop", "plan": "gold"}, http.StatusCreated)
	g.adm(t, http.MethodPost, "/api/tenants/globex/consumers", map[string]any{"id": "ledger"}, http.StatusCreated)
	var k struct{ Secret string }
	g.adm(t, http.MethodPost, "/api/tenants/acme/consumers/shop/keys", map[string]any{}, http.StatusCreated).json(t, &k)
	shopKey = k.Secret
	g.adm(t, http.MethodPost, "/api/tenants/globex/consumers/ledger/keys", nil, http.StatusCreated).json(t, &k)
	ledgerKey = k.Secret
	g.adm(t, http.MethodPut, "/api/apis/orders", map[string]any{"tenant": "acme", "name": "Orders",
		"visibility": "public", "approval": "manual", "state": "published", "docs": "/docs/orders/"}, http.StatusOK)
	g.adm(t, http.MethodPut, "/api/apis/reports", map[string]any{"tenant": "globex", "name": "Reports",
		"visibility": "tenant", "approval": "auto", "state": "published"}, http.StatusOK)
	return shopKey, ledgerKey
}

// problemOf decodes a problem document.
func problemOf(t testing.TB, r response) map[string]any {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type %q, want a problem document; body %s", ct, r.body)
	}
	var p map[string]any
	r.json(t, &p)
	return p
}

// subFacts is what a test compares of a subscription at once: its state
// and whose it is.
type subFacts struct {
	State            platform.SubState
	Tenant, Consumer string
}
