package openapi

import (
	"errors"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/portico-dev/portico/internal/problem"
)

// Validator checks requests, and optionally responses, against a [Spec].
// It is safe for concurrent use.
type Validator struct {
	spec      *Spec
	cfg       config
	rejected  metric.Int64Counter
	violation metric.Int64Counter
}

// NewValidator returns a validator for spec. It panics if spec is nil.
func NewValidator(spec *Spec, opts ...Option) *Validator {
	if spec == nil {
		panic("portico/openapi: NewValidator needs a spec")
	}
	v := &Validator{spec: spec, cfg: newConfig(opts)}
	meter := v.cfg.meter.Meter("github.com/portico-dev/portico/openapi")
	// Instrument creation only fails on an invalid name; ours are constant.
	v.rejected, _ = meter.Int64Counter("portico.openapi.request.rejections",
		metric.WithDescription("Requests refused because they break the API contract."),
		metric.WithUnit("{request}"))
	v.violation, _ = meter.Int64Counter("portico.openapi.response.violations",
		metric.WithDescription("Responses that break the API contract."),
		metric.WithUnit("{response}"))
	return v
}

// Spec returns the validator's spec.
func (v *Validator) Spec() *Spec { return v.spec }

// Middleware validates every request against the operation it matches and
// answers a request that breaks the contract with a problem document
// (400, 401, 403, 413 or 415) without calling next. Requests that match no
// operation get 404 or 405 unless [WithPassThrough] was given. Its
// signature lets it be used as a func(http.Handler) http.Handler.
func (v *Validator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf [8]string
		op, vals, err := v.spec.find(r.Method, r.URL.EscapedPath(), buf[:0])
		if err != nil {
			if v.cfg.passThrough {
				next.ServeHTTP(w, r)
				return
			}
			if me, ok := errors.AsType[*MethodError](err); ok {
				w.Header().Set("Allow", strings.Join(me.Allow, ", "))
				v.reject(w, r, nil, &ValidationError{Status: http.StatusMethodNotAllowed, Detail: "method " + r.Method + " is not allowed on this path"})
				return
			}
			v.reject(w, r, nil, &ValidationError{Status: http.StatusNotFound, Detail: "no operation of the API matches the path"})
			return
		}
		v.serve(w, r, next, op, vals)
	})
}

// For returns a middleware that validates requests as op, for routers that
// already matched the operation (one route per operation). The path
// parameters are read from the end of the request path, so the route may be
// mounted under any prefix. op must belong to the validator's spec.
func (v *Validator) For(op *Operation) func(http.Handler) http.Handler {
	if op == nil || op.spec != v.spec {
		panic("portico/openapi: For needs an operation of the validator's spec")
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var buf [8]string
			vals, ok := op.tmpl.matchSuffix(r.URL.EscapedPath(), buf[:0])
			if !ok {
				vals = nil // a path that does not fit: its parameters are missing
			}
			v.serve(w, r, next, op, vals)
		})
	}
}

func (v *Validator) serve(w http.ResponseWriter, r *http.Request, next http.Handler, op *Operation, vals []string) {
	if err := v.validate(r, op, vals); err != nil {
		ve, ok := errors.AsType[*ValidationError](err)
		if !ok {
			ve = &ValidationError{Status: http.StatusBadRequest, Detail: err.Error()}
		}
		if ve.Status == http.StatusUnauthorized {
			for _, c := range op.challenges {
				w.Header().Add("WWW-Authenticate", c)
			}
		}
		v.reject(w, r, op, ve)
		return
	}
	if v.cfg.responses == ResponsesOff || r.Header.Get("Upgrade") != "" {
		next.ServeHTTP(w, r)
		return
	}
	rw := newRecorder(w, r, v, op)
	next.ServeHTTP(rw, r)
	// Not deferred: after a panic, the recovery middleware outside answers.
	rw.finish()
}

func (v *Validator) reject(w http.ResponseWriter, r *http.Request, op *Operation, ve *ValidationError) {
	attrs := []attribute.KeyValue{attribute.Int("http.response.status_code", ve.Status)}
	if op != nil {
		attrs = append(attrs, attribute.String("http.route", op.Path), attribute.String("http.request.method", op.Method))
	}
	v.rejected.Add(r.Context(), 1, metric.WithAttributes(attrs...))
	p := problem.New(ve.Status, ve.Detail)
	if len(ve.Violations) > 0 {
		p.With("errors", ve.Violations)
	}
	problem.Write(w, r, p)
}

// ValidateRequest validates r against the operation it matches and returns
// that operation. A request body is read (up to the body limit) and put
// back, with GetBody set, so it can be read again and resent. The error is a
// [*ValidationError] when the request breaks the contract.
func (v *Validator) ValidateRequest(r *http.Request) (*Operation, error) {
	var buf [8]string
	op, vals, err := v.spec.find(r.Method, r.URL.EscapedPath(), buf[:0])
	if err != nil {
		if me, ok := errors.AsType[*MethodError](err); ok {
			return nil, &ValidationError{Status: http.StatusMethodNotAllowed, Detail: "method " + r.Method + " is not allowed; allowed: " + strings.Join(me.Allow, ", ")}
		}
		return nil, &ValidationError{Status: http.StatusNotFound, Detail: "no operation of the API matches the path"}
	}
	return op, v.validate(r, op, vals)
}

func (v *Validator) validate(r *http.Request, op *Operation, vals []string) error {
	if err := v.checkSecurity(r, op); err != nil {
		return err
	}
	var out []Violation
	src := source{r: r, names: op.tmpl.names, vals: vals}
	for _, p := range op.params {
		if p.empty(&src) {
			if !p.allowEmpt {
				out = append(out, Violation{In: p.in, Name: p.name, Message: "must not be empty: the parameter does not allow an empty value", Keyword: "allowEmptyValue"})
			}
			continue
		}
		val, ok, err := p.decode(&src)
		switch {
		case err != nil:
			out = append(out, Violation{In: p.in, Name: p.name, Message: err.Error(), Keyword: "style"})
		case !ok:
			if p.required {
				out = append(out, Violation{In: p.in, Name: p.name, Message: "is required", Keyword: "required"})
			}
		case p.compiled != nil:
			out = append(out, p.compiled.violations(val, p.in, p.name)...)
		}
	}
	if op.body != nil {
		bv, err := v.checkBody(r, op.body)
		if err != nil {
			return err
		}
		out = append(out, bv...)
	}
	if len(out) > 0 {
		return &ValidationError{Status: http.StatusBadRequest, Detail: "the request does not match the API contract", Violations: out}
	}
	return nil
}
