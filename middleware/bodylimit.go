package middleware

import (
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/portico-dev/portico/internal/problem"
)

// BodyLimit rejects request bodies larger than n bytes with a 413 problem
// document. A Content-Length over the limit is refused before the handler
// runs. A body of unknown length is capped: the handler's read past the
// limit fails with an [*http.MaxBytesError], and if the handler then has
// not written a response, BodyLimit answers 413 itself. Its 413 responses
// close an HTTP/1 connection, since the rest of the body was not read.
// BodyLimit panics if n is not positive.
func BodyLimit(n int64) func(http.Handler) http.Handler {
	if n <= 0 {
		panic(fmt.Sprintf("portico/middleware: BodyLimit needs a limit > 0, got %d", n))
	}
	detail := "The request body is larger than the limit of " + strconv.FormatInt(n, 10) + " bytes."
	tooLarge := func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 1 {
			// The rest of the body stays unread: do not reuse the connection.
			w.Header().Set("Connection", "close")
		}
		problem.Write(w, r, problem.New(http.StatusRequestEntityTooLarge, detail).With("limit", n))
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				tooLarge(w, r)
				return
			}
			// A body with a known length within the limit cannot grow:
			// the server stops reading at Content-Length.
			if r.ContentLength >= 0 || r.Body == nil || r.Body == http.NoBody {
				next.ServeHTTP(w, r)
				return
			}
			s := stateFrom(r.Context())
			rw := wrap(w, s)
			body := &limitedBody{rc: r.Body, left: n, limit: n}
			r2 := r.WithContext(r.Context())
			r2.Body = body
			next.ServeHTTP(rw, r2)
			noteRoute(s, r2)
			if body.exceeded && !rw.Written() {
				dropBodyHeaders(rw.Header())
				tooLarge(rw, r2)
			}
		})
	}
}

// limitedBody is http.MaxBytesReader without its tie to the server's
// response type, which a wrapped writer hides.
type limitedBody struct {
	rc       io.ReadCloser
	left     int64 // bytes that may still be read
	limit    int64
	exceeded bool
	err      error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Read one byte more than allowed to tell "exactly at the limit" from
	// "over it".
	if int64(len(p))-1 > b.left {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) <= b.left {
		b.left -= int64(n)
		b.err = err
		return n, err
	}
	n = int(b.left)
	b.left = 0
	b.exceeded = true
	b.err = &http.MaxBytesError{Limit: b.limit}
	return n, b.err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
