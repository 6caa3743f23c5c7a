package config_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/platform"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/middleware"
)

func ExampleWithPlatform() {
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "order 1")
	}))
	defer svc.Close()
	orders, _ := upstream.New(upstream.Config{Name: "orders", Instances: []upstream.Instance{{URL: svc.URL}}})

	ctx := context.Background()
	p := platform.New(platform.NewMemoryStore())
	_, _ = p.CreateTenant(ctx, "root", platform.Tenant{ID: "acme"})
	_, _ = p.CreateConsumer(ctx, "root", platform.ConsumerRecord{Consumer: middleware.Consumer{Tenant: "acme", ID: "shop"}})
	_, key, _ := p.CreateKey(ctx, "root", "acme", "shop", time.Time{})
	_, _ = p.PutAPI(ctx, "root", platform.API{
		ID:       "orders",
		Tenant:   "acme",
		State:    platform.Published,
		Approval: platform.Manual,
	})

	g, err := gateway.New(
		gateway.WithUpstream(orders),
		config.WithPlatform(p, nil),
		gateway.WithRoute(gateway.Route{Prefix: "/orders", Upstream: "orders", Policy: gateway.Policy{
			Auth:         &gateway.Auth{Methods: []string{config.PlatformAuth}},
			Subscription: "orders",
		}}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer g.Close()
	srv := httptest.NewServer(g)
	defer srv.Close()

	get := func() {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/orders/1", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		res.Body.Close()
		fmt.Println(res.StatusCode)
	}
	get() // no subscription
	sub, _ := p.Subscribe(ctx, "shop", "acme", "shop", "orders")
	get() // pending approval
	_, _ = p.Approve(ctx, "root", sub.ID)
	get()
	fmt.Println(g.Routes()[0].Chain)
	// Output:
	// 403
	// 403
	// 200
	// [auth(platform) subscription(orders) identity proxy]
}
