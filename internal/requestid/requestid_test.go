package requestid_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/internal/requestid"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestContextCarriesTheID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"a context without an ID gives the empty string", context.Background(), ""},
		{"a context with an ID gives it back", requestid.NewContext(context.Background(), "abc"), "abc"},
		{"the innermost ID wins", requestid.NewContext(requestid.NewContext(context.Background(), "outer"), "inner"), "inner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := requestid.FromContext(tt.ctx); got != tt.want {
				t.Fatalf("FromContext = %q, want %q", got, tt.want)
			}
		})
	}
}
