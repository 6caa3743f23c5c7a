package middleware_test

import (
	"context"
	"log/slog"
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

var waitFor = mwtest.WaitFor

type logSink = mwtest.LogSink

// discard is a slog.Handler that is never enabled.
type discard struct{}

func (discard) Enabled(context.Context, slog.Level) bool  { return false }
func (discard) Handle(context.Context, slog.Record) error { return nil }
func (d discard) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discard) WithGroup(string) slog.Handler           { return d }

func newDiscardLogger() *slog.Logger { return slog.New(discard{}) }

var wantPanic = mwtest.WantPanic

var wantErrContaining = mwtest.WantErrContaining
