package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/resilience"
)

// MaxErrorBody bounds how much of an error response is read.
const MaxErrorBody = 64 << 10

type deploymentKey struct{}

// WithDeployment tags ctx with the deployment a request goes to, so the
// circuit breaker keys on the model as well as the host.
func WithDeployment(ctx context.Context, model string) context.Context {
	return context.WithValue(ctx, deploymentKey{}, model)
}

// BreakerKey is the breaker key: host and path (which holds Azure
// deployments and Gemini models) plus the model from the context.
func BreakerKey(r *http.Request) string {
	m, _ := r.Context().Value(deploymentKey{}).(string)
	return r.URL.Host + r.URL.Path + "#" + m
}

// DefaultMaxRetryWait is how long an adapter waits at most before a
// retry unless told otherwise: a provider asking to wait longer (a 429
// with "Retry-After: 7") gets its answer passed on at once, so the caller,
// or a [github.com/portico-dev/portico/aiclient.Client] with another
// candidate, decides what to do instead of stalling.
const DefaultMaxRetryWait = time.Second

// DefaultPolicies are the resilience policies an adapter uses unless told
// otherwise: up to 3 attempts on connection errors, timeouts, 429 with a
// retry hint of at most maxWait, 500, 502, 503, 504 and 529, with
// full-jitter backoff from 250 ms honouring the provider's hint (made
// readable by hints), each wait at most maxWait (by default
// [DefaultMaxRetryWait]); and a circuit breaker per deployment that opens
// after 5 failures in a row for 30 s. The breaker counts 5xx answers and
// connection failures only: a 429 is the provider metering the caller,
// not failing, and passes through.
func DefaultPolicies(maxWait time.Duration) []resilience.Policy {
	if maxWait <= 0 {
		maxWait = DefaultMaxRetryWait
	}
	return []resilience.Policy{
		resilience.Retry(resilience.RetryConfig{
			MaxAttempts:        3,
			BaseDelay:          min(250*time.Millisecond, maxWait),
			MaxDelay:           maxWait,
			Statuses:           []int{500, 502, 503, 504, 529},
			RetryNonIdempotent: true,
		}),
		resilience.CircuitBreaker(resilience.BreakerConfig{
			Key:                 BreakerKey,
			ConsecutiveFailures: 5,
			OpenFor:             30 * time.Second,
			IsFailure:           IsFailure,
		}),
	}
}

// IsFailure is what the default circuit breaker counts: connection
// failures and timeouts, and 5xx answers. A 429 is not a failure.
func IsFailure(resp *http.Response, err error) bool {
	if err != nil {
		return true
	}
	return resp.StatusCode >= 500
}

// HTTPClient returns a copy of base (or of a zero http.Client) whose
// transport turns provider-specific retry hints into "retry-after-ms"
// (see hints) under the policies. body, if not nil, reads a hint from an
// error body.
func HTTPClient(base *http.Client, policies []resilience.Policy, body func([]byte) time.Duration, now func() time.Time) *http.Client {
	if base == nil {
		base = &http.Client{}
	}
	c := *base
	var rt http.RoundTripper = hints{next: base.Transport, body: body, now: now}
	if len(policies) > 0 {
		opts := make([]resilience.Option, len(policies))
		for i, p := range policies {
			opts[i] = p
		}
		rt = resilience.NewTransport(rt, opts...)
	}
	c.Transport = rt
	return &c
}

// Common is the configuration every adapter has.
type Common struct {
	Provider string
	BaseURL  string
	APIKey   string
	Header   http.Header
	Client   *http.Client
	Policies []resilience.Policy
	Custom   bool // Policies were set by the user
	// MaxRetryWait bounds each wait of the default policies; see
	// [DefaultPolicies]. Zero is [DefaultMaxRetryWait].
	MaxRetryWait time.Duration
	Now          func() time.Time
	// BodyHint reads a retry hint from an error body, for providers that
	// send it there (Gemini's RetryInfo).
	BodyHint func([]byte) time.Duration
	// Token, if set, returns the OAuth 2.0 access token each request
	// carries as "Authorization: Bearer" (Vertex AI, Entra ID for Azure).
	Token func(context.Context) (string, error)
	// Transport tunes the transport Build creates when Client (or its
	// Transport) is nil.
	Transport aiclient.TransportConfig
}

