package gateway_test

import (
	"cmp"
	"strings"
	"testing"
)

// wantErrContaining reports a nil err, or one whose message lacks sub.
func wantErrContaining(t testing.TB, err error, sub string) {
	t.Helper()
	if err == nil {
		t.Errorf("err = nil, want an error containing %q", sub)
		return
	}
	if !strings.Contains(err.Error(), sub) {
		t.Errorf("err = %v, want it to contain %q", err, sub)
	}
}

// inRange reports got outside [lo, hi], each bound on its own; name says
// what got is.
func inRange[T cmp.Ordered](t testing.TB, name string, got, lo, hi T) {
	t.Helper()
	if got < lo {
		t.Errorf("%s = %v, want at least %v", name, got, lo)
	}
	if got > hi {
		t.Errorf("%s = %v, want at most %v", name, got, hi)
	}
}

// lookup is what Gateway.Lookup returns: the route's name and whether
// one matched.
type lookup struct {
	route string
	ok    bool
}
