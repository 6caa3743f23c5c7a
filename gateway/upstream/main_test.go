package upstream_test

import (
	"cmp"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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
