package testkit

import (
	"cmp"
	"strings"
	"testing"

	"github.com/portico-dev/portico/aiclient"
)

// WantError fails the test unless err is an error whose message holds
// want: a nil error is one failure, a message without want another.
func WantError(t testing.TB, err error, want string) {
	t.Helper()
	if err == nil {
		t.Errorf("err = nil, want an error saying %q", want)
		return
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want it to say %q", err, want)
	}
}

// InRange fails the test unless lo <= got <= hi; name says what got is.
func InRange[T cmp.Ordered](t testing.TB, name string, got, lo, hi T) {
	t.Helper()
	if got < lo {
		t.Errorf("%s = %v, want at least %v", name, got, lo)
	}
	if got > hi {
		t.Errorf("%s = %v, want at most %v", name, got, hi)
	}
}

// ErrorFacts is what tests of an adapter's error mapping compare at once:
// the status, kind, provider code and retryability of an [aiclient.Error].
type ErrorFacts struct {
	Status    int
	Kind      aiclient.Kind
	Code      string
	Retryable bool
}

// FactsOf returns e's [ErrorFacts].
func FactsOf(e *aiclient.Error) ErrorFacts {
	return ErrorFacts{Status: e.Status, Kind: e.Kind, Code: e.Code, Retryable: e.Retryable}
}
