package resilience

import (
	"bytes"
	"io"
	"net/http"
	"strconv"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/fallback"
)

// FallbackConfig configures [Fallback]: either a static response (Status,
// Header, Body) or a function (Func).
type FallbackConfig struct {
	// When chooses the outcomes that are replaced. By default, every
	// error (and no response).
	When func(resp *http.Response, err error) bool
	// Status, Header and Body make the static response. Status is
	// required unless Func is set.
	Status int
	Header http.Header
	Body   []byte
	// Func computes the replacement. It receives the caller's request and
	// the outcome (resp is nil on error; its body is closed after Func
	// returns unless Func returns resp itself).
	Func func(req *http.Request, resp *http.Response, err error) (*http.Response, error)
}

// Fallback returns the fallback policy, the outermost one, so that it
// also answers when [OverallTimeout] expires. It runs as failsafe-go's
// fallback policy. It panics if cfg is invalid; see
// [FallbackConfig.Validate].
func Fallback(cfg FallbackConfig) Policy {
	mustValid(cfg.Validate())
	if cfg.When == nil {
		cfg.When = func(_ *http.Response, err error) bool { return err != nil }
	}
	cfg.Header = cfg.Header.Clone()
	cfg.Body = bytes.Clone(cfg.Body)
	return policyFunc(func(p *plan) { p.once("Fallback"); p.fallback = &cfg })
}

func (c *FallbackConfig) respond(req *http.Request, resp *http.Response, err error) (*http.Response, error) {
	if c.Func != nil {
		out, ferr := c.Func(req, resp, err)
		if resp != nil && out != resp {
			discard(resp)
		}
		return out, ferr
	}
	discard(resp)
	h := c.Header.Clone()
	if h == nil {
		h = make(http.Header, 1)
	}
	h.Set("Content-Length", strconv.Itoa(len(c.Body)))
	return &http.Response{
		Status:        strconv.Itoa(c.Status) + " " + http.StatusText(c.Status),
		StatusCode:    c.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(c.Body)),
		ContentLength: int64(len(c.Body)),
		Request:       req,
	}, nil
}

// policy is failsafe-go's fallback policy, deciding on the outcome with
// failsafe-go's errors mapped onto Portico's.
func (c *FallbackConfig) policy() fallback.Fallback[*try] {
	return fallback.NewBuilderWithFunc(func(e failsafe.Execution[*try]) (*try, error) {
		call := e.(*execution).s.c
		resp, err := outcome(e.LastResult(), e.LastError()) //nolint:bodyclose // handed to respond, which returns or closes it
		out, ferr := c.respond(call.req, resp, err)         //nolint:bodyclose // returned to the caller, who closes it
		return &try{Context: call, c: call, resp: out, err: ferr}, ferr
	}).
		HandleIf(func(a *try, err error) bool { return c.When(outcome(a, err)) }). //nolint:bodyclose // When only reads the status; the response goes on to the caller
		Build()
}
