package openapi_test

import (
	"errors"
	"fmt"
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
		{name: "a static path matches", method: "GET", path: "/users", id: "listUsers", params: map[string]string{}},
		{name: "the server base path is stripped", method: "POST", path: "/api/v2/users", id: "createUser", params: map[string]string{}},
		{name: "a static segment wins over a parameter", method: "GET", path: "/users/me", id: "me", params: map[string]string{}},
		{name: "a parameter takes any other segment", method: "GET", path: "/users/42", id: "getUser", params: map[string]string{"id": "42"}},
		{name: "a parameter value is unescaped", method: "DELETE", path: "/users/a%2Fb%20c", id: "deleteUser", params: map[string]string{"id": "a/b c"}},
		{name: "a segment with a literal between two parameters splits them", method: "GET", path: "/users/7/avatar.png", id: "avatar", params: map[string]string{"id": "7", "format": "png"}},
		{name: "parameter names differ by path and are kept per operation", method: "GET", path: "/users/7/posts/9", id: "getPost", params: map[string]string{"userId": "7", "postId": "9"}},
		{name: "HEAD is served by GET", method: "HEAD", path: "/users/me", id: "me", params: map[string]string{}},
		{name: "an unknown path is not found", method: "GET", path: "/groups", err: openapi.ErrNotFound},
		{name: "a path one segment too long is not found", method: "GET", path: "/users/7/posts/9/x", err: openapi.ErrNotFound},
		{name: "a trailing slash is a different path", method: "GET", path: "/users/", err: openapi.ErrNotFound},
		{name: "an empty parameter value does not match", method: "GET", path: "/users//posts/9", err: openapi.ErrNotFound},
		{name: "a known path with another method lists the allowed ones", method: "PUT", path: "/users/42", err: openapi.ErrMethodNotAllowed, allow: []string{"DELETE", "GET"}},
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
			if op.ID != tc.id || !reflect.DeepEqual(params.Map(), tc.params) {
				t.Fatalf("got %s %v, want %s %v", op.ID, params.Map(), tc.id, tc.params)
			}
			for name, want := range tc.params {
				if got := params.Get(name); got != want {
					t.Errorf("Get(%q) = %q, want %q", name, got, want)
				}
			}
			if params.Get("nope") != "" || params.Len() != len(tc.params) {
				t.Errorf("Get of an unknown name = %q, Len = %d", params.Get("nope"), params.Len())
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
	if len(post.Extensions) != 4 || string(post.Extensions["x-portico-cache"]) != `{"ttl":"30s"}` || string(post.Extensions["x-internal"]) != "true" ||
		string(post.Extensions["x-portico-timeout"]) != `"3s"` {
		t.Errorf("extensions of an operation that sets its own = %s", fmt.Sprint(post.Extensions))
	}
	if me := spec.Operation("me").Extensions; len(me) != 2 || string(me["x-portico-timeout"]) != `"5s"` || string(me["x-portico-cache"]) != `{"ttl":"1s"}` {
		t.Errorf("extensions inherited from the document = %s", fmt.Sprint(me))
	}
	var rl struct {
		Requests int    `json:"requests"`
		Per      string `json:"per"`
	}
	if ok, err := post.Extension("x-portico-ratelimit", &rl); !ok || err != nil || rl.Requests != 5 || rl.Per != "1s" {
		t.Errorf("Extension = %v, %v, %+v", ok, err, rl)
	}
	if ok, _ := post.Extension("x-portico-quota", &rl); ok {
		t.Error("Extension reports an extension the operation does not have")
	}
	var n int
	if _, err := post.Extension("x-portico-cache", &n); err == nil || !strings.Contains(err.Error(), "x-portico-cache") {
		t.Errorf("a mistyped extension error = %v, want one naming it", err)
	}
	if !spec.Operation("me").Deprecated || post.Deprecated {
		t.Error("Deprecated does not follow the document")
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
		if name != fmt.Sprintf("p%d", i) || value != fmt.Sprintf("v/%d", i) {
			t.Errorf("At(%d) = %q, %q", i, name, value)
		}
	}
}
