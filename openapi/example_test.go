package openapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing/fstest"

	"github.com/portico-dev/portico/openapi"
)

const exampleSpec = `openapi: 3.1.0
info: {title: Orders, version: '1.0'}
paths:
  /orders/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer, minimum: 1}}
    get:
      operationId: getOrder
      x-portico-timeout: 2s
      responses:
        '200':
          description: the order
          content:
            application/json:
              schema:
                type: object
                required: [id, total]
                properties:
                  id: {type: integer}
                  total: {type: number}
  /orders:
    post:
      operationId: createOrder
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [sku, quantity]
              properties:
                sku: {type: string, pattern: '^[A-Z]{3}-[0-9]+$'}
                quantity: {type: integer, minimum: 1}
      responses:
        '201': {description: created}
`

func ExampleValidator_Middleware() {
	spec, err := openapi.Parse([]byte(exampleSpec))
	if err != nil {
		panic(err)
	}
	service := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body) // the validated body is still there
		fmt.Printf("service got %s\n", body)
		w.WriteHeader(http.StatusCreated)
	})
	h := openapi.NewValidator(spec).Middleware(service)

	for _, body := range []string{`{"sku":"ABC-1","quantity":2}`, `{"sku":"abc","quantity":0}`} {
		req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Println(strings.TrimSpace(fmt.Sprint(w.Code, " ", w.Body.String())))
	}
	// Output:
	// service got {"sku":"ABC-1","quantity":2}
	// 201
	// 400 {"detail":"the request does not match the API contract","errors":[{"in":"body","pointer":"/quantity","message":"must be \u003e= 1","keyword":"minimum"},{"in":"body","pointer":"/sku","message":"must match pattern \"^[A-Z]{3}-[0-9]+$\"","keyword":"pattern"}],"status":400,"title":"Bad Request","type":"about:blank"}
}

func ExampleSpec_Operations() {
	spec, err := openapi.Parse([]byte(exampleSpec))
	if err != nil {
		panic(err)
	}
	for _, op := range spec.Operations() {
		var timeout string
		if ok, _ := op.Extension("x-portico-timeout", &timeout); ok {
			fmt.Println(op.Method, op.Path, op.ID, "timeout", timeout)
			continue
		}
		fmt.Println(op.Method, op.Path, op.ID)
	}
	// Output:
	// POST /orders createOrder
	// GET /orders/{id} getOrder timeout 2s
}

func ExampleWithResponses() {
	spec, err := openapi.Parse([]byte(exampleSpec))
	if err != nil {
		panic(err)
	}
	drifting := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":7}`) // "total" is missing
	})
	quiet := slog.New(slog.DiscardHandler) // violations are logged at Warn
	h := openapi.NewValidator(spec, openapi.WithResponses(openapi.ResponsesEnforce), openapi.WithLogger(quiet)).Middleware(drifting)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/orders/7", nil))
	fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	// Output:
	// 502 {"detail":"the upstream response does not match the API contract","errors":[{"in":"body","pointer":"/total","message":"is required","keyword":"required"}],"status":502,"title":"Bad Gateway","type":"about:blank"}
}

func ExampleSpec_Find() {
	spec, err := openapi.Parse([]byte(exampleSpec))
	if err != nil {
		panic(err)
	}
	op, params, err := spec.Find(http.MethodGet, "/orders/42")
	fmt.Println(op.ID, params.Get("id"), err)
	_, _, err = spec.Find(http.MethodDelete, "/orders/42")
	fmt.Println(err)
	// Output:
	// getOrder 42 <nil>
	// portico/openapi: method not allowed; the path supports GET
}

func ExampleNewDocs() {
	spec, err := openapi.Parse([]byte(exampleSpec))
	if err != nil {
		panic(err)
	}
	docs, err := openapi.NewDocs(spec)
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/docs/", http.StripPrefix("/docs", docs))
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/docs/openapi.yaml", nil))
	fmt.Println(w.Header().Get("Content-Type"))
	fmt.Println(strings.Join(strings.Split(w.Body.String(), "\n")[:3], "\n"))
	// Output:
	// application/yaml
	// openapi: 3.1.0
	// info:
	//   title: Orders
}

