package config_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/openapi"
)

func ExampleWithConsumers() {
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.Header.Get("X-Consumer-ID"))
	}))
	defer svc.Close()
	orders, _ := upstream.New(upstream.Config{Name: "orders", Instances: []upstream.Instance{{URL: svc.URL}}})

	g, err := gateway.New(
		gateway.WithUpstream(orders),
		config.WithConsumers(config.ConsumerConfig{
			Consumer: middleware.Consumer{ID: "alice", Plan: "gold", Scopes: []string{"orders:read"}},
			Keys:     []config.APIKeyConfig{{ID: "alice-1", Secret: "s3cr3t-key-of-alice"}},
		}),
		gateway.WithRoute(gateway.Route{Path: "/orders", Upstream: "orders", Policy: gateway.Policy{
			Auth:      &gateway.Auth{Scopes: []string{"orders:read"}},
			RateLimit: &gateway.RateLimit{Requests: 1, Per: time.Minute},
		}}),
	)
	if err != nil {
		panic(err)
	}
	defer g.Close()
	srv := httptest.NewServer(g)
	defer srv.Close()

	for _, key := range []string{"", "s3cr3t-key-of-alice", "s3cr3t-key-of-alice"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/orders", nil)
		if key != "" {
			req.Header.Set("X-API-Key", key)
		}
		req.Header.Set("X-Consumer-ID", "mallory") // never reaches the upstream
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		var b strings.Builder
		_, _ = fmt.Fprint(&b, resp.StatusCode)
		if resp.StatusCode == http.StatusOK {
			buf := make([]byte, 64)
			n, _ := resp.Body.Read(buf)
			b.WriteString(" " + string(buf[:n]))
		}
		resp.Body.Close()
		fmt.Println(b.String())
	}
	// Output:
	// 401
	// 200 hello alice
	// 429
}

func ExampleWithAPI() {
	const doc = `{"openapi": "3.0.3", "info": {"title": "Pets", "version": "1"},
	  "paths": {"/pets/{id}": {"get": {"operationId": "getPet",
	    "x-portico-timeout": "2s",
	    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
	    "responses": {"200": {"description": "a pet"}}}}}}`
	spec, err := openapi.Parse([]byte(doc))
	if err != nil {
		panic(err)
	}
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "pet service got %s", r.URL.Path)
	}))
	defer svc.Close()
	pets, _ := upstream.New(upstream.Config{Name: "pets", Instances: []upstream.Instance{{URL: svc.URL}}})

	g, err := gateway.New(gateway.WithUpstream(pets),
		config.WithAPI(config.API{
			Name:     "pets",
			Spec:     spec,
			Upstream: "pets",
			Prefix:   "/v1",
			Validate: "requests",
		}))
	if err != nil {
		panic(err)
	}
	defer g.Close()
	for _, r := range g.Routes() {
		fmt.Println(r.Name, r.Methods, r.Path, strings.Join(r.Chain, " ─► "))
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	for _, path := range []string{"/v1/pets/7", "/v1/pets/seven"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(path, resp.StatusCode)
	}
	// Output:
	// pets getPet [GET] /v1/pets/{id} identity ─► validate ─► timeout(2s) ─► proxy
	// /v1/pets/7 200
	// /v1/pets/seven 400
}
