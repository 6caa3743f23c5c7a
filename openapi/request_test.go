package openapi_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/portico-dev/portico/openapi"
)

type requestCase struct {
	name    string
	method  string
	target  string
	ctype   string
	body    string
	header  map[string]string
	status  int
	errors  []openapi.Violation
	reached bool
}

func v(in, name, ptr, msg, kw string) openapi.Violation {
	return openapi.Violation{
		In:      in,
		Name:    name,
		Pointer: ptr,
		Message: msg,
		Keyword: kw,
	}
}

var requestCases = []requestCase{
	{
		name:    "a list request using every query, header and cookie style passes",
		method:  "GET",
		target:  "/v1/pets?limit=10&tag=cat&tag=dog&status=a,b&ids=1%202&colors=red|blue&filter[kind]=cat&filter[minAge]=2&cursor=x&size=10",
		header:  map[string]string{"X-Trace-Tag": "ABC", "Cookie": "session=abcdefgh"},
		status:  204,
		reached: true,
	},
	{
		name:   "an integer query parameter below its minimum is refused",
		method: "GET",
		target: "/v1/pets?limit=0",
		status: 400,
		errors: []openapi.Violation{v("query", "limit", "", "must be >= 1", "minimum")},
	},
	{
		name:   "a query parameter that is not an integer is refused",
		method: "GET",
		target: "/v1/pets?limit=ten",
		status: 400,
		errors: []openapi.Violation{v("query", "limit", "", "must be integer, got string", "type")},
	},
	{
		name:   "an int32 query parameter out of its format's range is refused",
		method: "GET",
		target: "/v1/pets?limit=3000000000",
		status: 400,
		errors: []openapi.Violation{v("query", "limit", "", "must be a valid int32", "format")},
	},
	{
		name:   "an exploded form array rejects an item outside its enum",
		method: "GET",
		target: "/v1/pets?tag=cat&tag=fish",
		status: 400,
		errors: []openapi.Violation{v("query", "tag", "/1", "value must be one of 'cat', 'dog', 'bird'", "enum")},
	},
	{
		name:   "a comma-separated form array over maxItems is refused",
		method: "GET",
		target: "/v1/pets?status=a,b,c,d",
		status: 400,
		errors: []openapi.Violation{v("query", "status", "", "must have at most 3 items", "maxItems")},
	},
	{
		name:   "a space-delimited array with a non-integer item is refused",
		method: "GET",
		target: "/v1/pets?ids=1%20x",
		status: 400,
		errors: []openapi.Violation{v("query", "ids", "/1", "must be integer, got string", "type")},
	},
	{
		name:   "a pipe-delimited array item must match its pattern",
		method: "GET",
		target: "/v1/pets?colors=red|Blue",
		status: 400,
		errors: []openapi.Violation{v("query", "colors", "/1", `must match pattern "^[a-z]+$"`, "pattern")},
	},
	{
		name:   "a deepObject parameter refuses a property its schema does not have",
		method: "GET",
		target: "/v1/pets?filter[kind]=x&filter[color]=red",
		status: 400,
		errors: []openapi.Violation{v("query", "filter", "/color", "is not allowed: the schema has no such property", "additionalProperties")},
	},
	{
		name:   "a deepObject property is typed and bounded",
		method: "GET",
		target: "/v1/pets?filter[minAge]=-1",
		status: 400,
		errors: []openapi.Violation{v("query", "filter", "/minAge", "must be >= 0", "minimum")},
	},
	{
		name:   "an exploded form object is assembled from its properties",
		method: "GET",
		target: "/v1/pets?cursor=abc&size=99",
		status: 400,
		errors: []openapi.Violation{v("query", "page", "/size", "must be <= 50", "maximum")},
	},
	{
		name:   "a header parameter must match its pattern",
		method: "GET",
		target: "/v1/pets",
		header: map[string]string{"X-Trace-Tag": "abcd"},
		status: 400,
		errors: []openapi.Violation{v("header", "X-Trace-Tag", "", `must match pattern "^[A-Z]{3}$"`, "pattern")},
	},
	{
		name:   "a cookie parameter must respect its minLength",
		method: "GET",
		target: "/v1/pets",
		header: map[string]string{"Cookie": "session=short"},
		status: 400,
		errors: []openapi.Violation{v("cookie", "session", "", "must be at least 8 characters long", "minLength")},
	},
	{
		name:   "several broken parameters are each reported once",
		method: "GET",
		target: "/v1/pets?limit=0&tag=fish",
		header: map[string]string{"X-Trace-Tag": "x"},
		status: 400,
		errors: []openapi.Violation{
			v("query", "limit", "", "must be >= 1", "minimum"),
			v("query", "tag", "/0", "value must be one of 'cat', 'dog', 'bird'", "enum"),
			v("header", "X-Trace-Tag", "", `must match pattern "^[A-Z]{3}$"`, "pattern"),
		},
	},
	{
		name:   "a path integer declared on the path item is validated",
		method: "GET",
		target: "/v1/pets/0",
		status: 400,
		errors: []openapi.Violation{v("path", "petId", "", "must be >= 1", "minimum")},
	},
	{
		name:   "a path parameter that is not an integer is refused",
		method: "GET",
		target: "/v1/pets/abc",
		status: 400,
		errors: []openapi.Violation{v("path", "petId", "", "must be integer, got string", "type")},
	},
	{
		name:    "a valid path parameter passes without the server base path too",
		method:  "GET",
		target:  "/pets/7",
		status:  204,
		reached: true,
	},
	{
		name:    "a label-style path array is decoded",
		method:  "GET",
		target:  "/v1/label/.1,2",
		status:  204,
		reached: true,
	},
	{
		name:   "a label-style path array needs its leading dot",
		method: "GET",
		target: "/v1/label/1,2",
		status: 400,
		errors: []openapi.Violation{v("path", "ids", "", "label style value must start with '.'", "style")},
	},
	{
		name:   "a label-style path array below minItems is refused",
		method: "GET",
		target: "/v1/label/.1",
		status: 400,
		errors: []openapi.Violation{v("path", "ids", "", "must have at least 2 items", "minItems")},
	},
	{
		name:    "an exploded matrix object is decoded",
		method:  "GET",
		target:  "/v1/matrix/;x=1.5;y=2",
		status:  204,
		reached: true,
	},
	{
		name:   "an exclusive minimum refuses the bound itself",
		method: "GET",
		target: "/v1/matrix/;x=1;y=0",
		status: 400,
		errors: []openapi.Violation{v("path", "point", "/y", "must be > 0", "exclusiveMinimum")},
	},
	{
		name:   "a required matrix member that is missing is reported",
		method: "GET",
		target: "/v1/matrix/;x=1",
		status: 400,
		errors: []openapi.Violation{v("path", "point", "/y", "is required", "required")},
	},
	{
		name:    "a simple-style object is decoded from key,value pairs",
		method:  "GET",
		target:  "/v1/simple/role,admin,id,7",
		status:  204,
		reached: true,
	},
	{
		name:   "a simple-style object has each member checked",
		method: "GET",
		target: "/v1/simple/role,root,id,x",
		status: 400,
		errors: []openapi.Violation{v("path", "pair", "/id", "must be integer, got string", "type"), v("path", "pair", "/role", "value must be one of 'admin', 'user'", "enum")},
	},
	{
		name:    "two parameters in one path segment are both extracted",
		method:  "GET",
		target:  "/v1/files/report.json",
		status:  204,
		reached: true,
	},
	{
		name:   "the second parameter of a segment is validated",
		method: "GET",
		target: "/v1/files/report.txt",
		status: 400,
		errors: []openapi.Violation{v("path", "ext", "", "value must be one of 'json', 'yaml'", "enum")},
	},
	{
		name:    "a valid JSON body with null for nullable properties passes",
		method:  "POST",
		target:  "/v1/pets",
		ctype:   "application/json",
		body:    `{"name":"Rex","species":"dog","age":null,"tag":null}`,
		status:  204,
		reached: true,
	},
	{
		name:   "a JSON body breaking several rules lists each violation with its pointer",
		method: "POST",
		target: "/v1/pets",
		ctype:  "application/json",
		body:   `{"id":1,"name":"R2","species":"cow","age":-1}`,
		status: 400,
		errors: []openapi.Violation{
			v("body", "", "/age", "must be >= 0", "minimum"),
			v("body", "", "/id", "is read-only and must not be sent", "readOnly"),
			v("body", "", "/name", `must match pattern "^[A-Za-z ]+$"`, "pattern"),
			v("body", "", "/species", "value must be one of 'cat', 'dog', 'bird'", "enum"),
		},
	},
	{
		name:   "a missing required property is reported at its own pointer",
		method: "POST",
		target: "/v1/pets",
		ctype:  "application/json",
		body:   `{"species":"dog"}`,
		status: 400,
		errors: []openapi.Violation{v("body", "", "/name", "is required", "required")},
	},
	{
		name:   "a body that is not JSON is refused",
		method: "POST",
		target: "/v1/pets",
		ctype:  "application/json",
		body:   `{"name":`,
		status: 400,
		errors: []openapi.Violation{{In: "body", Message: "must be valid JSON"}},
	},
	{
		name:   "a required body that is missing is refused",
		method: "POST",
		target: "/v1/pets",
		ctype:  "application/json",
		status: 400,
		errors: []openapi.Violation{v("body", "", "", "is required", "required")},
	},
	{
		name:   "a query parameter and the body are reported together",
		method: "POST",
		target: "/v1/pets?dryRun=maybe",
		ctype:  "application/json",
		body:   `{"species":"dog"}`,
		status: 400,
		errors: []openapi.Violation{v("query", "dryRun", "", "must be boolean, got string", "type"), v("body", "", "/name", "is required", "required")},
	},
	{
		name:    "a URL-encoded form body is typed by its schema and passes",
		method:  "POST",
		target:  "/v1/pets?dryRun=true",
		ctype:   "application/x-www-form-urlencoded",
		body:    "name=Rex&species=cat&age=3",
		status:  204,
		reached: true,
	},
	{
		name:   "a URL-encoded form field of the wrong type is refused",
		method: "POST",
		target: "/v1/pets",
		ctype:  "application/x-www-form-urlencoded",
		body:   "name=Rex&species=cat&age=old",
		status: 400,
		errors: []openapi.Violation{v("body", "", "/age", "must be integer or null, got string", "type")},
	},
	{
		name:   "a content type the operation does not accept gets 415",
		method: "POST",
		target: "/v1/pets",
		ctype:  "text/plain",
		body:   "Rex",
		status: 415,
	},
	{
		name:   "a body without a Content-Type gets 415",
		method: "POST",
		target: "/v1/pets",
		body:   `{"name":"Rex","species":"dog"}`,
		status: 415,
	},
	{
		name:   "a discriminator validates the value against the one schema it names",
		method: "POST",
		target: "/v1/animals",
		ctype:  "application/json",
		body:   `{"kind":"dog","name":""}`,
		status: 400,
		errors: []openapi.Violation{v("body", "", "/goodBoy", "is required", "required"), v("body", "", "/name", "must be at least 1 characters long", "minLength")},
	},
	{
		name:   "an unknown discriminator value of a value no alternative accepts is reported with the known ones",
		method: "POST",
		target: "/v1/animals",
		ctype:  "application/json",
		body:   `{"kind":"cow"}`,
		status: 400,
		errors: []openapi.Violation{v("body", "", "/kind", "value must be one of 'cat', 'dog'", "discriminator")},
	},
	{
		name:   "a missing discriminator property is reported",
		method: "POST",
		target: "/v1/animals",
		ctype:  "application/json",
		body:   `{"name":"x"}`,
		status: 400,
		errors: []openapi.Violation{v("body", "", "/kind", "is required", "required")},
	},
	{
		name:    "a valid member of a discriminated union passes",
		method:  "POST",
		target:  "/v1/animals",
		ctype:   "application/json",
		body:    `{"kind":"cat","name":"Tom","lives":9}`,
		status:  204,
		reached: true,
	},
	{
		name:   "formats, additionalProperties, exclusive bounds and anyOf are enforced",
		method: "POST",
		target: "/v1/things",
		ctype:  "application/json",
		body:   `{"name":"x","password":"short","extra":1,"email":"nope","when":"yesterday","day":"2024-02-30","labels":{"a":"b"},"small":99999999999,"ratio":1,"choice":true,"blob":"!!"}`,
		status: 400,
		errors: []openapi.Violation{
			v("body", "", "/blob", "must be a valid byte", "format"),
			v("body", "", "/choice", "must match at least one schema in anyOf", "anyOf"),
			v("body", "", "/day", "must be a valid date", "format"),
			v("body", "", "/email", "must be a valid email", "format"),
			v("body", "", "/extra", "is not allowed: the schema has no such property", "additionalProperties"),
			v("body", "", "/labels/a", "must be integer, got string", "type"),
			v("body", "", "/password", "must be at least 8 characters long", "minLength"),
			v("body", "", "/ratio", "must be < 1", "exclusiveMaximum"),
			v("body", "", "/small", "must be a valid int32", "format"),
			v("body", "", "/when", "must be a valid date-time", "format"),
		},
	},
	{
		name:    "a reference or null accepts null and writeOnly properties may be sent",
		method:  "POST",
		target:  "/v1/things",
		ctype:   "application/json",
		body:    `{"name":"x","password":"long enough","owner":null,"choice":"abc","ratio":0.5}`,
		status:  204,
		reached: true,
	},
	{
		name:   "a reference or null still validates a non-null value",
		method: "POST",
		target: "/v1/things",
		ctype:  "application/json",
		body:   `{"name":"x","password":"long enough","owner":{}}`,
		status: 400,
		errors: []openapi.Violation{v("body", "", "/owner/name", "is required", "required")},
	},
	{
		name:   "a readOnly property may not be sent even when it is required in responses",
		method: "POST",
		target: "/v1/things",
		ctype:  "application/json",
		body:   `{"id":"0b6c5f3e-3b3c-4f0e-8d55-6d2b8f1f5a10","name":"x","password":"long enough"}`,
		status: 400,
		errors: []openapi.Violation{v("body", "", "/id", "is read-only and must not be sent", "readOnly")},
	},
	{
		name:    "an optional body may be left out",
		method:  "POST",
		target:  "/v1/things",
		status:  204,
		reached: true,
	},
	{
		name:    "a matrix primitive and an exploded label array are decoded",
		method:  "GET",
		target:  "/v1/styles/;id=5/.a.b.c",
		status:  204,
		reached: true,
	},
	{
		name:   "a matrix primitive and each exploded label item are validated",
		method: "GET",
		target: "/v1/styles/;id=100/.a.z",
		status: 400,
		errors: []openapi.Violation{v("path", "id", "", "must be <= 99", "maximum"), v("path", "parts", "/1", "value must be one of 'a', 'b', 'c'", "enum")},
	},
	{
		name:   "a matrix value must repeat the parameter name",
		method: "GET",
		target: "/v1/styles/;other=5/.a",
		status: 400,
		errors: []openapi.Violation{v("path", "id", "", "matrix style value must be ;id=...", "style")},
	},
	{
		name:   "a query parameter carrying JSON content is decoded and validated",
		method: "GET",
		target: "/v1/styles/;id=1/.a?where=%7B%22lat%22%3A91%7D",
		status: 400,
		errors: []openapi.Violation{v("query", "where", "/lat", "must be <= 90", "maximum")},
	},
	{
		name:   "a query parameter carrying malformed JSON is refused",
		method: "GET",
		target: "/v1/styles/;id=1/.a?where=%7Blat",
		status: 400,
		errors: []openapi.Violation{v("query", "where", "", "must be valid JSON", "style")},
	},
	{
		name:   "an anyOf with an implicit discriminator mapping dispatches on schema names",
		method: "POST",
		target: "/v1/shapes",
		ctype:  "application/json",
		body:   `{"shape":"Square","side":0}`,
		status: 400,
		errors: []openapi.Violation{v("body", "", "/side", "must be >= 1", "minimum")},
	},
	{
		name:   "an implicit discriminator refuses a name that is not a schema",
		method: "POST",
		target: "/v1/shapes",
		ctype:  "application/json",
		body:   `{"shape":"Triangle"}`,
		status: 400,
		errors: []openapi.Violation{v("body", "", "/shape", "value must be one of 'Circle', 'Square'", "discriminator")},
	},
	{
		name:    "a valid member of an implicitly discriminated anyOf passes",
		method:  "POST",
		target:  "/v1/shapes",
		ctype:   "application/json",
		body:    `{"shape":"Circle","radius":0.5}`,
		status:  204,
		reached: true,
	},
	{
		name:   "a path no operation serves gets 404",
		method: "GET",
		target: "/v1/owners",
		status: 404,
	},
	{
		name:   "a method the path does not serve gets 405",
		method: "DELETE",
		target: "/v1/pets",
		status: 405,
	},
}

