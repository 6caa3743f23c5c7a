package openapitest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portico-dev/portico/openapi"
	"github.com/portico-dev/portico/openapi/openapitest"
)

// In a real test, pass the test's *testing.T; this example records the
// failure to show it.
func ExampleClient_Do() {
	s, err := openapi.Parse([]byte(spec))
	if err != nil {
		panic(err)
	}
	service := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"7","name":"Ada"}`) // id should be an integer
	})
	t := &recorder{TB: &testing.T{}}
	c := openapitest.New(t, s, service)
	res := c.Do(httptest.NewRequest(http.MethodGet, "/users/7", nil))
	res.Body.Close()
	fmt.Println(res.StatusCode)
	fmt.Println(t.errs[0])
	// Output:
	// 200
	// openapitest: GET /users/7: status 200: portico/openapi: the response does not match the API contract: body /id: must be integer, got string
}
