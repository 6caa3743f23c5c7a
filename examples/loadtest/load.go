package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// workload is one kind of request the load generator sends.
type workload struct {
	name   string
	method string
	path   string
	body   []byte
	// stream marks a streamed AI call, read to its end like any other.
	stream bool
}

// apiKey is the consumer key every request carries; the bare proxy
// passes it on, the gateway checks it where a route asks.
const apiKey = "loadtest-key"

var (
	post1KiB   = bytes.Repeat([]byte("x"), 1<<10)
	chatWhole  = []byte(`{"model":"bench","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say something about gateways."}]}`)
	chatStream = []byte(`{"model":"bench","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say something about gateways."}]}`)

	getLoad    = workload{name: "GET", method: http.MethodGet, path: "/bench/items/7"}
	postLoad   = workload{name: "POST 1 KiB", method: http.MethodPost, path: "/bench/items", body: post1KiB}
	aiWhole    = workload{name: "AI", method: http.MethodPost, path: "/v1/chat/completions", body: chatWhole}
	aiStreamed = workload{name: "AI stream", method: http.MethodPost, path: "/v1/chat/completions", body: chatStream, stream: true}
)

// newClient is the load generator's client: conns keep-alive connections.
func newClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}}
}

// newRequest builds a request of w to base.
func (w workload) newRequest(ctx context.Context, base string) *http.Request {
	var body io.Reader
	if w.body != nil {
		body = bytes.NewReader(w.body)
	}
	req, err := http.NewRequestWithContext(ctx, w.method, base+w.path, body)
	if err != nil {
		panic(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	if w.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// load is what a drive counted.
type load struct {
	ok, failed int64
	elapsed    time.Duration
	firstErr   error
}

// err is the first failure, or errNoCall when no call ended at all.
func (l load) err() error { return cmp.Or(l.firstErr, errNoCall) }

// errNoCall is a drive in which no call ended.
var errNoCall = errors.New("no call ended in time")

// drive sends w to base from conns workers for d, each reading every
// answer to its end, and counts the answers. Calls in flight when d is
// over are finished, not cut, so that connections stay open from one
// drive to the next.
func drive(ctx context.Context, c *http.Client, base string, w workload, conns int, d time.Duration) load {
	var ok, failed atomic.Int64
	var once sync.Once
	var firstErr error
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				if err := call(ctx, c, base, w); err != nil {
					failed.Add(1)
					once.Do(func() { firstErr = err })
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	return load{ok: ok.Load(), failed: failed.Load(), elapsed: time.Since(start), firstErr: firstErr}
}

// call makes one request and reads its answer to the end.
func call(ctx context.Context, c *http.Client, base string, w workload) error {
	res, err := c.Do(w.newRequest(ctx, base))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %d", w.method, w.path, res.StatusCode)
	}
	return nil
}

// firstByte makes n streamed calls one at a time and returns the median
// time from sending each to reading the first byte of its body.
func firstByte(ctx context.Context, c *http.Client, base string, w workload, n int) (time.Duration, error) {
	times := make([]time.Duration, 0, n)
	buf := make([]byte, 1)
	for range n {
		start := time.Now()
		res, err := c.Do(w.newRequest(ctx, base))
		if err != nil {
			return 0, err
		}
		_, err = io.ReadFull(res.Body, buf)
		took := time.Since(start)
		if err == nil {
			_, err = io.Copy(io.Discard, res.Body)
		}
		res.Body.Close()
		if err != nil {
			return 0, err
		}
		if res.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("%s %s: status %d", w.method, w.path, res.StatusCode)
		}
		times = append(times, took)
	}
	slices.Sort(times)
	return times[len(times)/2], nil
}
