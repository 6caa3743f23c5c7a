package middleware_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/middleware"
)

// echoHeaders answers with the request header it received, as JSON.
func echoHeaders(t *testing.T) *countingOrigin {
	return newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(r.Header)
	})
}

// routed mounts mw around a proxy to o under an http.ServeMux pattern, so
// path parameters resolve.
func routedFront(t *testing.T, o *countingOrigin, pattern string, mw func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	u, _ := url.Parse(o.URL)
	mux := http.NewServeMux()
	mux.Handle(pattern, mw(httputil.NewSingleHostReverseProxy(u)))
	srv := httptest.NewServer(middleware.RequestID(middleware.RequestIDConfig{})(mux))
	t.Cleanup(srv.Close)
	return srv
}

func TestTransformRequestHeaders(t *testing.T) {
	t.Parallel()
	vars := func(_ *http.Request, name string) (string, bool) {
		switch name {
		case "consumer.id":
			return "c-42", true
		case "region":
			return "eu", true
		}
		return "", false
	}
	tests := []struct {
		name   string
		rules  middleware.HeaderRules
		send   map[string]string
		target string
		check  func(h http.Header) string
	}{
		{
			name:  "a removed field never reaches the upstream",
			rules: middleware.HeaderRules{Remove: []string{"X-Internal"}},
			send:  map[string]string{"X-Internal": "secret"},
			check: func(h http.Header) string { return wantEq(h.Get("X-Internal"), "") },
		},
		{
			name:  "a renamed field arrives under its new name",
			rules: middleware.HeaderRules{Rename: map[string]string{"X-Old": "X-New"}},
			send:  map[string]string{"X-Old": "v"},
			check: func(h http.Header) string { return wantEq(h.Get("X-Old")+"|"+h.Get("X-New"), "|v") },
		},
		{
			name:  "a set field replaces what the client sent",
			rules: middleware.HeaderRules{Set: map[string]string{"X-Env": "prod"}},
			send:  map[string]string{"X-Env": "spoofed"},
			check: func(h http.Header) string { return wantEq(strings.Join(h.Values("X-Env"), ","), "prod") },
		},
		{
			name:  "an added field keeps what the client sent",
			rules: middleware.HeaderRules{Add: map[string]string{"X-Tag": "gw"}},
			send:  map[string]string{"X-Tag": "client"},
			check: func(h http.Header) string { return wantEq(strings.Join(h.Values("X-Tag"), ","), "client,gw") },
		},
		{
			name:   "templates read path parameters, query, headers, method and host",
			rules:  middleware.HeaderRules{Set: map[string]string{"X-Info": "{method} order={path.id} q={query.q} tok={header.x-token} {{lit}}"}},
			send:   map[string]string{"X-Token": "t1"},
			target: "/orders/17?q=blue",
			check:  func(h http.Header) string { return wantEq(h.Get("X-Info"), "GET order=17 q=blue tok=t1 {lit}") },
		},
		{
			name:  "templates read the request ID",
			rules: middleware.HeaderRules{Set: map[string]string{"X-Upstream-Request": "{request_id}"}},
			send:  map[string]string{"X-Request-Id": "req-abc-123"},
			check: func(h http.Header) string { return wantEq(h.Get("X-Upstream-Request"), "req-abc-123") },
		},
		{
			name:  "templates read the consumer and custom variables through Vars",
			rules: middleware.HeaderRules{Set: map[string]string{"X-Consumer": "{consumer.id}@{region}"}},
			check: func(h http.Header) string { return wantEq(h.Get("X-Consumer"), "c-42@eu") },
		},
		{
			name:  "a template that renders empty sets nothing",
			rules: middleware.HeaderRules{Set: map[string]string{"X-Token-Copy": "{header.X-Token}"}},
			check: func(h http.Header) string { return wantEq(fmt.Sprint(len(h.Values("X-Token-Copy"))), "0") },
		},
		{
			name:   "control characters from the query are neutralised",
			rules:  middleware.HeaderRules{Set: map[string]string{"X-Q": "{query.q}"}},
			target: "/orders/1?q=a%0D%0AEvil:%20yes",
			check:  func(h http.Header) string { return wantEq(h.Get("X-Q")+"|"+h.Get("Evil"), "a  Evil: yes|") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := echoHeaders(t)
			gw := routedFront(t, o, "/orders/{id}", middleware.Transform(middleware.TransformConfig{Request: tt.rules, Vars: vars}))
			target := tt.target
			if target == "" {
				target = "/orders/1"
			}
			got := fetch(t, http.MethodGet, gw.URL+target, tt.send, nil)
			var h http.Header
			if err := json.Unmarshal([]byte(got.body), &h); err != nil {
				t.Fatalf("upstream echo %q: %v", got.body, err)
			}
			if msg := tt.check(h); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func wantEq(got, expected string) string {
	if got != expected {
		return fmt.Sprintf("got %q, want %q", got, expected)
	}
	return ""
}

func TestTransformResponseHeaders(t *testing.T) {
	t.Parallel()
	o := newCountingOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Powered-By", "php")
		w.Header().Set("X-Internal-Id", "42")
		w.Header().Set("X-Version", "1")
		fmt.Fprint(w, "ok")
	})
	gw := routedFront(t, o, "/items/{id}", middleware.Transform(middleware.TransformConfig{Response: middleware.HeaderRules{
		Remove: []string{"X-Powered-By"},
		Rename: map[string]string{"X-Internal-Id": "X-Id"},
		Set:    map[string]string{"X-Item": "item-{path.id}"},
		Add:    map[string]string{"X-Version": "gw"},
	}}))
	got := fetch(t, http.MethodGet, gw.URL+"/items/9", nil, nil)
	checks := []struct{ field, want string }{
		{"X-Powered-By", ""}, {"X-Internal-Id", ""}, {"X-Id", "42"}, {"X-Item", "item-9"},
	}
	for _, c := range checks {
		if g := got.header.Get(c.field); g != c.want {
			t.Errorf("%s = %q, want %q", c.field, g, c.want)
		}
	}
	if v := strings.Join(got.header.Values("X-Version"), ","); v != "1,gw" {
		t.Errorf("X-Version = %q, want both values", v)
	}
	if got.body != "ok" {
		t.Errorf("body = %q", got.body)
	}
}

func TestTransformJSONBodies(t *testing.T) {
	t.Parallel()
	rules := middleware.JSONRules{
		Remove: []string{"internal", "user.password", "items[].cost", "missing.field"},
		Rename: map[string]string{"user.mail": "email"},
		Add:    map[string]any{"api_version": 2, "meta.source": "portico"},
	}
	tests := []struct {
		name        string
		contentType string
		encoding    string
		body        string
		want        string
	}{
		{
			name:        "fields are removed, renamed and added",
			contentType: "application/json; charset=utf-8",
			body:        `{"id":12345678901234567890,"internal":true,"user":{"password":"x","mail":"a@b.c"},"items":[{"cost":1,"sku":"A"},{"sku":"B"}]}`,
			want:        `{"api_version":2,"id":12345678901234567890,"items":[{"sku":"A"},{"sku":"B"}],"meta":{"source":"portico"},"user":{"email":"a@b.c"}}`,
		},
		{
			name:        "a +json media type is transformed too",
			contentType: "application/problem+json",
			body:        `{"internal":1}`,
			want:        `{"api_version":2,"meta":{"source":"portico"}}`,
		},
		{
			name:        "a non-JSON body passes untouched",
			contentType: "text/plain",
			body:        `{"internal":true}`,
			want:        `{"internal":true}`,
		},
		{
			name:        "invalid JSON passes untouched",
			contentType: "application/json",
			body:        `{"internal":`,
			want:        `{"internal":`,
		},
		{
			name:        "a content-encoded body passes untouched",
			contentType: "application/json",
			encoding:    "br",
			body:        `{"internal":true}`,
			want:        `{"internal":true}`,
		},
		{
			name:        "a body over the limit passes untouched",
			contentType: "application/json",
			body:        `{"internal":true,"pad":"` + strings.Repeat("x", 300) + `"}`,
			want:        `{"internal":true,"pad":"` + strings.Repeat("x", 300) + `"}`,
		},
		{
			name:        "HTML characters are not escaped on re-encoding",
			contentType: "application/json",
			body:        `{"html":"<b>&</b>"}`,
			want:        `{"api_version":2,"html":"<b>&</b>","meta":{"source":"portico"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := newCountingOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				if tt.encoding != "" {
					w.Header().Set("Content-Encoding", tt.encoding)
				}
				fmt.Fprint(w, tt.body)
			})
			gw := frontFor(t, o, middleware.Transform(middleware.TransformConfig{ResponseBody: rules, MaxBody: 256}))
			got := fetch(t, http.MethodGet, gw.URL+"/", nil, nil)
			if got.body != tt.want {
				t.Errorf("body\n got %s\nwant %s", got.body, tt.want)
			}
			if cl := got.header.Get("Content-Length"); cl != "" && cl != fmt.Sprint(len(got.body)) {
				t.Errorf("Content-Length %s for a body of %d bytes", cl, len(got.body))
			}
		})
	}
}

func TestTransformRootArraysAndRequestBodies(t *testing.T) {
	t.Parallel()
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.ContentLength != int64(len(body)) {
			t.Errorf("upstream ContentLength %d for %d bytes", r.ContentLength, len(body))
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `[{"got":%s,"secret":1},{"secret":2}]`, body)
	})
	gw := frontFor(t, o, middleware.Transform(middleware.TransformConfig{
		RequestBody:  middleware.JSONRules{Remove: []string{"role"}, Add: map[string]any{"via": "gw"}},
		ResponseBody: middleware.JSONRules{Remove: []string{"[].secret"}},
	}))
	got := fetch(t, http.MethodPost, gw.URL+"/", map[string]string{"Content-Type": "application/json"}, strings.NewReader(`{"name":"n","role":"admin"}`))
	if w := `[{"got":{"name":"n","via":"gw"}},{}]`; got.body != w {
		t.Errorf("body = %s, want %s", got.body, w)
	}
}

func TestTransformStreamsFlushedResponses(t *testing.T) {
	t.Parallel()
	finish := make(chan struct{})
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, "{\"a\":1}\n")
		http.NewResponseController(w).Flush()
		select {
		case <-finish:
		case <-r.Context().Done():
		}
	})
	gw := frontFor(t, o, middleware.Transform(middleware.TransformConfig{
		ResponseBody: middleware.JSONRules{Remove: []string{"a"}},
		Response:     middleware.HeaderRules{Set: map[string]string{"X-Gw": "1"}},
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, gw.URL, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	if err != nil {
		t.Errorf("first line: %v: a flushed response must stream untouched", err)
	} else if want := "{\"a\":1}\n"; line != want {
		t.Errorf("first line = %q, want %q untouched", line, want)
	}
	if res.Header.Get("X-Gw") != "1" {
		t.Errorf("header rules were not applied to the stream")
	}
	close(finish)
}

func TestTransformRejectsInvalidRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  middleware.TransformConfig
		want string
	}{
		{name: "an unknown template variable", cfg: middleware.TransformConfig{Request: middleware.HeaderRules{Set: map[string]string{"X": "{nope}"}}}, want: `Request.Set["X"]`},
		{name: "an unclosed brace", cfg: middleware.TransformConfig{Response: middleware.HeaderRules{Add: map[string]string{"X": "{path.id"}}}, want: "unclosed"},
		{name: "a lone closing brace", cfg: middleware.TransformConfig{Response: middleware.HeaderRules{Set: map[string]string{"X": "a}"}}}, want: "unmatched"},
		{name: "a bad header name", cfg: middleware.TransformConfig{Request: middleware.HeaderRules{Remove: []string{"Bad Name"}}}, want: "Request.Remove"},
		{name: "an empty JSON path segment", cfg: middleware.TransformConfig{ResponseBody: middleware.JSONRules{Remove: []string{"a..b"}}}, want: "ResponseBody.Remove"},
		{name: "a rename to a dotted name", cfg: middleware.TransformConfig{ResponseBody: middleware.JSONRules{Rename: map[string]string{"a": "b.c"}}}, want: "plain field name"},
		{name: "a value that cannot be encoded", cfg: middleware.TransformConfig{RequestBody: middleware.JSONRules{Add: map[string]any{"f": func() {}}}}, want: "RequestBody.Add"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				wantPanic(t, recover(), "portico/middleware: Transform", tt.want)
			}()
			middleware.Transform(tt.cfg)
		})
	}
}

func FuzzTransformTemplate(f *testing.F) {
	for _, s := range []string{"{path.id}", "a{{b}}c", "{header.X}{query.q}", "{", "}", "{}", "{path.}", "{{{method}}}"} {
		f.Add(s, "v\r\n")
	}
	f.Fuzz(func(t *testing.T, tmpl, query string) {
		var mw func(http.Handler) http.Handler
		func() {
			defer func() { _ = recover() }()
			mw = middleware.Transform(middleware.TransformConfig{Request: middleware.HeaderRules{Set: map[string]string{"X-T": tmpl}}})
		}()
		if mw == nil {
			return
		}
		var got []string
		h := mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.Header.Values("X-T") }))
		req := httptest.NewRequest(http.MethodGet, "/?q="+url.QueryEscape(query), nil)
		h.ServeHTTP(httptest.NewRecorder(), req)
		for _, v := range got {
			if strings.ContainsAny(v, "\r\n\x00") {
				t.Fatalf("template %q rendered a control character: %q", tmpl, v)
			}
		}
	})
}

func FuzzTransformJSONBody(f *testing.F) {
	for _, s := range []string{`{"a":{"b":1},"c":[{"d":2}]}`, `[1,{"a":null}]`, `null`, `{"a":"b"} {}`, `"x"`, `{"c":{"d":1}}`} {
		f.Add(s)
	}
	mw := middleware.Transform(middleware.TransformConfig{ResponseBody: middleware.JSONRules{
		Remove: []string{"a.b", "c[].d", "[].a"},
		Rename: map[string]string{"c": "e"},
		Add:    map[string]any{"a.z": 1, "x.y.z": "w"},
	}})
	f.Fuzz(func(t *testing.T, body string) {
		h := mw(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, body)
		}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		out := w.Body.String()
		if json.Valid([]byte(body)) != json.Valid([]byte(out)) {
			t.Fatalf("body %q became %q", body, out)
		}
		if !json.Valid([]byte(body)) && out != body {
			t.Fatalf("invalid JSON %q was changed to %q", body, out)
		}
	})
}
