package problem_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/portico-dev/portico/internal/problem"
)

func ExampleWrite() {
	w := httptest.NewRecorder()
	p := problem.New(http.StatusTooManyRequests, "rate limit of 10 requests per second exceeded")
	w.Header().Set("Retry-After", "1")
	problem.Write(w, httptest.NewRequest(http.MethodGet, "/orders", nil), p)
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	fmt.Print(w.Body.String())
	// Output:
	// 429 application/problem+json
	// {"detail":"rate limit of 10 requests per second exceeded","status":429,"title":"Too Many Requests","type":"about:blank"}
}
