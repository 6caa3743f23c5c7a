package fields_test

import (
	"errors"
	"strings"
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

func TestValidID(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		"orders": true, "a": true, "A-1_b": true, strings.Repeat("x", 64): true,
		"": false, "-a": false, "_a": false, "a b": false, "a.b": false, strings.Repeat("x", 65): false,
	} {
		if got := fields.ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestCollectorNamesFieldsUnderItsPrefix(t *testing.T) {
	t.Parallel()
	errs := fields.NewCollector(func(path, msg string) error { return errors.New(path + ": " + msg) })
	route := errs.At("routes[1]")
	route.Addf("path", "set %s", "path")
	route.At("policy").Addf("", "is wrong")
	if got, want := errs.Len(), 2; got != want {
		t.Fatalf("Len = %d, want %d", got, want)
	}
	if got, want := errs.Err().Error(), "routes[1].path: set path\nroutes[1].policy: is wrong"; got != want {
		t.Errorf("Err = %q, want %q", got, want)
	}
}

func TestCollectorErrIsNilOrTheOneError(t *testing.T) {
	t.Parallel()
	errs := fields.NewCollector(func(path, msg string) error { return errors.New(path + ": " + msg) })
	if err := errs.Err(); err != nil {
		t.Errorf("Err of nothing = %v, want nil", err)
	}
	one := errors.New("one")
	errs.Add(nil, one)
	got := errs.Err()
	if !errors.Is(got, one) {
		t.Errorf("Err = %v, want the one error", got)
	}
	if _, joined := got.(interface{ Unwrap() []error }); joined {
		t.Errorf("Err = %#v, want the one error itself, not joined", got)
	}
}
