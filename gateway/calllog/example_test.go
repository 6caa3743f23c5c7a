package calllog_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/portico-dev/portico/gateway/calllog"
)

func Example() {
	ring := calllog.NewRing(1000)
	agg := calllog.NewAggregator(calllog.AggregatorConfig{})
	rec := calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{ring, agg}})
	defer rec.Close(context.Background())

	h := calllog.Middleware(calllog.MiddlewareConfig{
		Recorder: rec,
		API:      func(*http.Request) string { return "orders" },
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calllog.FromContext(r.Context()).Upstream = "orders-1"
		if r.URL.Path == "/orders/broken" {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	for _, path := range []string{"/orders/1", "/orders/2", "/orders/broken"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	_ = rec.Flush(context.Background())

	s := agg.Summary(calllog.Query{By: calllog.ByAPI, Key: "orders"})
	fmt.Printf("requests %d, errors %d, error rate %.2f\n", s.Requests, s.Errors, s.ErrorRate)
	for _, r := range ring.Query(calllog.Filter{Failed: true}) {
		fmt.Println("failed:", r.Method, r.Status, r.Upstream)
	}
	// Output:
	// requests 3, errors 1, error rate 0.33
	// failed: GET 502 orders-1
}

func ExampleSketch() {
	s := calllog.NewSketch(0.01) // within 1%
	for i := 1; i <= 1000; i++ {
		s.Add(float64(time.Duration(i) * time.Millisecond))
	}
	p99 := time.Duration(s.Quantile(0.99))
	fmt.Println(p99.Round(10 * time.Millisecond))
	// Output: 990ms
}
