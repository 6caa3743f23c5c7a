package middleware

import (
	"context"
	"io"
	"net/http"
)

// countingBody counts the bytes a handler reads from a request body of
// unknown length.
type countingBody struct {
	rc io.ReadCloser
	n  int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n += int64(n)
	return n, err
}

func (b *countingBody) Close() error { return b.rc.Close() }

// countBody returns the request to hand down, carrying ctx and, for a
// body of unknown length, the state's byte counter; and the counter, nil
// when the length is known up front. It copies r at most once.
func countBody(ctx context.Context, s *state, r *http.Request) (*countingBody, *http.Request) {
	unknown := r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody
	wrapBody := unknown && !s.bodyUsed
	if ctx != r.Context() || wrapBody {
		r = r.WithContext(ctx)
	}
	if !unknown {
		return nil, r
	}
	if wrapBody {
		s.bodyUsed = true
		s.body = countingBody{rc: r.Body}
		r.Body = &s.body
	}
	return &s.body, r
}

// bytesIn returns the request body size: the bytes read when counted, else
// the declared length.
func bytesIn(r *http.Request, c *countingBody) int64 {
	if c != nil {
		return c.n
	}
	return max(r.ContentLength, 0)
}
