package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/internal/fields"
	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/openapi"
)

// API builds one route per operation of an OpenAPI document: the
// operation's method on Prefix followed by its path template. Each route
// starts from Policy, and the operation's x-portico-* extensions (set on
// the operation, or inherited from its path item or the document) replace
// the matching fields. The extensions hold the same types as the config
// file, in JSON:
//
//	x-portico-policy       a whole gateway.Policy
//	x-portico-timeout      Policy.Timeout, such as "2s"
//	x-portico-retry        gateway.Retry
//	x-portico-hedge        gateway.Hedge, such as {"delay": "p95"}
//	x-portico-breaker      gateway.Breaker
//	x-portico-bulkhead     gateway.Bulkhead
//	x-portico-auth         gateway.Auth
//	x-portico-scopes       Auth.Scopes, such as ["pets:write"]
//	x-portico-ratelimit    gateway.RateLimit
//	x-portico-quota        gateway.Quota
//	x-portico-cache        gateway.Cache
//	x-portico-idempotency  gateway.Idempotency
//	x-portico-transform    gateway.Transform
//	x-portico-lifecycle    gateway.Lifecycle
//
// The documentation is served by gateway.Admin at /apis/<Name>/, and a catalog
// of every API at /apis/.
type API struct {
	// Name names the API in route names and the docs URL. Required and
	// unique; letters, digits, '-', '_' and '.'.
	Name string `yaml:"name"`
	// Spec is the document. Required. In a config file, spec names the
	// file, relative to the config file's directory.
	Spec *openapi.Spec `yaml:"-"`
	// Upstream names the pool every operation is sent to. Required.
	Upstream string `yaml:"upstream"`
	// Prefix is where the API is served: "/pets" serves the operation
	// "/pets/{id}"... as "/pets/pets/{id}". It is stripped from the path
	// sent upstream, unless KeepPrefix is set. If empty, the operations
	// are served at their own paths.
	Prefix string `yaml:"prefix"`
	// KeepPrefix sends the path with the prefix to the upstream.
	KeepPrefix bool `yaml:"keep_prefix"`
	// Validate is "off" (the default), "requests" (an invalid request is
	// answered 400 before the upstream sees it), "report" (requests, and
	// responses that break the contract are logged) or "enforce"
	// (requests, and a response that breaks the contract becomes a 502).
	Validate string `yaml:"validate"`
	// Policy is the starting point of every operation's policy.
	Policy gateway.Policy `yaml:"policy"`
}

// WithAPI adds APIs built from OpenAPI documents; see [API].
func WithAPI(apis ...API) gateway.Option {
	return gateway.WithPart(&apiPart{apis: apis})
}

// extensions maps each x-portico-* extension to the Policy field it
// fills, by config key; "" is the whole policy.
var extensions = map[string]string{
	"x-portico-policy": "", "x-portico-timeout": "timeout", "x-portico-retry": "retry",
	"x-portico-hedge":   "hedge",
	"x-portico-breaker": "breaker", "x-portico-bulkhead": "bulkhead", "x-portico-auth": "auth",
	"x-portico-scopes": "auth.scopes", "x-portico-ratelimit": "rate_limit", "x-portico-quota": "quota",
	"x-portico-cache": "cache", "x-portico-idempotency": "idempotency",
	"x-portico-transform": "transform", "x-portico-lifecycle": "lifecycle",
}

// OperationPolicy returns the policy of op: base with op's x-portico-*
// extensions applied. Errors name the operation and the extension.
func OperationPolicy(base gateway.Policy, op *openapi.Operation) (gateway.Policy, error) {
	p := clonePolicy(base)
	at := "operations." + opName(op)
	d := &decoder{env: func(string) (string, bool) { return "", false }, lines: map[string]int{}}
	for _, name := range fields.SortedKeys(op.Extensions) {
		field, ok := extensions[name]
		if !ok {
			if strings.HasPrefix(name, "x-portico-") && !isForeign(name) {
				d.errs = append(d.errs, fieldErr(at+"."+name, "unknown extension (known: %s)", fields.Known(extensions)))
			}
			continue
		}
		var n yaml.Node
		if err := yaml.NewDecoder(bytes.NewReader(op.Extensions[name])).Decode(&n); err != nil {
			d.errs = append(d.errs, fieldErr(at+"."+name, "is not valid JSON"))
			continue
		}
		v := reflect.ValueOf(&p).Elem()
		for key := range strings.SplitSeq(field, ".") {
			if key == "" {
				break
			}
			v = fieldByKey(v, key)
		}
		d.decode(&n, v, at+"."+name)
	}
	if len(d.errs) > 0 {
		for _, e := range d.errs {
			var fe *gateway.FieldError
			if errors.As(e, &fe) {
				fe.Line = 0 // a JSON value's lines are not the document's
			}
		}
		return gateway.Policy{}, joinErrs(d.errs)
	}
	return p, nil
}

