package ratelimit_test

import (
	"cmp"
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/middleware/internal/mwtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The helpers every middleware package's tests share (see mwtest).
var serve = mwtest.Serve

var do = mwtest.Do

var newRequest = mwtest.NewRequest

var problemDoc = mwtest.ProblemDoc

type logSink = mwtest.LogSink

// inRange fails the test unless lo <= got <= hi.
func inRange[T cmp.Ordered](t testing.TB, name string, got, lo, hi T) {
	t.Helper()
	mwtest.InRange(t, name, got, lo, hi)
}

// asConsumer stands in for an authenticator (see mwtest.AsConsumer).
var asConsumer = mwtest.AsConsumer
