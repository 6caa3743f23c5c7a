package openapi_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/openapi"
)

// engineSamples are values that hit every keyword of the test specs.
var engineSamples = []string{
	`null`, `true`, `0`, `-1`, `1.5`, `1.0`, `1e2`, `3000000000`, `100.000000000001`, `"x"`, `""`, `"ABC"`, `"cat"`, `[]`, `[1,"a",null]`,
	`{}`, `{"id":1,"name":"Rex","species":"dog","age":null,"tag":null}`, `{"id":"x","name":"R2","species":"cow","age":-1,"tag":5}`,
	`{"name":"Ada Lovelace","email":"ada@example.com","role":"admin","age":36,"phone":"+441234567890"}`,
	`{"name":"x","password":"short","extra":1,"email":"nope","when":"yesterday","day":"2024-02-30","labels":{"a":"b"},"small":99999999999,"ratio":1,"blob":"!!"}`,
	`{"title":"a very long title","count":"many","status":"500"}`, `[{"id":1,"name":"Rex","species":"dog"},{"name":1}]`,
	`{"role":"root","id":"x","x":"1","y":"0","kind":"x","minAge":-1,"cursor":5,"size":99}`,
}

func TestFastEngineAgreesWithTheFullEngine(t *testing.T) {
	t.Parallel()
	specs := map[string]*openapi.Spec{}
	for _, f := range versions {
		specs[f] = load(t, f)
	}
	for _, v := range []string{"3.0.3", "3.1.0"} {
		s, err := openapi.Parse([]byte(typicalSpec(v)))
		if err != nil {
			t.Fatal(err)
		}
		specs["typical "+v] = s
	}
	for name, s := range fixtureSpecs(t) {
		specs[name] = s
	}
	samples := append(slices.Clone(engineSamples), fixtureData(t)...)
	for name, spec := range specs {
		engines, total := openapi.Engines(spec)
		if len(engines) == 0 && !strings.Contains(name, ".json: ") {
			t.Fatalf("%s: none of %d schemas runs on the fast engine", name, total)
		}
		t.Logf("%s: %d of %d schemas run on the fast engine", name, len(engines), total)
		for _, e := range engines {
			for _, sample := range samples {
				value, err := openapi.ParseJSON([]byte(sample))
				if err != nil {
					t.Fatal(err)
				}
				fast, full := e.Fast(value), e.Full(value)
				if !reflect.DeepEqual(fast, full) {
					t.Errorf("%s: %s on %s:\nfast %v\nfull %v", name, e.Where, sample, fast, full)
				}
			}
		}
	}
}

// FuzzEngines checks on arbitrary JSON that both engines report the same
// violations for every schema the fast engine takes.
func FuzzEngines(f *testing.F) {
	for _, s := range append(slices.Clone(engineSamples), fixtureData(f)...) {
		f.Add([]byte(s))
	}
	var engines []openapi.Engine
	for _, file := range versions {
		e, _ := openapi.Engines(load(f, file))
		engines = append(engines, e...)
	}
	for _, s := range fixtureSpecs(f) {
		e, _ := openapi.Engines(s)
		engines = append(engines, e...)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		value, err := openapi.ParseJSON(data)
		if err != nil {
			return
		}
		for _, e := range engines {
			if fast, full := e.Fast(value), e.Full(value); !reflect.DeepEqual(fast, full) {
				t.Fatalf("%s on %s:\nfast %v\nfull %v", e.Where, data, fast, full)
			}
		}
	})
}

// fixtureData returns the values of the conformance fixtures.
func fixtureData(t testing.TB) []string {
	var out []string
	for _, groups := range readFixtures(t) {
		for _, g := range groups {
			for _, tc := range g.Tests {
				out = append(out, string(tc.Data))
			}
		}
	}
	return out
}