// isForeign reports extensions that other parts of Portico read.
func isForeign(name string) bool {
	return slices.ContainsFunc([]string{"x-portico-ai", "x-portico-platform", "x-portico-visibility", "x-portico-plan"},
		func(p string) bool { return strings.HasPrefix(name, p) })
}

// fieldByKey returns the struct field with config key key, allocating a
// nil pointer on the way.
func fieldByKey(v reflect.Value, key string) reflect.Value {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	for i := range v.NumField() {
		if fieldName(v.Type().Field(i)) == key {
			return v.Field(i)
		}
	}
	panic("portico/gateway: no policy field " + key)
}

// clonePolicy copies p deeply enough that decoding into the copy never
// changes p.
func clonePolicy(p gateway.Policy) gateway.Policy {
	c := p
	c.Middleware = slices.Clone(p.Middleware)
	if p.Retry != nil {
		r := *p.Retry
		c.Retry = &r
	}
	if p.Hedge != nil {
		h := *p.Hedge
		c.Hedge = &h
	}
	if p.Breaker != nil {
		b := *p.Breaker
		c.Breaker = &b
	}
	if p.Bulkhead != nil {
		b := *p.Bulkhead
		c.Bulkhead = &b
	}
	if p.Auth != nil {
		a := *p.Auth
		c.Auth = &a
	}
	if p.RateLimit != nil {
		r := *p.RateLimit
		c.RateLimit = &r
	}
	if p.Quota != nil {
		q := *p.Quota
		c.Quota = &q
	}
	if p.Cache != nil {
		x := *p.Cache
		c.Cache = &x
	}
	if p.Idempotency != nil {
		x := *p.Idempotency
		c.Idempotency = &x
	}
	if p.Transform != nil {
		x := *p.Transform
		c.Transform = &x
	}
	if p.Lifecycle != nil {
		x := *p.Lifecycle
		c.Lifecycle = &x
	}
	return c
}

func opName(op *openapi.Operation) string {
	if op.ID != "" {
		return op.ID
	}
	return op.Method + " " + op.Path
}

var validateModes = map[string]openapi.ResponseMode{
	"requests": openapi.ResponsesOff, "report": openapi.ResponsesReport, "enforce": openapi.ResponsesEnforce,
}

// apiPart builds the routes of APIs and publishes their documents.
type apiPart struct{ apis []API }

func (p *apiPart) Prepare(*gateway.Builder) error { return nil }

