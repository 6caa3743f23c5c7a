package middleware

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// HeaderRules change header fields. They run in the order Remove, Rename,
// Set, Add. Set and Add values are templates (see [Transform]); a value
// that renders empty is not written.
//
// The yaml tags are the keys of a gateway config file's transform
// section.
type HeaderRules struct {
	// Remove deletes these fields.
	Remove []string `yaml:"remove"`
	// Rename moves the values of each field (the key) to a new name (the
	// value), replacing what the new name held.
	Rename map[string]string `yaml:"rename"`
	// Set replaces each field with the rendered template.
	Set map[string]string `yaml:"set"`
	// Add appends the rendered template to each field.
	Add map[string]string `yaml:"add"`
}

// TransformConfig configures [Transform]. The zero value changes nothing.
type TransformConfig struct {
	// Request changes the header of the request before the next handler
	// sees it.
	Request HeaderRules
	// Response changes the header of the response before the client sees
	// it.
	Response HeaderRules
	// RequestBody reshapes JSON request bodies.
	RequestBody JSONRules
	// ResponseBody reshapes JSON response bodies.
	ResponseBody JSONRules
	// MaxBody is the largest body buffered for a JSON rule, in bytes;
	// larger bodies pass through unchanged and unbuffered. If zero, 1 MiB.
	MaxBody int64
	// Vars resolves template variables beyond the built-in ones, and the
	// {consumer.*} variables of requests without a [Consumer]. It returns
	// false for a name it does not know. If nil, only the built-in
	// variables are accepted.
	Vars func(r *http.Request, name string) (string, bool)
}

type headerOp struct {
	kind byte // 'd' delete, 'r' rename, 's' set, 'a' add
	name string
	to   string
	tmpl headerTemplate
	// fixed is the value slice of a Set with a constant template, shared
	// by all requests (len == cap, so appending to it copies).
	fixed []string
}

type transform struct {
	req, res         []headerOp
	reqBody, resBody jsonProgram
	maxBody          int64
	vars             func(*http.Request, string) (string, bool)
}

// Transform returns a middleware that rewrites requests and responses
// without touching the services behind it: header fields are removed,
// renamed, set or added, with values rendered from templates, and JSON
// bodies lose, rename or gain fields.
//
// Templates are literal text with variables in braces: {method}, {host},
// {path}, {path.NAME} (a path parameter of [http.ServeMux] or chi),
// {query.NAME}, {header.NAME}, {request_id}, {consumer.id},
// {consumer.tenant}, {consumer.plan} (of the [Consumer] set by
// authentication), and names known to
// [TransformConfig].Vars; "{{" and "}}" are literal braces.
//
// Body rules apply only to application/json (and +json) bodies that are not
// content-encoded and fit in MaxBody; any other body, and any response the
// handler flushes (a stream), passes through untouched. A body that is not
// valid JSON is sent as it came.
//
// Transform panics on an invalid rule (a bad template or path), naming the
// field to fix.
func Transform(cfg TransformConfig) func(http.Handler) http.Handler {
	t, err := newTransform(cfg)
	if err != nil {
		panic("portico/middleware: Transform: " + err.Error())
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.serve(w, r, next)
		})
	}
}

func newTransform(cfg TransformConfig) (*transform, error) {
	if cfg.MaxBody < 0 {
		return nil, fmt.Errorf("MaxBody must not be negative")
	}
	t := &transform{maxBody: cfg.MaxBody, vars: cfg.Vars}
	if t.maxBody == 0 {
		t.maxBody = 1 << 20
	}
	// With a resolver, unknown names are its business at run time.
	known := func(string) bool { return cfg.Vars != nil }
	var err error
	if t.req, err = compileHeaderRules("Request", cfg.Request, known); err != nil {
		return nil, err
	}
	if t.res, err = compileHeaderRules("Response", cfg.Response, known); err != nil {
		return nil, err
	}
	if t.reqBody, err = compileJSONRules("RequestBody", cfg.RequestBody); err != nil {
		return nil, err
	}
	if t.resBody, err = compileJSONRules("ResponseBody", cfg.ResponseBody); err != nil {
		return nil, err
	}
	return t, nil
}

