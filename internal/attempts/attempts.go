// Package attempts lets the code that makes a call through an
// aiclient.Client learn which provider served it and how many candidates
// failed before that one: the client notes each candidate it tries in the
// [Log] the call's context carries, and the caller reads the result. The
// AI endpoints record it, without asking users to wrap their providers.
package attempts

import (
	"context"
	"sync"
)

// Log collects the candidates one call tried. Its methods are safe for
// concurrent use and do nothing on a nil Log.
type Log struct {
	mu       sync.Mutex
	provider string
	failed   int
}

type key struct{}

// NewContext returns a copy of ctx that carries a new Log, and the Log.
func NewContext(ctx context.Context) (context.Context, *Log) {
	l := &Log{}
	return context.WithValue(ctx, key{}, l), l
}

// FromContext returns the Log ctx carries, or nil.
func FromContext(ctx context.Context) *Log {
	l, _ := ctx.Value(key{}).(*Log)
	return l
}

// Note records that provider was tried and failed with err, or served the
// call when err is nil.
func (l *Log) Note(provider string, err error) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failed++
		return
	}
	l.provider = provider
}

// Result returns the provider that served the call ("" if none did) and
// the number of candidates that failed.
func (l *Log) Result() (provider string, failed int) {
	if l == nil {
		return "", 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.provider, l.failed
}
