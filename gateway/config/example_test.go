package config_test

import (
	"fmt"

	"github.com/portico-dev/portico/gateway/config"
)

func ExampleParse() {
	const file = `
upstreams:
  - name: users
    instances: [{url: "${USERS_URL:-http://127.0.0.1:9001}"}]
routes:
  - path: /users/{id}
    upstream: users
    policy: {timeout: -1s}
`
	c, err := config.Parse("gateway.yaml", []byte(file), nil)
	if err != nil {
		panic(err)
	}
	_, err = c.Build()
	fmt.Println(err)
	// Output: portico/gateway: gateway.yaml:8: routes[0].policy.timeout: must not be negative, got -1s
}
