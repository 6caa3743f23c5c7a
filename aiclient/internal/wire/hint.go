package wire

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/portico-dev/portico/aiclient"
)

// hints is the innermost transport: on a 429, 503 or 529 that carries no
// standard retry header, it writes the wait the provider asked for in its
// own way (x-ratelimit-reset-*, anthropic-ratelimit-*-reset, or a hint in
// the body such as Gemini's RetryInfo) as "retry-after-ms", so the
// resilience retry policy above it honours every provider's hint.
type hints struct {
	next http.RoundTripper
	body func([]byte) time.Duration
	now  func() time.Time
}

func (h hints) RoundTrip(req *http.Request) (*http.Response, error) {
	next := h.next
	if next == nil {
		next = http.DefaultTransport
	}
	res, err := next.RoundTrip(req)
	if err != nil {
		return res, err
	}
	switch res.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, 529:
	default:
		return res, nil
	}
	if res.Header.Get("Retry-After") != "" || res.Header.Get("Retry-After-Ms") != "" {
		return res, nil
	}
	wait := aiclient.RetryAfter(res, h.now())
	if wait == 0 && h.body != nil {
		raw, rerr := io.ReadAll(io.LimitReader(res.Body, MaxErrorBody))
		res.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(raw), res.Body), res.Body}
		if rerr == nil {
			wait = h.body(raw)
		}
	}
	if wait > 0 {
		res.Header.Set("Retry-After-Ms", strconv.FormatInt(max(wait.Milliseconds(), 1), 10))
	}
	return res, nil
}
