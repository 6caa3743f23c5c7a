package openapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/openapi"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// versions are the same API written in OpenAPI 3.0 and 3.1.
var versions = []string{"testdata/petstore30/openapi.yaml", "testdata/petstore31/openapi.yaml"}

func load(t testing.TB, name string) *openapi.Spec {
	t.Helper()
	s, err := openapi.LoadFile(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return s
}

// problemDoc is the part of a problem document the tests look at.
type problemDoc struct {
	Status int                 `json:"status"`
	Title  string              `json:"title"`
	Detail string              `json:"detail"`
	Errors []openapi.Violation `json:"errors"`
}

func decodeProblem(t testing.TB, res *http.Response) problemDoc {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	var p problemDoc
	if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
		t.Fatalf("decode problem: %v", err)
	}
	return p
}

// reached is a handler that answers 204 and records that it was called.
type reached struct{ called bool }

func (h *reached) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	h.called = true
	w.WriteHeader(http.StatusNoContent)
}

func newRequest(method, target, ctype, body string) *http.Request {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	return req
}
