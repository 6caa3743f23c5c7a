package resilience

import (
	"bytes"
	"io"
	"net/http"
	"sync/atomic"

	fsbulkhead "github.com/failsafe-go/failsafe-go/bulkhead"
)

// drainLimit bounds how much of a discarded response body is read so that
// its connection can be reused; a longer body is closed unread, which costs
// the connection but never time.
const drainLimit = 64 << 10

// discard drains (bounded) and closes a response that is not returned to
// the caller, so that its connection goes back to the pool.
func discard(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, resp.Body, drainLimit)
	resp.Body.Close()
}

// replayable prepares req's body to be sent more than once. It returns the
// function that yields a fresh copy for each attempt, or nil if the body
// cannot be replayed (it is larger than limit and has no GetBody); then
// first is the body to send on the only attempt. size is the body length
// if it was buffered, else req.ContentLength.
func replayable(req *http.Request, limit int64) (get func() (io.ReadCloser, error), first io.ReadCloser, size int64, err error) {
	if req.Body == nil || req.Body == http.NoBody {
		return noBody, http.NoBody, 0, nil
	}
	if req.GetBody != nil {
		return req.GetBody, req.Body, req.ContentLength, nil
	}
	if req.ContentLength > limit {
		return nil, req.Body, req.ContentLength, nil
	}
	buf, err := readAll(req.Body, req.ContentLength, limit+1)
	if err != nil {
		req.Body.Close()
		return nil, nil, 0, err
	}
	if int64(len(buf)) > limit {
		return nil, struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(buf), req.Body), req.Body}, req.ContentLength, nil
	}
	req.Body.Close()
	get = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf)), nil }
	return get, io.NopCloser(bytes.NewReader(buf)), int64(len(buf)), nil
}

// readAll reads r to its end or to max bytes, as
// io.ReadAll(io.LimitReader(r, max)) does, in one allocation when the
// body's length is known.
func readAll(r io.Reader, length, max int64) ([]byte, error) {
	if length < 0 || length >= max {
		return io.ReadAll(io.LimitReader(r, max))
	}
	buf := make([]byte, 0, length+1) // +1: room to see the end without growing
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			// Longer than announced: the rest the general way.
			rest, err := io.ReadAll(io.LimitReader(r, max-int64(len(buf))))
			return append(buf, rest...), err
		}
	}
}

// cleanup is what to undo once a response body ends: end the attempt's
// and the call's contexts, give back a bulkhead slot. Nil fields are
// skipped.
type cleanup struct {
	calls   *runState
	attempt *execution
	slot    fsbulkhead.Bulkhead[any]
}

func (c *cleanup) run() {
	if c.attempt != nil {
		c.attempt.cancelDeferred()
	}
	if c.calls != nil {
		c.calls.end()
	}
	if c.slot != nil {
		c.slot.ReleasePermit()
	}
}

// onClose wraps a response body so that c runs once, when the body is
// closed or read to its end (or fails). It keeps io.Writer for the body
// of a 101 Switching Protocols response.
func onClose(resp *http.Response, c cleanup) {
	b := &releaser{rc: resp.Body, c: c}
	if w, ok := resp.Body.(io.Writer); ok {
		resp.Body = &rwReleaser{releaser: b, w: w}
		return
	}
	resp.Body = b
}

type releaser struct {
	rc   io.ReadCloser
	c    cleanup
	done atomic.Bool
}

func (b *releaser) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && b.done.CompareAndSwap(false, true) {
		b.c.run()
	}
	return n, err
}

func (b *releaser) Close() error {
	err := b.rc.Close()
	if b.done.CompareAndSwap(false, true) {
		b.c.run()
	}
	return err
}

type rwReleaser struct {
	*releaser
	w io.Writer
}

func (b *rwReleaser) Write(p []byte) (int, error) { return b.w.Write(p) }

func noBody() (io.ReadCloser, error) { return http.NoBody, nil }