func TestRequestValidation(t *testing.T) {
	t.Parallel()
	for _, file := range versions {
		spec := load(t, file)
		val := openapi.NewValidator(spec)
		for _, tc := range requestCases {
			t.Run(spec.Version()+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				req := newRequest(tc.method, tc.target, tc.ctype, tc.body)
				for k, v := range tc.header {
					req.Header.Set(k, v)
				}
				h := &reached{}
				w := httptest.NewRecorder()
				val.Middleware(h).ServeHTTP(w, req)
				res := w.Result()
				if res.StatusCode != tc.status {
					t.Fatalf("status = %d, want %d; body: %s", res.StatusCode, tc.status, w.Body.String())
				}
				if h.called != tc.reached {
					t.Fatalf("handler called = %v, want %v", h.called, tc.reached)
				}
				if tc.reached {
					return
				}
				p := decodeProblem(t, res)
				if p.Status != tc.status {
					t.Errorf("problem status = %d, want %d", p.Status, tc.status)
				}
				if !reflect.DeepEqual(p.Errors, tc.errors) {
					t.Errorf("errors:\n got %#v\nwant %#v", p.Errors, tc.errors)
				}
			})
		}
	}
}

func TestMultipartBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		title  string
		count  string
		status int
		errors []openapi.Violation
	}{
		{
			name:   "a multipart form within its schema passes",
			title:  "box",
			count:  "3",
			status: 204,
		},
		{
			name:   "a multipart field over maxLength and a non-integer count are refused",
			title:  "a very long title",
			count:  "many",
			status: 400,
			errors: []openapi.Violation{v("body", "", "/count", "must be integer, got string", "type"), v("body", "", "/title", "must be at most 10 characters long", "maxLength")},
		},
	}
	val := openapi.NewValidator(load(t, versions[1]))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			_ = mw.WriteField("title", tc.title)
			_ = mw.WriteField("count", tc.count)
			_ = mw.Close()
			req := newRequest("POST", "/v1/things", mw.FormDataContentType(), buf.String())
			w := httptest.NewRecorder()
			val.Middleware(&reached{}).ServeHTTP(w, req)
			if w.Code != tc.status {
				t.Fatalf("status = %d, want %d: %s", w.Code, tc.status, w.Body.String())
			}
			if tc.status == 400 {
				if p := decodeProblem(t, w.Result()); !reflect.DeepEqual(p.Errors, tc.errors) {
					t.Errorf("errors:\n got %#v\nwant %#v", p.Errors, tc.errors)
				}
			}
		})
	}
}

