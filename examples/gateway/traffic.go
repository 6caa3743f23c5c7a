package main

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// trafficCall is one kind of call the demo traffic makes.
type trafficCall struct {
	method, path, body string
	weight             int
}

// trafficCalls are the demo traffic's calls: mostly the subscribed API,
// some misses (404s from the users service), calls to the API awaiting
// approval (403s until it is approved) and now and then a chat completion.
var trafficCalls = []trafficCall{
	{http.MethodGet, "/shop/users", "", 6},
	{http.MethodGet, "/shop/users/1", "", 4},
	{http.MethodGet, "/shop/users/99", "", 1},
	{http.MethodGet, "/shop/orders/42", "", 2},
	{http.MethodPost, "/v1/chat/completions", `{"model":"demo","messages":[{"role":"user","content":"How are the orders doing?"}]}`, 1},
}

// demoTraffic sends a few calls a second to the proxy at base with key,
// until ctx is done: enough for the dashboard to draw within a minute,
// little enough to stay out of the way.
func demoTraffic(ctx context.Context, base, key string, every time.Duration) {
	c := &http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	total := 0
	for _, tc := range trafficCalls {
		total += tc.weight
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n := rand.IntN(total) //nolint:gosec // picking demo calls needs no secure randomness
		call := trafficCalls[0]
		for _, tc := range trafficCalls {
			if n < tc.weight {
				call = tc
				break
			}
			n -= tc.weight
		}
		sendDemoCall(ctx, c, base, key, call)
	}
}

// sendDemoCall makes one demo call and drops the answer.
func sendDemoCall(ctx context.Context, c *http.Client, base, key string, call trafficCall) {
	var body io.Reader
	if call.body != "" {
		body = strings.NewReader(call.body)
	}
	req, err := http.NewRequestWithContext(ctx, call.method, base+call.path, body)
	if err != nil {
		return
	}
	req.Header.Set("X-API-Key", key)
	resp, err := c.Do(req)
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}
