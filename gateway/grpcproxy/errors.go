package grpcproxy

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/grpcwire"
	"github.com/portico-dev/portico/resilience"
)

// Errors is middleware that answers gRPC callers in gRPC: when a handler
// inside it (authentication, a rate limit, a quota, the router's 404)
// answers a gRPC call with an HTTP error, Errors replaces it with a
// trailers-only gRPC status: 401 becomes UNAUTHENTICATED, 403
// PERMISSION_DENIED, 429 RESOURCE_EXHAUSTED (with the Retry-After as
// grpc-retry-pushback-ms), 504 DEADLINE_EXCEEDED and so on, with the
// problem document's detail as grpc-message. Requests that are not gRPC
// calls, and gRPC answers, pass untouched; Flush and the other optional
// interfaces of the writer reach it through Unwrap.
//
// Put it first in the chain, so that it sees every error.
func Errors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !IsGRPC(r) {
			next.ServeHTTP(w, r)
			return
		}
		ew := &errorWriter{ResponseWriter: w}
		next.ServeHTTP(ew, r)
		if ew.status != 0 {
			ew.answer()
		}
	})
}

// errorWriter passes a gRPC answer through and holds an HTTP error back.
type errorWriter struct {
	http.ResponseWriter
	wrote  bool
	status int // the HTTP error held back, or 0
	body   bytes.Buffer
}

func (e *errorWriter) WriteHeader(code int) {
	if e.wrote || e.status != 0 {
		return
	}
	if code == http.StatusOK && grpcwire.IsGRPC(e.Header().Get("Content-Type")) || code < 200 {
		if code >= 200 {
			e.wrote = true
		}
		e.ResponseWriter.WriteHeader(code)
		return
	}
	e.status = code
}

func (e *errorWriter) Write(p []byte) (int, error) {
	if !e.wrote && e.status == 0 {
		e.WriteHeader(http.StatusOK)
	}
	if e.status != 0 {
		if room := 8<<10 - e.body.Len(); room > 0 {
			e.body.Write(p[:min(len(p), room)])
		}
		return len(p), nil
	}
	return e.ResponseWriter.Write(p)
}

func (e *errorWriter) Flush() {
	if e.status != 0 {
		return
	}
	if !e.wrote {
		e.WriteHeader(http.StatusOK)
	}
	if e.status == 0 {
		_ = http.NewResponseController(e.ResponseWriter).Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (e *errorWriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }

// answer writes the held-back error as a gRPC status.
func (e *errorWriter) answer() {
	msg := http.StatusText(e.status)
	if strings.Contains(e.Header().Get("Content-Type"), "json") {
		var doc struct {
			Detail string `json:"detail"`
		}
		if json.Unmarshal(e.body.Bytes(), &doc) == nil && doc.Detail != "" {
			msg = doc.Detail
		}
	}
	h := e.Header()
	if d, ok := resilience.ParseRetryAfter(h, time.Now()); ok {
		h.Set("Grpc-Retry-Pushback-Ms", strconv.FormatInt(d.Milliseconds(), 10))
	}
	for _, k := range []string{"Retry-After", "Retry-After-Ms", "Content-Language", "Content-Encoding"} {
		h.Del(k)
	}
	WriteStatus(e.ResponseWriter, grpcwire.CodeForHTTP(e.status), msg)
}
