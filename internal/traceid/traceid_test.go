package traceid_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/internal/traceid"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestContextCarriesTheID(t *testing.T) {
	t.Parallel()
	id := traceid.ID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	got, ok := traceid.FromContext(traceid.NewContext(context.Background(), id))
	if !ok {
		t.Fatal("FromContext found no ID in the context NewContext made")
	}
	if got, want := got.String(), "4bf92f3577b34da6a3ce929d0e0e4736"; got != want {
		t.Errorf("ID = %s, want %s", got, want)
	}
}

func TestTheZeroIDIsNoID(t *testing.T) {
	t.Parallel()
	if _, ok := traceid.FromContext(traceid.NewContext(context.Background(), traceid.ID{})); ok {
		t.Error("FromContext reported the zero ID as an ID")
	}
	if _, ok := traceid.FromContext(context.Background()); ok {
		t.Error("FromContext reported an ID in an empty context")
	}
}
