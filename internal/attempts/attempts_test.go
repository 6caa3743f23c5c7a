package attempts_test

import (
	"context"
	"errors"
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/internal/attempts"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLogCountsFailuresAndNamesTheProviderThatServed(t *testing.T) {
	t.Parallel()
	ctx, l := attempts.NewContext(context.Background())
	attempts.FromContext(ctx).Note("first", errors.New("rate limited"))
	attempts.FromContext(ctx).Note("second", nil)
	provider, failed := l.Result()
	if got, want := provider, "second"; got != want {
		t.Errorf("provider = %q, want %q", got, want)
	}
	if got, want := failed, 1; got != want {
		t.Errorf("failed = %d, want %d", got, want)
	}
}

func TestAContextWithoutALogIgnoresNotes(t *testing.T) {
	t.Parallel()
	l := attempts.FromContext(context.Background())
	l.Note("p", nil)
	type result struct {
		provider string
		failed   int
	}
	var got result
	got.provider, got.failed = l.Result()
	if want := (result{}); got != want {
		t.Errorf("Result() = %+v, want %+v", got, want)
	}
}
