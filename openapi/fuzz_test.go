package openapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/portico-dev/portico/openapi"
)

// FuzzRequest sends arbitrary query strings, bodies, path parameter values
// (every path style), headers and cookies to every operation of both specs:
// validation must never panic and must answer with the handler or a client
// error, never a server error.
func FuzzRequest(f *testing.F) {
	f.Add("limit=5&tag=cat", `{"name":"Rex","species":"dog"}`, uint8(0), "application/json", "7")
	f.Add("filter[minAge]=2&filter[kind]=x&ids=1%202", `{"kind":"dog","name":"x","goodBoy":true}`, uint8(3), "application/json", ";x=1;y=2")
	f.Add("cursor=a&size=99&status=a,b", "name=Rex&species=cat&age=3", uint8(7), "application/x-www-form-urlencoded", ".1,2")
	f.Add("colors=a|b|&dryRun=true", `{"owner":{"name":null},"labels":{"x":1e999}}`, uint8(10), "application/json", "role,admin,id")
	f.Add("x=%zz&filter[[=1", "--b\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhi\r\n--b--\r\n", uint8(10), "multipart/form-data; boundary=b", ";id=1")
	f.Add("", `[1,{"a":[null,true,"\u0000"]}]`, uint8(1), "application/problem+json", ".a.b")
	var vals []*openapi.Validator
	for _, file := range versions {
		vals = append(vals, openapi.NewValidator(load(f, file)))
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	f.Fuzz(func(t *testing.T, query, body string, pick uint8, ctype, param string) {
		seg := url.PathEscape(param)
		for _, val := range vals {
			ops := val.Spec().Operations()
			op := ops[int(pick)%len(ops)]
			path := strings.NewReplacer("{petId}", seg, "{ids}", seg, "{point}", seg, "{pair}", seg, "{name}", "a", "{ext}", "json", "{id}", seg, "{parts}", seg).Replace(op.Path)
			req := httptest.NewRequest(op.Method, "/v1/", strings.NewReader(body))
			req.URL.Path, req.URL.RawPath = "", "/v1"+path
			if u, err := url.PathUnescape(req.URL.RawPath); err == nil {
				req.URL.Path = u
			}
			req.URL.RawQuery = query
			req.Header.Set("Content-Type", ctype)
			req.Header["X-Trace-Tag"] = []string{param}
			req.Header["Cookie"] = []string{"session=" + param}
			w := httptest.NewRecorder()
			val.Middleware(ok).ServeHTTP(w, req)
			if w.Code >= 500 {
				t.Fatalf("%s ?%s %q: status %d", op, query, body, w.Code)
			}
			if w.Code >= 400 {
				var p struct{ Status int }
				if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
					t.Fatalf("%s: problem document %q does not decode: %v", op, w.Body.String(), err)
				}
				if p.Status != w.Code {
					t.Fatalf("%s: problem document status = %d, want the response's %d", op, p.Status, w.Code)
				}
			}
		}
	})
}

// FuzzPathTemplate loads documents with arbitrary path templates and looks
// up arbitrary paths: loading either fails with an error or succeeds, and a
// lookup never panics.
func FuzzPathTemplate(f *testing.F) {
	f.Add("/a/{b}/c.{d}", "/a/x/c.json")
	f.Add("/{a}{b}", "/xy")
	f.Add("/a/{", "/a/{")
	f.Add("/{x}.{y}.{z}", "/1.2.3")
	f.Add("/a//{b}/", "/a//b/")
	f.Add("/ü/{ä}", "/%C3%BC/%20")
	f.Fuzz(func(t *testing.T, tmpl, path string) {
		var params []string
		for _, part := range strings.Split(tmpl, "{")[1:] {
			if name, _, ok := strings.Cut(part, "}"); ok && name != "" {
				params = append(params, `{"name":`+quote(name)+`,"in":"path","required":true,"schema":{"type":"string"}}`)
			}
		}
		doc := `{"openapi":"3.1.0","info":{"title":"f","version":"1"},"paths":{` + quote(tmpl) +
			`:{"get":{"parameters":[` + strings.Join(params, ",") + `],"responses":{"200":{"description":"ok"}}}}}}`
		spec, err := openapi.Parse([]byte(doc))
		if err != nil {
			return
		}
		if _, err := url.Parse(path); err != nil {
			return
		}
		op, got, err := spec.Find(http.MethodGet, path)
		if err == nil && op == nil {
			t.Fatalf("Find(%q) in %q = no operation and no error", path, tmpl)
		}
		if err == nil && got.Len() > len(params) {
			t.Fatalf("Find(%q) in %q = %d parameters, want at most %d", path, tmpl, got.Len(), len(params))
		}
		// The per-operation middleware takes any path without panicking.
		u := &url.URL{Path: path}
		if p, err := url.PathUnescape(path); err == nil {
			u.Path, u.RawPath = p, path
		}
		req := &http.Request{
			Method: http.MethodGet,
			URL:    u,
			Header: http.Header{},
			Body:   http.NoBody,
		}
		w := httptest.NewRecorder()
		openapi.NewValidator(spec).For(spec.Operations()[0])(http.NotFoundHandler()).ServeHTTP(w, req)
		if w.Code != http.StatusNotFound && w.Code != http.StatusBadRequest {
			t.Fatalf("For on %q in %q: status %d", path, tmpl, w.Code)
		}
	})
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
