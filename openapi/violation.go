package openapi

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Violation is one way a request or response breaks the contract. It is
// written as an entry of the "errors" member of a 400 problem document.
type Violation struct {
	// In is where the violation is: "path", "query", "header", "cookie"
	// or "body".
	In string `json:"in"`
	// Name is the parameter name; empty for the body.
	Name string `json:"name,omitempty"`
	// Pointer is the RFC 6901 JSON pointer of the offending value inside the
	// body or inside a structured parameter; empty for the whole value.
	Pointer string `json:"pointer,omitempty"`
	// Message says what was expected.
	Message string `json:"message"`
	// Keyword is the JSON Schema keyword that failed ("pattern",
	// "required"), when one did.
	Keyword string `json:"keyword,omitempty"`
}

// String formats the violation as "in name pointer: message".
func (v Violation) String() string {
	var b strings.Builder
	b.WriteString(v.In)
	if v.Name != "" {
		b.WriteString(" " + v.Name)
	}
	if v.Pointer != "" {
		b.WriteString(" " + v.Pointer)
	}
	b.WriteString(": " + v.Message)
	return b.String()
}

// ValidationError is returned by [Validator.ValidateRequest] and
// [Validator.ValidateResponse]. Status is the HTTP status the middleware
// answers with (400, 401, 403, 404, 405, 413, 415, or 502 for a response).
type ValidationError struct {
	Status     int
	Detail     string
	Violations []Violation
}

// Error implements error.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("openapi: ")
	b.WriteString(e.Detail)
	for i, v := range e.Violations {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(v.String())
	}
	return b.String()
}

// AsValidationError returns err as a *ValidationError, or nil.
func AsValidationError(err error) *ValidationError {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve
	}
	return nil
}

// schemaViolations flattens a JSON Schema validation error into violations.
func schemaViolations(err error, in, name string, denied map[string]string) []Violation {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Violation{{In: in, Name: name, Message: err.Error()}}
	}
	var out []Violation
	collect(ve, in, name, denied, &out)
	if len(out) == 0 {
		out = append(out, Violation{In: in, Name: name, Message: "does not match the schema"})
	}
	sortViolations(out)
	return out
}

func collect(e *jsonschema.ValidationError, in, name string, denied map[string]string, out *[]Violation) {
	ptr := pointer(e.InstanceLocation)
	add := func(ptr, msg, kw string) {
		*out = append(*out, Violation{In: in, Name: name, Pointer: ptr, Message: msg, Keyword: kw})
	}
	switch k := e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.Reference, *kind.AllOf:
		for _, c := range e.Causes {
			collect(c, in, name, denied, out)
		}
	case *kind.Required:
		for _, m := range k.Missing {
			add(ptr+"/"+escape(m), "is required", "required")
		}
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			add(ptr+"/"+escape(p), "is not allowed: the schema has no such property", "additionalProperties")
		}
	case *kind.FalseSchema:
		if msg, ok := denied[e.SchemaURL]; ok {
			keyword := "readOnly"
			if strings.Contains(msg, "write-only") {
				keyword = "writeOnly"
			}
			add(ptr, msg, keyword)
			return
		}
		add(ptr, "is not allowed", "false")
	case *kind.OneOf:
		if only := onlyCandidate(e); only != nil {
			collect(only, in, name, denied, out)
			return
		}
		if len(k.Subschemas) == 0 {
			add(ptr, "must match exactly one schema in oneOf, matched none", "oneOf")
		} else {
			add(ptr, fmt.Sprintf("must match exactly one schema in oneOf, matched %d and %d", k.Subschemas[0], k.Subschemas[1]), "oneOf")
		}
	case *kind.AnyOf:
		if only := onlyCandidate(e); only != nil {
			collect(only, in, name, denied, out)
			return
		}
		add(ptr, "must match at least one schema in anyOf", "anyOf")
	default:
		if len(e.Causes) > 0 && len(k.KeywordPath()) == 0 {
			for _, c := range e.Causes {
				collect(c, in, name, denied, out)
			}
			return
		}
		msg, kw := describe(k)
		add(ptr, msg, kw)
	}
}

// describe says what a failed keyword expected, and names the keyword.
func describe(k jsonschema.ErrorKind) (string, string) {
	switch k := k.(type) {
	case *kind.Type:
		want := slices.Clone(k.Want)
		if i := slices.Index(want, "null"); i >= 0 {
			want = append(slices.Delete(want, i, i+1), "null")
		}
		return fmt.Sprintf("must be %s, got %s", strings.Join(want, " or "), k.Got), "type"
	case *kind.Pattern:
		return fmt.Sprintf("must match pattern %q", k.Want), "pattern"
	case *kind.Format:
		return fmt.Sprintf("must be a valid %s", k.Want), "format"
	case *kind.MinLength:
		return fmt.Sprintf("must be at least %d characters long", k.Want), "minLength"
	case *kind.MaxLength:
		return fmt.Sprintf("must be at most %d characters long", k.Want), "maxLength"
	case *kind.Minimum:
		return "must be >= " + rat(k.Want), "minimum"
	case *kind.Maximum:
		return "must be <= " + rat(k.Want), "maximum"
	case *kind.ExclusiveMinimum:
		return "must be > " + rat(k.Want), "exclusiveMinimum"
	case *kind.ExclusiveMaximum:
		return "must be < " + rat(k.Want), "exclusiveMaximum"
	case *kind.MinItems:
		return fmt.Sprintf("must have at least %d items", k.Want), "minItems"
	case *kind.MaxItems:
		return fmt.Sprintf("must have at most %d items", k.Want), "maxItems"
	}
	kw := ""
	if p := k.KeywordPath(); len(p) > 0 {
		kw = p[len(p)-1]
	}
	return k.LocalizedString(message.NewPrinter(language.English)), kw
}

// onlyCandidate returns the one alternative of a failed oneOf/anyOf that
// the value could have meant: every other alternative failed only on its
// type (null versus object, string versus integer). Reporting that
// alternative's errors says more than "matched none".
func onlyCandidate(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	found := -1
	for i, c := range e.Causes {
		if typeOnly(c, len(e.InstanceLocation)) {
			continue
		}
		if found >= 0 {
			return nil
		}
		found = i
	}
	if found < 0 {
		return nil
	}
	return e.Causes[found]
}

// typeOnly reports whether every leaf of e is a type mismatch of the value
// itself (at depth).
func typeOnly(e *jsonschema.ValidationError, depth int) bool {
	if len(e.Causes) == 0 {
		_, ok := e.ErrorKind.(*kind.Type)
		return ok && len(e.InstanceLocation) == depth
	}
	for _, c := range e.Causes {
		if !typeOnly(c, depth) {
			return false
		}
	}
	return true
}

// sortViolations orders violations by pointer, then keyword: schema engines
// walk objects in map order, and clients deserve a stable answer.
func sortViolations(out []Violation) {
	slices.SortStableFunc(out, func(a, b Violation) int {
		if c := strings.Compare(a.Pointer, b.Pointer); c != 0 {
			return c
		}
		return strings.Compare(a.Keyword, b.Keyword)
	})
}

func rat(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return fmt.Sprint(f)
}

func pointer(loc []string) string {
	if len(loc) == 0 {
		return ""
	}
	var b strings.Builder
	for _, t := range loc {
		b.WriteByte('/')
		b.WriteString(escape(t))
	}
	return b.String()
}
