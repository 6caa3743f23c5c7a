package config

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/internal/fields"
	"github.com/portico-dev/portico/middleware"
)

// fieldErr is a gateway.FieldError at path.
func fieldErr(path, format string, args ...any) *gateway.FieldError {
	return &gateway.FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// newErrors returns an empty collector of [gateway.FieldError]s.
func newErrors() fields.Collector {
	return fields.NewCollector(func(path, msg string) error { return &gateway.FieldError{Path: path, Msg: msg} })
}

// joinErrs returns the one error, or the errors joined one per line.
func joinErrs(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// identity is a pointer's identity in a piece's settings, such as the
// logger or meter provider a piece was made with.
func identity(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprintf("%T %p", v, v)
}

// fileDigest is a digest of the content of files, for the settings of a
// piece made from them: a file whose content changed makes a new piece.
func fileDigest(paths ...string) []byte {
	h := sha256.New()
	for _, p := range paths {
		if p == "" {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			b = []byte(err.Error())
		}
		h.Write(strconv.AppendInt(nil, int64(len(b)), 10))
		h.Write(b)
	}
	return h.Sum(nil)
}

// clientIP is the address consistent hashing uses: the one ClientIP
// found behind trusted proxies, else the peer's.
func clientIP(r *http.Request) string {
	if a, ok := middleware.ClientIPFrom(r.Context()); ok {
		return a.String()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
