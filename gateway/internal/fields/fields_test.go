package fields_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/gateway/internal/fields"
)

func TestIndexNamesAListElement(t *testing.T) {
	t.Parallel()
	if got, want := fields.Index("routes", 2), "routes[2]"; got != want {
		t.Errorf("Index = %q, want %q", got, want)
	}
}

func TestKnownListsKeysInOrderOrNone(t *testing.T) {
	t.Parallel()
	if got, want := fields.Known(map[string]int{"b": 1, "a": 2}), "a, b"; got != want {
		t.Errorf("Known = %q, want %q", got, want)
	}
	if got, want := fields.Known(map[string]int{}), "none"; got != want {
		t.Errorf("Known of nothing = %q, want %q", got, want)
	}
}

func TestValidHeaderName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want bool
	}{{"X-Api-Key", true}, {"", false}, {"X Key", false}, {"X:Key", false}, {"Ключ", false}}
	for _, tt := range tests {
		if got := fields.ValidHeaderName(tt.name); got != tt.want {
			t.Errorf("ValidHeaderName(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