// Tuned returns base (or a zero http.Client) with, if its Transport is
// nil, a transport of its own made by aiclient.NewTransport(tc), which
// every call of the adapter then shares.
func Tuned(base *http.Client, tc aiclient.TransportConfig) *http.Client {
	if base != nil && base.Transport != nil {
		return base
	}
	c := http.Client{}
	if base != nil {
		c = *base
	}
	c.Transport = aiclient.NewTransport(tc)
	return &c
}

// Build finalises c: the HTTP client with its policies, over a tuned
// transport of its own unless Client has one (see Tuned).
func (c *Common) Build() {
	if !c.Custom {
		c.Policies = DefaultPolicies(c.MaxRetryWait)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Client = HTTPClient(Tuned(c.Client, c.Transport), c.Policies, c.BodyHint, c.Now)
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
}

// Body encodes v as JSON and merges each of extras into its top level,
// in order, so a later one overrides an earlier one.
func Body(v any, extras ...map[string]json.RawMessage) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, e := range extras {
		n += len(e)
	}
	if n == 0 {
		return b, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for _, e := range extras {
		for k, v := range e {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

// Caps is what an adapter can honour of the settings some providers lack.
type Caps struct {
	// Wire is the format whose [aiclient.Native] members the adapter
	// sends; empty for an adapter whose format no caller speaks.
	Wire aiclient.Wire
	// Logprobs reports whether the provider returns log probabilities.
	Logprobs bool
	// Serial reports whether the provider can be told to call one tool
	// at a time (ParallelToolCalls false).
	Serial bool
}

// Native returns the members of req.Native that an adapter with caps
// merges into its body, or the [aiclient.KindInvalidRequest] error naming
// the first setting of req it cannot honour: Logprobs, ParallelToolCalls
// set to false, or members of another wire format.
func Native(provider string, req *aiclient.Request, caps Caps) (map[string]json.RawMessage, error) {
	refuse := func(param, msg string) error {
		return (&aiclient.Error{Provider: provider, Model: req.Model, Code: "unsupported_parameter", Param: param,
			Message: param + ": " + msg}).WithKind(aiclient.KindInvalidRequest)
	}
	if req.Logprobs && !caps.Logprobs {
		return nil, refuse("logprobs", provider+" does not return log probabilities")
	}
	if p := req.ParallelToolCalls; p != nil && !*p && !caps.Serial && len(req.Tools) > 0 {
		return nil, refuse("parallel_tool_calls", provider+" cannot be told to call one tool at a time")
	}
	if err := req.Native.Refuse(provider, req.Model, caps.Wire); err != nil {
		return nil, err
	}
	return req.Native.For(caps.Wire), nil
}

// Do sends a request and returns the response if its status is 2xx. A
// non-2xx response is read, closed and turned into an *aiclient.Error by
// decode; a transport failure into a retryable one.
func (c *Common) Do(ctx context.Context, method, url string, body []byte, header http.Header, model string,
	decode func(res *http.Response, body []byte) *aiclient.Error) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(WithDeployment(ctx, model), method, url, rd)
	if err != nil {
		return nil, fmt.Errorf("aiclient: %s: building request: %w", c.Provider, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range c.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if c.Token != nil {
		tok, err := c.Token(ctx)
		if err != nil {
			return nil, c.TokenError(model, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := c.Client.Do(req)
	if err != nil {
		return nil, c.TransportError(model, err)
	}
	if res.StatusCode/100 == 2 {
		return res, nil
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, MaxErrorBody))
	e := decode(res, raw)
	if e == nil {
		e = aiclient.NewError(c.Provider, res.StatusCode, "", strings.TrimSpace(string(raw)))
	}
	e.Provider, e.Model, e.Status = c.Provider, model, res.StatusCode
	if e.RetryAfter == 0 {
		e.RetryAfter = aiclient.RetryAfter(res, c.Now())
	}
	e.Header = aiclient.RateLimitHeader(res.Header)
	e.Message = c.Redact(e.Message)
	return nil, e.WithKind(e.Kind)
}

// TransportError maps a failure to get a response, including the
// resilience policies' own errors, to an *aiclient.Error.
func (c *Common) TransportError(model string, err error) error {
	var re *resilience.Error
	if errors.As(err, &re) {
		e := &aiclient.Error{Provider: c.Provider, Model: model, Err: err, Message: c.Redact(re.Error())}
		e.RetryAfter, _ = resilience.RetryAfter(err)
		switch {
		case errors.Is(err, resilience.ErrCircuitOpen):
			// The provider failed repeatedly; it did not say it is
			// overloaded, so this is a server error, not an overload.
			e.Kind, e.Code = aiclient.KindServer, "circuit_open"
		case errors.Is(err, resilience.ErrBulkheadFull):
			e.Kind, e.Code = aiclient.KindOverloaded, "bulkhead_full"
		case errors.Is(err, resilience.ErrTimeout):
			e.Kind, e.Code = aiclient.KindTimeout, "timeout"
		default:
			if errors.Is(err, context.Canceled) {
				return err
			}
			e.Kind, e.Code = aiclient.KindServer, "transport"
		}
		return e.WithKind(e.Kind)
	}
	out := aiclient.TransportError(c.Provider, err)
	var e *aiclient.Error
	if errors.As(out, &e) {
		e.Model = model
	}
	return out
}

// TokenError is the error for credentials that could not be had: a token
// source or credential chain failing is an authentication error, not
// retried, unless the caller canceled.
func (c *Common) TokenError(model string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return &aiclient.Error{Provider: c.Provider, Model: model, Kind: aiclient.KindAuthentication, Code: "credentials",
		Message: c.Redact("getting credentials: " + err.Error()), Err: err}
}

// Redact removes the API key from s.
func (c *Common) Redact(s string) string {
	if len(c.APIKey) >= 4 {
		s = strings.ReplaceAll(s, c.APIKey, "[redacted]")
	}
	return s
}

// StreamError is the error for a stream that ended without its end marker.
func StreamError(provider, model string, err error) *aiclient.Error {
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return &aiclient.Error{Provider: provider, Model: model, Status: http.StatusOK, Kind: aiclient.KindServer,
		Code: "stream_interrupted", Message: "the stream ended before the response was complete", Retryable: true, Err: err}
}

// Decode decodes a JSON response body and closes it.
func Decode(provider, model string, res *http.Response, v any) error {
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		return &aiclient.Error{Provider: provider, Model: model, Status: res.StatusCode, Kind: aiclient.KindServer,
			Code: "invalid_response", Message: "the response body is not the expected JSON", Retryable: true, Err: err}
	}
	return nil
}

// Queue is a FIFO of stream events that stream state machines fill.
type Queue struct {
	evs []aiclient.Event
	pos int
}

// Push appends events.
func (q *Queue) Push(evs ...aiclient.Event) { q.evs = append(q.evs, evs...) }

// Pop removes and returns the first event.
func (q *Queue) Pop() (aiclient.Event, bool) {
	if q.pos >= len(q.evs) {
		return aiclient.Event{}, false
	}
	ev := q.evs[q.pos]
	if q.pos++; q.pos == len(q.evs) {
		// Empty again: the next events reuse the array from its start, so
		// a queue that is never found empty (its stream read ahead of
		// each event) does not grow.
		q.evs, q.pos = q.evs[:0], 0
	}
	return ev, true
}

// Len returns the number of queued events.
func (q *Queue) Len() int { return len(q.evs) - q.pos }

// Add appends an event; Queue is an event sink like an Accumulator.
func (q *Queue) Add(ev aiclient.Event) { q.Push(ev) }

// drainLimit bounds what closing a stream that ended cleanly reads of
// the rest of its body.
const drainLimit = 4 << 10

// NewStream is aiclient.NewStream over a response body: once recv has
// reported the stream's clean end (io.EOF after the provider's end
// marker), closing the stream first reads what is left of the body (the
// end of the chunked encoding, a last blank line; at most 4 KiB), so
// that the connection goes back to the transport's pool instead of being
// closed. A stream closed before its end closes the body at once.
// buffered, if not nil, is the stream's [aiclient.Stream.Buffered] hint.
func NewStream(recv func() (aiclient.Event, error), body io.ReadCloser, buffered func() bool) *aiclient.Stream {
	var ended atomic.Bool
	return aiclient.NewStream(func() (aiclient.Event, error) {
		ev, err := recv()
		if errors.Is(err, io.EOF) {
			ended.Store(true)
		}
		return ev, err
	}, func() error {
		if ended.Load() {
			_, _ = io.CopyN(io.Discard, body, drainLimit)
		}
		return body.Close()
	}).WithBuffered(buffered)
}
