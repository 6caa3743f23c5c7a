package openapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/openapi"
)

// typicalSpec is one JSON POST: five properties, two patterns, one path and
// one query parameter. The 3.0 and 3.1 forms differ only in how they say
// "integer or null".
func typicalSpec(version string) string {
	age := "{type: integer, minimum: 0, maximum: 150, nullable: true}"
	if strings.HasPrefix(version, "3.1") {
		age = "{type: [integer, 'null'], minimum: 0, maximum: 150}"
	}
	return `openapi: ` + version + `
info: {title: members, version: '1'}
paths:
  /orgs/{org}/members:
    post:
      operationId: addMember
      parameters:
        - {name: org, in: path, required: true, schema: {type: string, minLength: 1, maxLength: 40}}
        - {name: notify, in: query, schema: {type: boolean}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Member'}
      responses:
        '201': {description: added}
components:
  schemas:
    Member:
      type: object
      required: [email, name, role]
      additionalProperties: false
      properties:
        email: {type: string, format: email}
        name: {type: string, pattern: '^[A-Za-z ]+$', maxLength: 80}
        role: {type: string, enum: [owner, admin, member]}
        age: ` + age + `
        phone: {type: string, pattern: '^\+[0-9]{7,15}$'}
`
}

const typicalBody = `{"email":"ada@example.com","name":"Ada Lovelace","role":"admin","age":36,"phone":"+441234567890"}`

// discard is a ResponseWriter that keeps nothing.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func benchmarkValidation(b *testing.B, version string) {
	spec, err := openapi.Parse([]byte(typicalSpec(version)))
	if err != nil {
		b.Fatal(err)
	}
	var status int
	h := openapi.NewValidator(spec).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { status = 201 }))
	body := []byte(typicalBody)
	rd := bytes.NewReader(body)
	req := httptest.NewRequest(http.MethodPost, "/orgs/acme/members?notify=true", nil)
	req.Header.Set("Content-Type", "application/json")
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		rd.Reset(body)
		req.Body = io.NopCloser(rd)
		req.ContentLength = int64(len(body))
		status = 0
		h.ServeHTTP(w, req)
		if status != 201 {
			b.Fatalf("request refused: %v", w.h)
		}
	}
}

// BenchmarkValidateJSONPost30 validates a typical JSON POST against a 3.0 spec.
func BenchmarkValidateJSONPost30(b *testing.B) { benchmarkValidation(b, "3.0.3") }

// BenchmarkValidateJSONPost31 validates the same POST against its 3.1 spec.
func BenchmarkValidateJSONPost31(b *testing.B) { benchmarkValidation(b, "3.1.0") }

// manyPaths is a document with n paths of mixed static and templated
// segments, as large APIs have.
func manyPaths(n int) string {
	var sb strings.Builder
	sb.WriteString("openapi: 3.1.0\ninfo: {title: big, version: '1'}\npaths:\n")
	for i := range n {
		var p string
		switch i % 4 {
		case 0:
			p = fmt.Sprintf("/svc%d/items", i)
		case 1:
			p = fmt.Sprintf("/svc%d/items/{id}", i)
		case 2:
			p = fmt.Sprintf("/svc%d/items/{id}/children/{child}", i)
		case 3:
			p = fmt.Sprintf("/svc%d/{tenant}/reports/{year}.{format}", i)
		}
		fmt.Fprintf(&sb, "  %s:\n    get:\n      operationId: op%d\n", p, i)
		var params []string
		for _, name := range []string{"id", "child", "tenant", "year", "format"} {
			if strings.Contains(p, "{"+name+"}") {
				params = append(params, fmt.Sprintf("{name: %s, in: path, required: true, schema: {type: string}}", name))
			}
		}
		if len(params) > 0 {
			fmt.Fprintf(&sb, "      parameters: [%s]\n", strings.Join(params, ", "))
		}
		sb.WriteString("      responses: {'200': {description: ok}}\n")
	}
	return sb.String()
}

// BenchmarkFind500 looks an operation up among 500 paths.
func BenchmarkFind500(b *testing.B) {
	spec, err := openapi.Parse([]byte(manyPaths(500)))
	if err != nil {
		b.Fatal(err)
	}
	paths := []string{"/svc498/items/7/children/9", "/svc251/x/reports/2024.csv", "/svc0/items", "/svc497/items/42"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		op, _, err := spec.Find(http.MethodGet, paths[i%len(paths)])
		if err != nil {
			b.Fatal(err)
		}
		if op == nil {
			b.Fatal("no operation found")
		}
		i++
	}
}

func TestManyPathsAllResolve(t *testing.T) {
	t.Parallel()
	spec, err := openapi.Parse([]byte(manyPaths(500)))
	if err != nil {
		t.Fatal(err)
	}
	for i, op := range spec.Operations() {
		path := strings.NewReplacer("{id}", "1", "{child}", "2", "{tenant}", "t", "{year}", "2024", "{format}", "csv").Replace(op.Path)
		got, _, err := spec.Find(op.Method, path)
		if err != nil {
			t.Fatalf("operation %d %s: Find(%s): %v", i, op, path, err)
		}
		if got != op {
			t.Fatalf("operation %d %s: Find(%s) = %v, want the operation itself", i, op, path, got)
		}
	}
}
