package openapi_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/portico-dev/portico/openapi"
)

const routingSpec = `openapi: 3.1.0
info: {title: routing, version: '1'}
x-portico-timeout: 5s
x-portico-cache: {ttl: 1s}
x-vendor: not inherited
servers: [{url: 'https://{region}.example.com/api/v2', variables: {region: {default: eu}}}]
paths:
  /users:
    get: {operationId: listUsers, responses: {'200': {description: ok}}}
    post: {operationId: createUser, responses: {'201': {description: ok}}}
  /users/me:
    get: {operationId: me, deprecated: true, responses: {'200': {description: ok}}}
  /users/{id}:
    parameters: [{name: id, in: path, required: true, schema: {type: string}}]
    get: {operationId: getUser, responses: {'200': {description: ok}}}
    delete: {operationId: deleteUser, responses: {'204': {description: ok}}}
  /users/{id}/avatar.{format}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
      - {name: format, in: path, required: true, schema: {type: string}}
    get: {operationId: avatar, responses: {'200': {description: ok}}}
  /users/{userId}/posts/{postId}:
    x-portico-timeout: 3s
    parameters:
      - {name: userId, in: path, required: true, schema: {type: string}}
      - {name: postId, in: path, required: true, schema: {type: string}}
    get:
      operationId: getPost
      servers: [{url: 'https://posts.example.com'}]
      x-portico-ratelimit: {requests: 5, per: 1s}
      x-portico-cache: {ttl: 30s}
      x-internal: true
      responses: {'200': {description: ok}}
`

func TestFind(t *testing.T) {
	t.Parallel()
	spec, err := openapi.Parse([]byte(routingSpec))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		method string
		path   string
		id     string
		params map[string]string
		err    error
		allow  []string
	}{
		{
			name:   "a static path matches",
			method: "GET",
			path:   "/users",
			id:     "listUsers",
			params: map[string]string{},
		},
		{
			name:   "the server base path is stripped",
			method: "POST",
			path:   "/api/v2/users",
			id:     "createUser",
			params: map[string]string{},
		},
		{
			name:   "a static segment wins over a parameter",
			method: "GET",
			path:   "/users/me",
			id:     "me",
			params: map[string]string{},
		},
		{
			name:   "a parameter takes any other segment",
			method: "GET",
			path:   "/users/42",
			id:     "getUser",
			params: map[string]string{"id": "42"},
		},
		{
			name:   "a parameter value is unescaped",
			method: "DELETE",
			path:   "/users/a%2Fb%20c",
			id:     "deleteUser",
			params: map[string]string{"id": "a/b c"},
		},
		{
			name:   "a segment with a literal between two parameters splits them",
			method: "GET",
			path:   "/users/7/avatar.png",
			id:     "avatar",
			params: map[string]string{"id": "7", "format": "png"},
		},
		{
			name:   "parameter names differ by path and are kept per operation",
			method: "GET",
			path:   "/users/7/posts/9",
			id:     "getPost",
			params: map[string]string{"userId": "7", "postId": "9"},
		},
		{
			name:   "HEAD is served by GET",
			method: "HEAD",
			path:   "/users/me",
			id:     "me",
			params: map[string]string{},
		},
		{
			name:   "an unknown path is not found",
			method: "GET",
			path:   "/groups",
			err:    openapi.ErrNotFound,
		},
		{
			name:   "a path one segment too long is not found",
			method: "GET",
			path:   "/users/7/posts/9/x",
			err:    openapi.ErrNotFound,
		},
		{
			name:   "a trailing slash is a different path",
			method: "GET",
			path:   "/users/",
			err:    openapi.ErrNotFound,
		},
		{
			name:   "an empty parameter value does not match",
			method: "GET",
			path:   "/users//posts/9",
			err:    openapi.ErrNotFound,
		},
		{
			name:   "a known path with another method lists the allowed ones",
			method: "PUT",
			path:   "/users/42",
			err:    openapi.ErrMethodNotAllowed,
			allow:  []string{"DELETE", "GET"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			op, params, err := spec.Find(tc.method, tc.path)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				var me *openapi.MethodError
				if errors.As(err, &me) && !reflect.DeepEqual(me.Allow, tc.allow) {
					t.Errorf("Allow = %v, want %v", me.Allow, tc.allow)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := op.ID, tc.id; got != want {
				t.Fatalf("operation = %s, want %s", got, want)
			}
			if got, want := params.Map(), tc.params; !reflect.DeepEqual(got, want) {
				t.Fatalf("params = %v, want %v", got, want)
			}
			for name, want := range tc.params {
				if got := params.Get(name); got != want {
					t.Errorf("Get(%q) = %q, want %q", name, got, want)
				}
			}
			if got := params.Get("nope"); got != "" {
				t.Errorf("Get of an unknown name = %q, want empty", got)
			}
			if got, want := params.Len(), len(tc.params); got != want {
				t.Errorf("Len = %d, want %d", got, want)
			}
		})
	}
}

