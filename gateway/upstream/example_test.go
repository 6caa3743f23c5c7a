package upstream_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/portico-dev/portico/gateway/upstream"
)

// Two instances behind a pool used as an http.Client's transport: the
// weighted round robin sends two requests to blue for each one to green.
func Example() {
	blue := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "blue") }))
	defer blue.Close()
	green := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "green") }))
	defer green.Close()

	pool, err := upstream.New(upstream.Config{
		Name:      "colors",
		Instances: []upstream.Instance{{URL: blue.URL, Weight: 2}, {URL: green.URL, Weight: 1}},
		Balancer:  upstream.WeightedRoundRobin,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	pool.Start(context.Background())
	defer pool.Close()

	client := &http.Client{Transport: pool}
	for range 6 {
		// The URL's host is a placeholder: the pool picks the instance.
		resp, err := client.Get("http://colors/")
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(string(body), " ")
	}
	fmt.Println()
	// Output: blue green blue blue green blue
}

// New reports a mistake in the configuration with the field that holds it.
func ExampleNew_validation() {
	_, err := upstream.New(upstream.Config{
		Name:      "api",
		Instances: []upstream.Instance{{URL: "http://10.0.0.1:8080"}, {URL: "10.0.0.2:8080"}},
	})
	fmt.Println(err)
	// Output: instances[1].url: "10.0.0.2:8080" has no scheme; use http://10.0.0.2:8080
}

// The short form of a hash key, as a configuration file writes it.
func ExampleParseHashKey() {
	for _, s := range []string{"header:X-User-ID", "sticky-cookie:affinity", "client_ip"} {
		k, err := upstream.ParseHashKey(s)
		fmt.Printf("header=%q cookie=%q sticky=%v client_ip=%v err=%v\n", k.Header, k.Cookie, k.Sticky, k.ClientIP, err)
	}
	// Output:
	// header="X-User-ID" cookie="" sticky=false client_ip=false err=<nil>
	// header="" cookie="affinity" sticky=true client_ip=false err=<nil>
	// header="" cookie="" sticky=false client_ip=true err=<nil>
}

// With TrackAttempts on the request context, the attempts of a retrying
// transport around the pool go to instances not yet tried: even the users
// whose key hashes to the failing instance are served on the second try.
func ExampleTrackAttempts() {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer up.Close()
	pool, _ := upstream.New(upstream.Config{
		Name:      "api",
		Instances: []upstream.Instance{{URL: down.URL}, {URL: up.URL}},
		Balancer:  upstream.ConsistentHash,
		HashOn:    upstream.HashKey{Header: "X-User"},
	})
	defer pool.Close()

	served := 0
	for _, user := range []string{"ann", "bob", "cid", "dee", "eve", "fay"} {
		// One logical request: one tracking context for all its attempts.
		ctx := upstream.TrackAttempts(context.Background())
		for attempt := 1; attempt <= 2; attempt++ {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://api/", nil)
			req.Header.Set("X-User", user)
			resp, err := pool.RoundTrip(req)
			if err != nil {
				fmt.Println(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				served++
				break
			}
		}
	}
	fmt.Println(served, "of 6 users served within two attempts")
	// Output: 6 of 6 users served within two attempts
}

// With the peak-EWMA balancer, a pool learns from one slow response to
// leave an instance alone: of twenty requests, the instance that answers
// 100ms late gets only the first one or two, sent before the pool knew.
func Example_peakEWMA() {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(100 * time.Millisecond)
		io.WriteString(w, "slow")
	}))
	defer slow.Close()
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fast") }))
	defer fast.Close()
	pool, _ := upstream.New(upstream.Config{
		Name:      "api",
		Instances: []upstream.Instance{{URL: slow.URL}, {URL: fast.URL}},
		Balancer:  upstream.PeakEWMA,
		// Slow responses also eject, as failures do.
		Outlier: &upstream.OutlierDetection{Slow: &upstream.SlowOutlier{Threshold: time.Second, Consecutive: 3}},
	})
	defer pool.Close()

	client := &http.Client{Transport: pool}
	answers := map[string]int{}
	for range 20 {
		resp, err := client.Get("http://api/")
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answers[string(body)]++
	}
	fmt.Println("fast answered at least 18 of 20:", answers["fast"] >= 18)
	// Output: fast answered at least 18 of 20: true
}