func compileHeaderRules(field string, h HeaderRules, known func(string) bool) ([]headerOp, error) {
	var ops []headerOp
	check := func(sub, name string) error {
		if !validFieldName(name) {
			return fmt.Errorf("%s.%s: %q is not a valid header field name", field, sub, name)
		}
		return nil
	}
	for _, name := range h.Remove {
		if err := check("Remove", name); err != nil {
			return nil, err
		}
		ops = append(ops, headerOp{kind: 'd', name: http.CanonicalHeaderKey(name)})
	}
	for _, name := range ruleKeys(h.Rename) {
		if err := check("Rename", name); err != nil {
			return nil, err
		}
		if err := check("Rename", h.Rename[name]); err != nil {
			return nil, err
		}
		ops = append(ops, headerOp{kind: 'r', name: http.CanonicalHeaderKey(name), to: http.CanonicalHeaderKey(h.Rename[name])})
	}
	for _, set := range []struct {
		sub  string
		kind byte
		m    map[string]string
	}{{"Set", 's', h.Set}, {"Add", 'a', h.Add}} {
		for _, name := range ruleKeys(set.m) {
			if err := check(set.sub, name); err != nil {
				return nil, err
			}
			tmpl, err := parseHeaderTemplate(set.m[name], known)
			if err != nil {
				return nil, fmt.Errorf("%s.%s[%q]: %w", field, set.sub, name, err)
			}
			op := headerOp{kind: set.kind, name: http.CanonicalHeaderKey(name), tmpl: tmpl}
			if v, ok := tmpl.constant(); ok && v != "" && set.kind == 's' {
				op.fixed = []string{v}
			}
			ops = append(ops, op)
		}
	}
	return ops, nil
}

func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func ruleKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// applyHeaders runs ops on h, rendering templates from r.
func (t *transform) applyHeaders(ops []headerOp, h http.Header, r *http.Request) {
	for i := range ops {
		op := &ops[i]
		switch op.kind {
		case 'd':
			delete(h, op.name)
		case 'r':
			if v, ok := h[op.name]; ok {
				delete(h, op.name)
				h[op.to] = v
			}
		case 's', 'a':
			if op.fixed != nil {
				h[op.name] = op.fixed
				continue
			}
			v := op.tmpl.render(r, t.vars)
			if v == "" {
				continue
			}
			if op.kind == 's' {
				h[op.name] = []string{v}
			} else {
				h[op.name] = append(h[op.name], v)
			}
		}
	}
}

func (t *transform) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if len(t.req) > 0 || len(t.reqBody) > 0 {
		r2 := new(http.Request)
		*r2 = *r
		r2.Header = r.Header.Clone()
		if r2.Header == nil {
			r2.Header = http.Header{}
		}
		t.applyHeaders(t.req, r2.Header, r)
		if len(t.reqBody) > 0 {
			t.rewriteRequestBody(r2)
		}
		r = r2
	}
	if len(t.res) == 0 && len(t.resBody) == 0 {
		next.ServeHTTP(w, r)
		return
	}
	tw := &transformWriter{rw: w, t: t, r: r, header: make(http.Header)}
	next.ServeHTTP(tw, r)
	tw.finish()
}

// rewriteRequestBody applies the request body rules when the body is JSON
// and small enough; otherwise the body is left as it is.
func (t *transform) rewriteRequestBody(r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody || !isJSON(r.Header.Get("Content-Type")) ||
		r.Header.Get("Content-Encoding") != "" || r.ContentLength > t.maxBody {
		return
	}
	orig := r.Body
	buf, err := io.ReadAll(io.LimitReader(orig, t.maxBody+1))
	if err != nil || int64(len(buf)) > t.maxBody {
		// Too large (or unreadable): hand on what was read and the rest.
		r.Body = readCloser{io.MultiReader(bytes.NewReader(buf), orig), orig}
		return
	}
	orig.Close()
	out, ok := t.reqBody.apply(buf)
	if !ok {
		out = buf
	}
	r.Body = io.NopCloser(bytes.NewReader(out))
	r.ContentLength = int64(len(out))
	r.Header.Set("Content-Length", strconv.Itoa(len(out)))
}