// Mount compiles the routes of every API and publishes their docs.
func (p *apiPart) Mount(b *gateway.Builder) error {
	errs := newErrors()
	seen := map[string]bool{}
	for i, a := range p.apis {
		at := fields.Index("apis", i)
		api := errs.At(at)
		switch {
		case a.Name == "" || strings.ContainsFunc(a.Name, func(r rune) bool {
			return r != '-' && r != '_' && r != '.' && (r < '0' || r > '9') && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z')
		}):
			api.Addf("name", "%q is not a name; use letters, digits, '-', '_' and '.'", a.Name)
			continue
		case seen[a.Name]:
			api.Addf("name", "%q is defined twice; API names must be unique", a.Name)
			continue
		case a.Spec == nil:
			api.Addf("spec", "is required")
			continue
		}
		seen[a.Name] = true
		if a.Prefix != "" && (!strings.HasPrefix(a.Prefix, "/") || strings.HasSuffix(a.Prefix, "/") || strings.ContainsAny(a.Prefix, "{}*")) {
			api.Addf("prefix", "%q must start with '/', not end with one and hold no {param} or '*', like \"/pets\"", a.Prefix)
			continue
		}
		var v *openapi.Validator
		if mode, ok := validateModes[a.Validate]; ok {
			v = openapi.NewValidator(a.Spec, openapi.WithResponses(mode), openapi.WithLogger(b.Logger()))
		} else if a.Validate != "" && a.Validate != "off" {
			api.Addf("validate", "%q is not a mode; use \"off\", \"requests\", \"report\" or \"enforce\"", a.Validate)
			continue
		}
		policies := map[string]gateway.Policy{}
		for _, op := range a.Spec.Operations() {
			pol, err := OperationPolicy(a.Policy, op)
			if err != nil {
				errs.Add(prefixErr(at, err))
				continue
			}
			policies[op.Method+" "+op.Path] = pol
			r := gateway.Route{Name: a.Name + " " + opName(op), Methods: []string{op.Method}, Path: a.Prefix + op.Path,
				Upstream: a.Upstream, Policy: pol}
			if a.Prefix != "" && !a.KeepPrefix {
				r.StripPrefix = a.Prefix
			}
			var validate func(http.Handler) http.Handler
			if v != nil {
				validate = v.For(op)
			}
			if err := b.Route(at+".operations."+opName(op), r, validate); err != nil {
				errs.Add(err)
			}
		}
		// The docs describe the API as the gateway serves it.
		view, err := gatewayView(b, a.Spec, a.Prefix, policies)
		if err != nil {
			api.Addf("spec", "cannot describe the API as the gateway serves it: %v", err)
			continue
		}
		if err := publish(b, a.Name, view); err != nil {
			api.Addf("spec", "%v", err)
		}
		if sub := a.Policy.Subscription; sub != "" {
			documentAPI(b, sub, view) // the platform's catalog and portal show it
		}
	}
	return errs.Err()
}

// prefixErr puts at in front of the paths of field errors.
func prefixErr(at string, err error) error {
	var out []error
	for _, e := range unwrapAll(err) {
		var fe *gateway.FieldError
		if errors.As(e, &fe) {
			cp := *fe
			cp.Path = at + "." + cp.Path
			out = append(out, &cp)
			continue
		}
		out = append(out, e)
	}
	return joinErrs(out)
}

// catalog serves /apis/ and /apis/<name>/ on the admin listener: the
// documents of one build's APIs and prompt APIs.
type catalog struct{ apis []*published }

// published is an API document with its documentation handler.
type published struct {
	name string
	spec *openapi.Spec
	docs http.Handler
}

// publish adds spec to the build's catalog under name, mounting the
// catalog on the admin listener for the build's first document.
func publish(b *gateway.Builder, name string, spec *openapi.Spec) error {
	cat, _ := b.AdminHandler("/apis/").(*catalog)
	if cat == nil {
		cat = &catalog{}
		if err := b.Admin("/apis/", cat); err != nil {
			return err
		}
	}
	for _, a := range cat.apis {
		if a.name == name {
			if name == PromptAPI {
				return fmt.Errorf("an API is already named %q, the name of the prompt APIs' document", PromptAPI)
			}
			return fmt.Errorf("the API name %q is published twice", name)
		}
	}
	docs, err := openapi.NewDocs(spec)
	if err != nil {
		return fmt.Errorf("cannot render the documentation: %w", err)
	}
	cat.apis = append(cat.apis, &published{name: name, spec: spec, docs: http.StripPrefix("/apis/"+name, docs)})
	return nil
}

func (c *catalog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/apis/")
	if rest == "" {
		entries := make([]openapi.API, 0, len(c.apis))
		for _, a := range c.apis {
			entries = append(entries, openapi.API{Spec: a.spec, Docs: "/apis/" + a.name + "/"})
		}
		openapi.Catalog("APIs", entries...).ServeHTTP(w, r)
		return
	}
	name, _, _ := strings.Cut(rest, "/")
	for _, a := range c.apis {
		if a.name == name {
			if rest == name {
				http.Redirect(w, r, "/apis/"+name+"/", http.StatusMovedPermanently)
				return
			}
			a.docs.ServeHTTP(w, r)
			return
		}
	}
	problem.Error(w, r, http.StatusNotFound, "no API named "+name+"; the catalog is at /apis/")
}
