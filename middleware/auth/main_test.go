package auth_test

import (
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

var wantPanic = mwtest.WantPanic

var wantErrContaining = mwtest.WantErrContaining
