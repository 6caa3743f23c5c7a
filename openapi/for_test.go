package openapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/portico-dev/portico/openapi"
)

// TestRoutesBuiltFromOperations builds a chi router the way a gateway does:
// one route per operation, mounted under a prefix, each with the
// operation's own validation middleware.
func TestRoutesBuiltFromOperations(t *testing.T) {
	t.Parallel()
	spec := load(t, versions[1])
	val := openapi.NewValidator(spec)
	var hits atomic.Int64
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("X-Route", chi.RouteContext(r.Context()).RoutePattern())
		w.WriteHeader(http.StatusNoContent)
	})
	r := chi.NewRouter()
	for _, op := range spec.Operations() {
		r.With(val.For(op)).Method(op.Method, "/petstore"+op.Path, upstream)
	}

	valid := []struct{ method, path, ctype, body string }{
		{
			"GET",
			"/petstore/admin/reports",
			"",
			"",
		},
		{
			"POST",
			"/petstore/animals",
			"application/json",
			`{"kind":"cat","name":"Tom"}`,
		},
		{
			"GET",
			"/petstore/events",
			"",
			"",
		},
		{
			"GET",
			"/petstore/files/a.json",
			"",
			"",
		},
		{
			"PUT",
			"/petstore/files/a.json",
			"application/octet-stream",
			"raw bytes",
		},
		{
			"GET",
			"/petstore/label/.1,2",
			"",
			"",
		},
		{
			"GET",
			"/petstore/matrix/;x=1;y=2",
			"",
			"",
		},
		{
			"GET",
			"/petstore/pets?limit=5",
			"",
			"",
		},
		{
			"POST",
			"/petstore/pets",
			"application/json",
			`{"name":"Rex","species":"dog"}`,
		},
		{
			"GET",
			"/petstore/pets/5",
			"",
			"",
		},
		{
			"POST",
			"/petstore/shapes",
			"application/json",
			`{"shape":"Square","side":2}`,
		},
		{
			"GET",
			"/petstore/simple/role,user,id,1",
			"",
			"",
		},
		{
			"GET",
			"/petstore/styles/;id=1/.a.b",
			"",
			"",
		},
		{
			"POST",
			"/petstore/things",
			"",
			"",
		},
	}
	if len(valid) != len(spec.Operations()) {
		t.Fatalf("%d requests for %d operations: cover every operation", len(valid), len(spec.Operations()))
	}
	for _, c := range valid {
		t.Run("a valid "+c.method+" "+c.path+" is routed to its operation", func(t *testing.T) {
			w := httptest.NewRecorder()
			r.ServeHTTP(w, newRequest(c.method, c.path, c.ctype, c.body))
			if w.Code != http.StatusNoContent {
				t.Fatalf("status = %d: %s", w.Code, w.Body.String())
			}
		})
	}
	before := hits.Load()
	invalid := []struct{ name, method, path, ctype, body, want string }{
		{
			"a path parameter under the prefix is validated",
			"GET",
			"/petstore/pets/0",
			"",
			"",
			`"name":"petId"`,
		},
		{
			"a body is validated per operation",
			"POST",
			"/petstore/pets",
			"application/json",
			`{"name":"Rex"}`,
			`"pointer":"/species"`,
		},
		{
			"a parameter in a segment with two parameters is validated",
			"GET",
			"/petstore/files/a.exe",
			"",
			"",
			`"name":"ext"`,
		},
	}
	for _, c := range invalid {
		t.Run(c.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r.ServeHTTP(w, newRequest(c.method, c.path, c.ctype, c.body))
			if got, want := w.Code, http.StatusBadRequest; got != want {
				t.Errorf("status = %d, want %d", got, want)
			}
			if !strings.Contains(w.Body.String(), c.want) {
				t.Errorf("body %s does not name %s", w.Body.String(), c.want)
			}
		})
	}
	if hits.Load() != before {
		t.Errorf("the upstream saw %d invalid requests", hits.Load()-before)
	}
}

func TestForOnAPathThatDoesNotFitItsTemplate(t *testing.T) {
	t.Parallel()
	spec := load(t, versions[0])
	val := openapi.NewValidator(spec)
	// A router that sends every request to getPet, whatever its path.
	h := val.For(spec.Operation("getPet"))(&reached{})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, newRequest("GET", "/elsewhere", "", ""))
	if got, want := w.Code, http.StatusBadRequest; got != want {
		t.Errorf("status = %d, want %d", got, want)
	}
	if want := `{"in":"path","name":"petId","message":"is required","keyword":"required"}`; !strings.Contains(w.Body.String(), want) {
		t.Errorf("body %s does not name the missing path parameter: want %s", w.Body.String(), want)
	}
}

func TestForPanicsOnAForeignOperation(t *testing.T) {
	t.Parallel()
	a, b := load(t, versions[0]), load(t, versions[1])
	defer func() {
		r := recover()
		if msg, _ := r.(string); !strings.HasPrefix(msg, "portico/openapi: ") {
			t.Fatalf("recover() = %v, want a portico/openapi panic", r)
		}
	}()
	openapi.NewValidator(a).For(b.Operations()[0])
}