func TestOperationsExposeWhatAGatewayNeeds(t *testing.T) {
	t.Parallel()
	spec, err := openapi.Parse([]byte(routingSpec))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, op := range spec.Operations() {
		got = append(got, op.Method+" "+op.Path+" "+op.ID)
	}
	want := []string{
		"GET /users listUsers", "POST /users createUser", "GET /users/me me",
		"GET /users/{id} getUser", "DELETE /users/{id} deleteUser",
		"GET /users/{id}/avatar.{format} avatar", "GET /users/{userId}/posts/{postId} getPost",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("operations:\n got %q\nwant %q", got, want)
	}
	post := spec.Operation("getPost")
	if !reflect.DeepEqual(post.Servers, []string{"https://posts.example.com"}) {
		t.Errorf("operation servers = %v", post.Servers)
	}
	if s := spec.Operation("me").Servers; !reflect.DeepEqual(s, []string{"https://{region}.example.com/api/v2"}) {
		t.Errorf("document servers = %v", s)
	}
	ext := rawStrings(post.Extensions)
	delete(ext, "x-portico-ratelimit") // decoded by Extension below
	if want := map[string]string{
		"x-portico-cache":   `{"ttl":"30s"}`,
		"x-internal":        "true",
		"x-portico-timeout": `"3s"`,
	}; !maps.Equal(ext, want) {
		t.Errorf("extensions of an operation that sets its own = %v, want %v and x-portico-ratelimit", ext, want)
	}
	if got, want := rawStrings(spec.Operation("me").Extensions), map[string]string{
		"x-portico-timeout": `"5s"`,
		"x-portico-cache":   `{"ttl":"1s"}`,
	}; !maps.Equal(got, want) {
		t.Errorf("extensions inherited from the document = %v, want %v", got, want)
	}
	type rateLimit struct {
		Requests int    `json:"requests"`
		Per      string `json:"per"`
	}
	var rl rateLimit
	ok, err := post.Extension("x-portico-ratelimit", &rl)
	if err != nil {
		t.Fatalf("Extension: %v", err)
	}
	if !ok {
		t.Error("Extension did not find x-portico-ratelimit")
	}
	if got, want := rl, (rateLimit{Requests: 5, Per: "1s"}); got != want {
		t.Errorf("Extension decoded %+v, want %+v", got, want)
	}
	if ok, _ := post.Extension("x-portico-quota", &rl); ok {
		t.Error("Extension reports an extension the operation does not have")
	}
	var n int
	if _, err := post.Extension("x-portico-cache", &n); err == nil {
		t.Error("a mistyped extension decoded without error")
	} else if !strings.Contains(err.Error(), "x-portico-cache") {
		t.Errorf("a mistyped extension error = %v, want one naming it", err)
	}
	if !spec.Operation("me").Deprecated {
		t.Error("operation me is not Deprecated, as the document marks it")
	}
	if post.Deprecated {
		t.Error("operation post is Deprecated, but the document does not mark it")
	}
	if spec.Operation("nope") != nil {
		t.Error("Operation found an unknown ID")
	}
}

func TestFindMoreThanEightParameters(t *testing.T) {
	t.Parallel()
	var tmpl, path, params []string
	for i := range 10 {
		name := fmt.Sprintf("p%d", i)
		tmpl = append(tmpl, "{"+name+"}")
		path = append(path, fmt.Sprintf("v%%2F%d", i))
		params = append(params, fmt.Sprintf("{name: %s, in: path, required: true, schema: {type: string}}", name))
	}
	doc := "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /" + strings.Join(tmpl, "/") +
		":\n    get:\n      parameters: [" + strings.Join(params, ", ") + "]\n      responses: {'200': {description: ok}}\n"
	spec, err := openapi.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	_, got, err := spec.Find(http.MethodGet, "/"+strings.Join(path, "/"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != 10 {
		t.Fatalf("Len = %d, want 10", got.Len())
	}
	for i := range 10 {
		name, value := got.At(i)
		if got, want := [2]string{name, value}, [2]string{fmt.Sprintf("p%d", i), fmt.Sprintf("v/%d", i)}; got != want {
			t.Errorf("At(%d) = %q, want %q", i, got, want)
		}
	}
}

// rawStrings turns raw JSON values into strings, for comparing them.
func rawStrings(m map[string]json.RawMessage) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}
