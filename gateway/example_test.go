package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/upstream"
)

func Example() {
	// An upstream service on loopback.
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "users service got %s", r.URL.Path)
	}))
	defer svc.Close()

	users, err := upstream.New(upstream.Config{Name: "users", Instances: []upstream.Instance{{URL: svc.URL}}})
	if err != nil {
		panic(err)
	}
	g, err := gateway.New(
		gateway.WithUpstream(users),
		gateway.WithRoute(gateway.Route{
			Prefix:      "/api/users",
			StripPrefix: "/api",
			Upstream:    "users",
			Policy:      gateway.Policy{Timeout: 5 * time.Second},
		}),
	)
	if err != nil {
		panic(err)
	}
	defer g.Close()

	srv := httptest.NewServer(g)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/users/7")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 users service got /users/7
}

func ExampleGateway_Routes() {
	users, _ := upstream.New(upstream.Config{Name: "users", Instances: []upstream.Instance{{URL: "http://127.0.0.1:9001"}}})
	g, _ := gateway.New(
		gateway.WithUpstream(users),
		gateway.WithMiddleware("auth", func(h http.Handler) http.Handler { return h }),
		gateway.WithChain("request_id", "recover"),
		gateway.WithRoute(gateway.Route{
			Name:     "users",
			Path:     "/users/{id}",
			Upstream: "users",
			Policy:   gateway.Policy{Middleware: []string{"auth"}, Timeout: 2 * time.Second, Retry: &gateway.Retry{Attempts: 3}},
		}),
	)
	defer g.Close()
	for _, r := range g.Routes() {
		fmt.Println(r.Name, r.Path, "->", r.Target.Upstream)
		fmt.Println(strings.Join(r.Chain, " ─► "))
	}
	// Output:
	// users /users/{id} -> users
	// request_id ─► recover ─► identity ─► auth ─► timeout(2s) ─► retry(attempts=3) ─► proxy
}

func ExampleGateway_Lookup() {
	a, _ := upstream.New(upstream.Config{Name: "a", Instances: []upstream.Instance{{URL: "http://127.0.0.1:9001"}}})
	g, _ := gateway.New(gateway.WithUpstream(a), gateway.WithRoute(
		gateway.Route{
			Name:     "api",
			Hosts:    []string{"*.example.com"},
			Prefix:   "/api",
			Upstream: "a",
		},
		gateway.Route{
			Name:     "canary",
			Prefix:   "/api",
			Headers:  map[string]string{"X-Canary": "1"},
			Priority: 10,
			Upstream: "a",
		},
	))
	defer g.Close()
	for _, h := range []string{"", "1"} {
		r := httptest.NewRequest(http.MethodGet, "http://eu.example.com/api/users", nil)
		if h != "" {
			r.Header.Set("X-Canary", h)
		}
		name, ok := g.Lookup(r)
		fmt.Println(name, ok)
	}
	// Output:
	// api true
	// canary true
}

func ExampleWithPathNormalization() {
	files, _ := upstream.New(upstream.Config{Name: "files", Instances: []upstream.Instance{{URL: "http://127.0.0.1:9001"}}})
	routes := gateway.WithRoute(
		gateway.Route{
			Name:        "public",
			Prefix:      "/api/public",
			StripPrefix: "/api",
			Upstream:    "files",
		},
		gateway.Route{
			Name:        "private",
			Prefix:      "/api/private",
			StripPrefix: "/api",
			Upstream:    "files",
		},
	)
	strict, _ := gateway.New(gateway.WithUpstream(files), routes)
	defer strict.Close()
	for _, target := range []string{"/api/public/../private/secret.txt", "/api/public/%2e%2e/private/secret.txt"} {
		name, ok := strict.Lookup(httptest.NewRequest(http.MethodGet, target, nil))
		fmt.Println(target, "->", name, ok)
	}
	w := httptest.NewRecorder()
	strict.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/public/%2e%2e/private/secret.txt", nil))
	fmt.Println(w.Code, w.Header().Get("Content-Type"))

	files2, _ := upstream.New(upstream.Config{Name: "files", Instances: []upstream.Instance{{URL: "http://127.0.0.1:9001"}}})
	decoding, _ := gateway.New(gateway.WithUpstream(files2), routes,
		gateway.WithPathNormalization(gateway.PathNormalization{Escaped: "decode"}))
	defer decoding.Close()
	name, ok := decoding.Lookup(httptest.NewRequest(http.MethodGet, "/api/public/..%2Fprivate/secret.txt", nil))
	fmt.Println("decoded ->", name, ok)
	// Output:
	// /api/public/../private/secret.txt -> private true
	// /api/public/%2e%2e/private/secret.txt ->  false
	// 400 application/problem+json
	// decoded -> private true
}

// greeter is a part: it serves one endpoint in the gateway's route table.
type greeter struct{}

func (greeter) Prepare(*gateway.Builder) error { return nil }

func (greeter) Mount(b *gateway.Builder) error {
	b.Endpoint(gateway.Endpoint{
		Kind:    "greeting",
		Label:   "the greeting",
		Name:    "greeting",
		Method:  http.MethodGet,
		Path:    "/hello",
		At:      "greeting",
		Chain:   []string{"greet"},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") }),
	})
	return nil
}

func ExampleWithPart() {
	g, err := gateway.New(gateway.WithPart(greeter{}))
	if err != nil {
		panic(err)
	}
	defer g.Close()
	for _, r := range g.Routes() {
		fmt.Println(r.Kind, r.Name, r.Path)
	}
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/hello", nil))
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// greeting greeting /hello
	// 200 hello
}