type readCloser struct {
	io.Reader
	io.Closer
}

// transformWriter applies the response rules: header rules at WriteHeader,
// body rules by buffering a JSON body up to maxBody.
type transformWriter struct {
	rw     http.ResponseWriter
	t      *transform
	r      *http.Request
	header http.Header
	status int
	wrote  bool // the status is known
	sent   bool // the header went to the client
	buffer bool // holding the body for the JSON rules
	hijack bool
	body   bytes.Buffer
}

func (tw *transformWriter) Header() http.Header {
	if tw.sent {
		return tw.rw.Header()
	}
	return tw.header
}

func (tw *transformWriter) WriteHeader(code int) {
	if tw.wrote {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		dst := tw.rw.Header()
		for k, v := range tw.header {
			dst[k] = v
		}
		tw.rw.WriteHeader(code)
		return
	}
	tw.wrote, tw.status = true, code
	tw.t.applyHeaders(tw.t.res, tw.header, tw.r)
	if len(tw.t.resBody) > 0 && tw.bufferable() {
		tw.buffer = true
		return
	}
	tw.send()
}

func (tw *transformWriter) bufferable() bool {
	h := tw.header
	if tw.r.Method == http.MethodHead || tw.status == http.StatusNoContent || tw.status == http.StatusNotModified ||
		!isJSON(h.Get("Content-Type")) || h.Get("Content-Encoding") != "" {
		return false
	}
	if n := h.Get("Content-Length"); n != "" {
		size, err := strconv.ParseInt(n, 10, 64)
		if err != nil || size > tw.t.maxBody {
			return false
		}
	}
	return true
}

// send writes the header to the client.
func (tw *transformWriter) send() {
	dst := tw.rw.Header()
	for k, v := range tw.header {
		dst[k] = v
	}
	tw.sent = true
	tw.rw.WriteHeader(tw.status)
}

// passThrough stops buffering and sends what was held unchanged.
func (tw *transformWriter) passThrough() error {
	tw.buffer = false
	tw.send()
	_, err := tw.rw.Write(tw.body.Bytes())
	tw.body = bytes.Buffer{}
	return err
}

func (tw *transformWriter) Write(p []byte) (int, error) {
	if !tw.wrote {
		tw.WriteHeader(http.StatusOK)
	}
	if !tw.buffer {
		return tw.rw.Write(p)
	}
	if int64(tw.body.Len()+len(p)) > tw.t.maxBody {
		if err := tw.passThrough(); err != nil {
			return 0, err
		}
		return tw.rw.Write(p)
	}
	return tw.body.Write(p)
}

// FlushError sends anything held and flushes: a flushed response is a
// stream and passes through untouched.
func (tw *transformWriter) FlushError() error {
	if !tw.wrote {
		tw.WriteHeader(http.StatusOK)
	}
	if tw.buffer {
		if err := tw.passThrough(); err != nil {
			return err
		}
	}
	return http.NewResponseController(tw.rw).Flush()
}

// Flush implements http.Flusher.
func (tw *transformWriter) Flush() { _ = tw.FlushError() }

// Unwrap returns the client's writer for http.ResponseController.
func (tw *transformWriter) Unwrap() http.ResponseWriter { return tw.rw }

// Hijack implements http.Hijacker for protocol upgrades.
func (tw *transformWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	tw.hijack = true
	return http.NewResponseController(tw.rw).Hijack()
}

func (tw *transformWriter) finish() {
	if tw.hijack {
		return
	}
	if !tw.wrote {
		tw.WriteHeader(http.StatusOK)
	}
	if !tw.buffer {
		return
	}
	tw.buffer = false
	out, ok := tw.t.resBody.apply(tw.body.Bytes())
	if !ok {
		out = tw.body.Bytes()
	}
	tw.header.Set("Content-Length", strconv.Itoa(len(out)))
	tw.send()
	_, _ = tw.rw.Write(out)
}
