package platform_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/portico-dev/portico/gateway/platform"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

func Example() {
	ctx := context.Background()
	p := platform.New(platform.NewMemoryStore())
	_, _ = p.CreateTenant(ctx, "ops", platform.Tenant{ID: "acme"})
	_, _ = p.CreateConsumer(ctx, "ops", platform.ConsumerRecord{Consumer: middleware.Consumer{ID: "shop", Tenant: "acme"}})
	_, secret, _ := p.CreateKey(ctx, "ops", "acme", "shop", time.Time{})
	_, _ = p.PutAPI(ctx, "ops", platform.API{
		ID:       "orders",
		Tenant:   "acme",
		State:    platform.Published,
		Approval: platform.Manual,
	})

	id := p.Identities()
	authn := auth.New(auth.Config{Authenticators: []auth.Authenticator{
		auth.NewAPIKeyAuth(auth.APIKeyConfig{Keys: id, Consumers: id}),
	}})
	orders := authn(p.Guard("orders")(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "order 1")
	})))
	call := func() {
		req := httptest.NewRequest(http.MethodGet, "/orders/1", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		w := httptest.NewRecorder()
		orders.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			var problem struct{ Detail string }
			_ = json.Unmarshal(w.Body.Bytes(), &problem)
			fmt.Println(w.Code, problem.Detail)
			return
		}
		fmt.Println(w.Code, w.Body.String())
	}

	call()
	s, _ := p.Subscribe(ctx, "consumer:shop", "acme", "shop", "orders")
	fmt.Println(s.ID, s.State)
	_, _ = p.Approve(ctx, "alice", s.ID)
	call()
	// Output:
	// 403 API orders needs a subscription: POST {"api":"orders"} to /subscriptions to request one
	// shop.orders pending
	// 200 order 1
}

func ExamplePlatform_Admin() {
	p := platform.New(platform.NewMemoryStore(), platform.WithAdminToken("alice", "alice-secret-token-0001"))
	admin := httptest.NewServer(p.Admin())
	defer admin.Close()

	post := func(path, body string) int {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, admin.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer alice-secret-token-0001")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	fmt.Println(post("/api/tenants", `{"id":"acme","name":"ACME"}`))
	fmt.Println(post("/api/tenants/acme/consumers", `{"id":"shop"}`))
	fmt.Println(post("/api/tenants/acme/consumers", `{"id":"shop"}`)) // exists

	entries, _ := p.Audit(context.Background(), "acme")
	for _, e := range entries {
		fmt.Println(e.Actor, e.Action, e.ID)
	}
	// Output:
	// 201
	// 201
	// 409
	// alice tenant.create acme
	// alice consumer.create shop
}
