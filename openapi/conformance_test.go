package openapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/portico-dev/portico/openapi"
)

// fixtureGroup is one schema of a fixture file and the values it is tried
// on, in the JSON-Schema-Test-Suite's layout, with the OpenAPI version the
// schema is read as and the component schemas it refers to.
type fixtureGroup struct {
	Description string                     `json:"description"`
	OpenAPI     string                     `json:"openapi"`
	Schema      json.RawMessage            `json:"schema"`
	Components  map[string]json.RawMessage `json:"components"`
	Tests       []struct {
		Description string          `json:"description"`
		Data        json.RawMessage `json:"data"`
		Valid       bool            `json:"valid"`
	} `json:"tests"`
}

// fixtureDoc is a document whose POST /v takes a JSON body described by
// the group's schema.
func (g *fixtureGroup) doc() []byte {
	comps := g.Components
	if comps == nil {
		comps = map[string]json.RawMessage{}
	}
	doc := map[string]any{
		"openapi": g.OpenAPI,
		"info":    map[string]any{"title": "fixture", "version": "1"},
		"paths": map[string]any{"/v": map[string]any{"post": map[string]any{
			"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": g.Schema}}},
			"responses":   map[string]any{"204": map[string]any{"description": "ok"}},
		}}},
		"components": map[string]any{"schemas": comps},
	}
	data, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return data
}

func readFixtures(t testing.TB) map[string][]fixtureGroup {
	t.Helper()
	files, err := filepath.Glob("testdata/conformance/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no fixture files in testdata/conformance")
	}
	out := map[string][]fixtureGroup{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var groups []fixtureGroup
		if err := json.Unmarshal(data, &groups); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = groups
	}
	return out
}

// fixtureSpecs loads the document of every fixture group.
func fixtureSpecs(t testing.TB) map[string]*openapi.Spec {
	t.Helper()
	specs := map[string]*openapi.Spec{}
	for file, groups := range readFixtures(t) {
		for _, g := range groups {
			s, err := openapi.Parse(g.doc())
			if err != nil {
				t.Fatalf("%s: %s: %v", file, g.Description, err)
			}
			specs[file+": "+g.Description] = s
		}
	}
	return specs
}

// TestConformanceFixtures validates every value of the fixture files as a
// request body, and checks that both schema engines agree on it.
func TestConformanceFixtures(t *testing.T) {
	t.Parallel()
	for file, groups := range readFixtures(t) {
		for _, g := range groups {
			t.Run(file+"/"+g.Description, func(t *testing.T) {
				t.Parallel()
				spec, err := openapi.Parse(g.doc())
				if err != nil {
					t.Fatalf("the document does not load: %v", err)
				}
				val := openapi.NewValidator(spec)
				engines, _ := openapi.Engines(spec)
				for _, tc := range g.Tests {
					req := httptest.NewRequest(http.MethodPost, "/v", bytes.NewReader(tc.Data))
					req.Header.Set("Content-Type", "application/json")
					_, err := val.ValidateRequest(req)
					if got := err == nil; got != tc.Valid {
						t.Errorf("%s: valid = %v, want %v (%v)", tc.Description, got, tc.Valid, err)
					}
					value, err := openapi.ParseJSON(tc.Data)
					if err != nil {
						t.Fatal(err)
					}
					for _, e := range engines {
						if fast, full := e.Fast(value), e.Full(value); !reflect.DeepEqual(fast, full) {
							t.Errorf("%s: engines disagree:\nfast %v\nfull %v", tc.Description, fast, full)
						}
					}
				}
			})
		}
	}
}
