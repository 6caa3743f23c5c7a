package openapitest

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/portico-dev/portico/openapi"
)

// Client sends requests to a handler in process and checks every response
// against a spec. It is safe for concurrent use, so parallel subtests may
// share one.
type Client struct {
	t       testing.TB
	v       *openapi.Validator
	h       http.Handler
	mu      sync.Mutex
	covered map[*openapi.Operation]bool
}

// New returns a client that serves requests with h and reports to t every
// response that breaks spec.
func New(t testing.TB, spec *openapi.Spec, h http.Handler) *Client {
	t.Helper()
	if spec == nil || h == nil {
		t.Fatal("openapitest: New needs a spec and a handler")
	}
	return &Client{t: t, v: openapi.NewValidator(spec), h: h, covered: map[*openapi.Operation]bool{}}
}

// Do serves req and returns the response. The test fails (with t.Errorf)
// when req matches no operation of the spec, or when the response's status,
// Content-Type or body is not what the spec documents for it. Requests that
// break the spec themselves are still sent, so a test can check that the
// handler answers them with a documented error.
func (c *Client) Do(req *http.Request) *http.Response {
	c.t.Helper()
	op, err := c.v.ValidateRequest(req)
	if op == nil {
		c.t.Errorf("openapitest: %s %s matches no operation of the spec: %v", req.Method, req.URL.Path, err)
	} else {
		c.mu.Lock()
		c.covered[op] = true
		c.mu.Unlock()
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	if op != nil {
		if err := c.v.ValidateResponse(op, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
			c.t.Errorf("openapitest: %s %s: status %d: %v", req.Method, req.URL.Path, rec.Code, err)
		}
	}
	return rec.Result()
}

// Uncovered returns the operations of the spec that no request has
// exercised yet, in the spec's order.
func (c *Client) Uncovered() []*openapi.Operation {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*openapi.Operation
	for _, op := range c.v.Spec().Operations() {
		if !c.covered[op] {
			out = append(out, op)
		}
	}
	return out
}

// RequireCoverage fails the test when some operation of the spec has not
// been exercised. Call it after the requests, for example in t.Cleanup.
func (c *Client) RequireCoverage() {
	c.t.Helper()
	for _, op := range c.Uncovered() {
		c.t.Errorf("openapitest: operation %s (%s) was never exercised", op, op.ID)
	}
}
