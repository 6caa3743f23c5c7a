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
		name       string
		ctx        context.Context
		want       string
		wantHeader string
	}{
		{
			"a context without an ID gives the empty string",
			context.Background(),
			"",
			"",
		},
		{
			"a context with an ID gives it back",
			requestid.NewContext(context.Background(), "X-Request-Id", "abc"),
			"abc",
			"X-Request-Id",
		},
		{
			"the innermost ID wins",
			requestid.NewContext(requestid.NewContext(context.Background(), "X-Request-Id", "outer"), "X-Trace", "inner"),
			"inner",
			"X-Trace",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := requestid.FromContext(tt.ctx); got != tt.want {
				t.Errorf("FromContext = %q, want %q", got, tt.want)
			}
			header, id := requestid.HeaderFrom(tt.ctx)
			if header != tt.wantHeader {
				t.Errorf("HeaderFrom header = %q, want %q", header, tt.wantHeader)
			}
			if id != tt.want {
				t.Errorf("HeaderFrom id = %q, want %q", id, tt.want)
			}
		})
	}
}