func TestUnknownOperations(t *testing.T) {
	t.Parallel()
	spec := load(t, versions[0])
	tests := []struct {
		name   string
		opts   []openapi.Option
		method string
		target string
		status int
		allow  string
	}{
		{
			name:   "an unknown path is refused with 404 by default",
			method: "GET",
			target: "/v1/nowhere",
			status: 404,
		},
		{
			name:   "an unknown method is refused with 405 and an Allow header",
			method: "PATCH",
			target: "/v1/pets",
			status: 405,
			allow:  "GET, POST",
		},
		{
			name:   "pass-through lets an unknown path reach the handler",
			opts:   []openapi.Option{openapi.WithPassThrough()},
			method: "GET",
			target: "/v1/nowhere",
			status: 204,
		},
		{
			name:   "pass-through lets an unknown method reach the handler",
			opts:   []openapi.Option{openapi.WithPassThrough()},
			method: "PATCH",
			target: "/v1/pets",
			status: 204,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			openapi.NewValidator(spec, tc.opts...).Middleware(&reached{}).ServeHTTP(w, newRequest(tc.method, tc.target, "", ""))
			if w.Code != tc.status {
				t.Fatalf("status = %d, want %d", w.Code, tc.status)
			}
			if got := w.Header().Get("Allow"); got != tc.allow {
				t.Errorf("Allow = %q, want %q", got, tc.allow)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	val := openapi.NewValidator(load(t, versions[0]), openapi.WithBodyLimit(16))
	tests := []struct {
		name    string
		chunked bool
	}{
		{name: "a body whose Content-Length is over the limit gets 413"},
		{name: "a chunked body that grows over the limit gets 413", chunked: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := newRequest("POST", "/v1/pets", "application/json", `{"name":"Rexxxxxxxxxxxxx","species":"dog"}`)
			if tc.chunked {
				req.ContentLength = -1
			}
			h := &reached{}
			w := httptest.NewRecorder()
			val.Middleware(h).ServeHTTP(w, req)
			if got, want := w.Code, http.StatusRequestEntityTooLarge; got != want {
				t.Errorf("status = %d, want %d", got, want)
			}
			if h.called {
				t.Error("the handler was called, want the request stopped before it")
			}
		})
	}
}
