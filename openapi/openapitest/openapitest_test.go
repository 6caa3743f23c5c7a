package openapitest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/openapi"
	"github.com/portico-dev/portico/openapi/openapitest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const spec = `openapi: 3.1.0
info: {title: Users, version: '1'}
paths:
  /users/{id}:
    parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
    get:
      operationId: getUser
      responses:
        '200':
          description: the user
          content:
            application/json:
              schema:
                type: object
                required: [id, name]
                properties:
                  id: {type: integer}
                  name: {type: string}
        '404': {description: not found}
  /users:
    get:
      operationId: listUsers
      responses:
        '200': {description: ok}
`

// recorder is a testing.TB that keeps the failures instead of failing.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Helper() {}

func TestClient(t *testing.T) {
	t.Parallel()
	s, err := openapi.Parse([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		path    string
		status  int
		fails   string
	}{
		{
			name:   "a conforming response passes",
			path:   "/users/1",
			status: 200,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"id":1,"name":"Ada"}`)
			},
		},
		{
			name:   "a response missing a required property fails the test",
			path:   "/users/1",
			status: 200,
			fails:  "body /name: is required",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"id":1}`)
			},
		},
		{
			name:    "an undocumented status fails the test",
			path:    "/users/1",
			status:  500,
			fails:   "status 500 is not documented",
			handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) },
		},
		{
			name:    "a documented error status without a body passes",
			path:    "/users/9",
			status:  404,
			handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) },
		},
		{
			name:    "a request outside the spec fails the test",
			path:    "/groups",
			status:  404,
			fails:   "matches no operation",
			handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{TB: t}
			c := openapitest.New(rec, s, tc.handler)
			res := c.Do(httptest.NewRequest(http.MethodGet, tc.path, nil))
			res.Body.Close()
			if res.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d", res.StatusCode, tc.status)
			}
			got := strings.Join(rec.errs, "\n")
			if tc.fails == "" && got != "" {
				t.Fatalf("unexpected failure: %s", got)
			}
			if tc.fails != "" && !strings.Contains(got, tc.fails) {
				t.Fatalf("failure %q does not contain %q", got, tc.fails)
			}
		})
	}
}

func TestCoverage(t *testing.T) {
	t.Parallel()
	s, err := openapi.Parse([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{TB: t}
	c := openapitest.New(rec, s, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) }))
	c.Do(httptest.NewRequest(http.MethodGet, "/users/1", nil)).Body.Close()
	un := c.Uncovered()
	if len(un) != 1 {
		t.Fatalf("Uncovered = %v, want [listUsers]", un)
	}
	if got, want := un[0].ID, "listUsers"; got != want {
		t.Errorf("Uncovered = [%s], want [%s]", got, want)
	}
	c.RequireCoverage()
	if len(rec.errs) != 1 {
		t.Fatalf("RequireCoverage reported %q, want one error", rec.errs)
	}
	if want := "GET /users (listUsers) was never exercised"; !strings.Contains(rec.errs[0], want) {
		t.Errorf("RequireCoverage reported %q, want it to say %q", rec.errs[0], want)
	}
}
