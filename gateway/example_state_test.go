package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
)

// A Reloader hands its State to every load, so a reload keeps what the
// gateway learned: here, a daily quota of two requests stays used up.
func ExampleState() {
	svc := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer svc.Close()
	dir, err := os.MkdirTemp("", "portico")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "gateway.yaml")
	write := func(timeout string) {
		file := fmt.Sprintf(`
upstreams: [{name: svc, instances: [{url: %q}]}]
routes:
  - prefix: /api
    upstream: svc
    policy: {timeout: %s, quota: {limit: 2, key: ip}}
`, svc.URL, timeout)
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			panic(err)
		}
	}
	write("5s")

	rl, err := config.NewReloader(config.ReloadConfig{
		Load: func(st *gateway.State) (*gateway.Gateway, error) {
			return config.LoadGateway(path, gateway.WithState(st))
		},
	})
	if err != nil {
		panic(err)
	}
	defer rl.Close()
	srv := httptest.NewServer(rl)
	defer srv.Close()
	get := func() {
		resp, err := http.Get(srv.URL + "/api/orders")
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Print(resp.StatusCode, " ")
	}

	get()
	get()
	get()
	write("10s") // a change that is not the quota's
	if err := rl.Reload(context.Background()); err != nil {
		panic(err)
	}
	get()
	// Output: 200 200 429 429
}