func ExampleLoadFS() {
	// With embed: //go:embed api/*.yaml, then openapi.LoadFS(files, "api/openapi.yaml").
	files := fstest.MapFS{
		"api/openapi.yaml": {Data: []byte(`openapi: 3.0.3
info: {title: Pets, version: '1'}
paths:
  /pets:
    post:
      requestBody:
        content:
          application/json:
            schema: {$ref: 'schemas.yaml#/Pet'}
      responses:
        '201': {description: created}
`)},
		"api/schemas.yaml": {Data: []byte(`Pet:
  type: object
  required: [name]
  properties:
    name: {type: string}
    tag: {type: string, nullable: true}
`)},
	}
	spec, err := openapi.LoadFS(files, "api/openapi.yaml")
	if err != nil {
		panic(err)
	}
	fmt.Println(spec.Title(), spec.Version(), len(spec.Operations()))
	// Output:
	// Pets 3.0.3 1
}

func ExampleWithSecurity() {
	spec, err := openapi.Parse([]byte(`openapi: 3.1.0
info: {title: Admin, version: '1'}
components:
  securitySchemes:
    jwt: {type: http, scheme: bearer}
paths:
  /reports:
    get:
      security: [{jwt: [reports:read]}]
      responses:
        '200': {description: ok}
`))
	if err != nil {
		panic(err)
	}
	// The authentication middleware in front put the caller's scopes in the
	// context; the hook reads them back.
	type scopesKey struct{}
	identity := func(r *http.Request) (openapi.Identity, bool) {
		scopes, ok := r.Context().Value(scopesKey{}).([]string)
		return openapi.Identity{Scopes: scopes}, ok
	}
	h := openapi.NewValidator(spec, openapi.WithSecurity(identity)).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))

	for _, scopes := range [][]string{nil, {"profile"}, {"reports:read"}} {
		req := httptest.NewRequest(http.MethodGet, "/reports", nil)
		if scopes != nil {
			req = req.WithContext(context.WithValue(req.Context(), scopesKey{}, scopes))
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Println(strings.TrimSpace(fmt.Sprint(w.Code, " ", w.Header().Get("WWW-Authenticate"))))
	}
	// Output:
	// 401 Bearer
	// 403
	// 200
}

func ExampleCatalog() {
	orders, err := openapi.Parse([]byte(exampleSpec))
	if err != nil {
		panic(err)
	}
	h := openapi.Catalog("Our APIs", openapi.API{Spec: orders, Docs: "/orders/docs/"})
	req := httptest.NewRequest(http.MethodGet, "/apis", nil)
	req.Header.Set("Accept", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	fmt.Println(w.Body.String())
	// Output:
	// {"apis":[{"title":"Orders","version":"1.0","docs":"/orders/docs/","operations":2}],"title":"Our APIs"}
}

// A 3.0 document that writes a nullable reference beside allOf: by the
// 3.0.3 text, nullable without a type admits nothing, so null is refused;
// WithLooseNullable reads it as many tools do.
func ExampleWithLooseNullable() {
	const doc = `openapi: 3.0.3
info: {title: Pets, version: '1'}
paths:
  /pets:
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                owner: {nullable: true, allOf: [{$ref: '#/components/schemas/Owner'}]}
      responses:
        '201': {description: created}
components:
  schemas:
    Owner: {type: object, required: [name], properties: {name: {type: string}}}
`
	for _, opts := range [][]openapi.LoadOption{nil, {openapi.WithLooseNullable()}} {
		spec, err := openapi.Parse([]byte(doc), opts...)
		if err != nil {
			panic(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/pets", strings.NewReader(`{"owner":null}`))
		req.Header.Set("Content-Type", "application/json")
		_, err = openapi.NewValidator(spec).ValidateRequest(req)
		fmt.Println(err)
	}
	// Output:
	// portico/openapi: the request does not match the API contract: body /owner: must be object, got null
	// <nil>
}
