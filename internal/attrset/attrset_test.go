package attrset_test

import (
	"context"
	"strconv"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/goleak"

	"github.com/portico-dev/portico/internal/attrset"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type key struct {
	route  string
	status int
}

func build(k key) attribute.Set {
	return attribute.NewSet(attribute.String("route", k.route), attribute.Int("status", k.status))
}

func TestGetBuildsOncePerKey(t *testing.T) {
	var c attrset.Cache[key]
	builds := 0
	counted := func(k key) attribute.Set { builds++; return build(k) }
	for range 3 {
		c.Get(key{"/a", 200}, counted)
		c.Get(key{"/a", 500}, counted)
	}
	if got, want := builds, 2; got != want {
		t.Errorf("builds = %d, want %d", got, want)
	}
	if got, want := c.Len(), 2; got != want {
		t.Errorf("Len = %d, want %d", got, want)
	}
}

func TestGetOfAKnownKeyDoesNotAllocate(t *testing.T) {
	var c attrset.Cache[key]
	k := key{"/a", 200}
	c.Get(k, build)
	if n := testing.AllocsPerRun(100, func() { c.Get(k, build) }); n != 0 {
		t.Errorf("allocations = %v, want 0", n)
	}
}

func TestMeasuringWithKnownOptionsDoesNotAllocate(t *testing.T) {
	var c attrset.Cache[key]
	k := key{"/a", 200}
	h, err := noop.NewMeterProvider().Meter("test").Float64Histogram("h")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c.Get(k, build)
	if n := testing.AllocsPerRun(100, func() { h.Record(ctx, 1, c.Get(k, build).Record...) }); n != 0 {
		t.Errorf("allocations = %v, want 0", n)
	}
}

func TestTheCacheIsBounded(t *testing.T) {
	var c attrset.Cache[key]
	for i := range attrset.Max + 10 {
		c.Get(key{"/" + strconv.Itoa(i), 200}, build)
	}
	if got, want := c.Len(), attrset.Max; got != want {
		t.Errorf("Len = %d, want %d", got, want)
	}
}
