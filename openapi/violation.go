package openapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
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
	b.WriteString("portico/openapi: ")
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

// schemaViolations flattens a JSON Schema validation error on value into
// violations.
func schemaViolations(err error, value any, in, name string, notes *schemaNotes) []Violation {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Violation{{In: in, Name: name, Message: err.Error()}}
	}
	var out []Violation
	c := collector{in: in, name: name, notes: notes, value: value, out: &out}
	c.collect(ve)
	if len(out) == 0 {
		out = append(out, Violation{In: in, Name: name, Message: "does not match the schema"})
	}
	sortViolations(out)
	return out
}

// collector turns the tree of a validation error into violations.
type collector struct {
	in, name string
	notes    *schemaNotes
	value    any // the value validated
	out      *[]Violation
}

func (c *collector) add(ptr, msg, kw string) {
	*c.out = append(*c.out, Violation{In: c.in, Name: c.name, Pointer: ptr, Message: msg, Keyword: kw})
}

func (c *collector) collect(e *jsonschema.ValidationError) {
	ptr := pointer(e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.Reference, *kind.AllOf:
		for _, cause := range e.Causes {
			c.collect(cause)
		}
	case *kind.Required:
		for _, m := range k.Missing {
			c.add(ptr+"/"+escape(m), "is required", "required")
		}
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			c.add(ptr+"/"+escape(p), "is not allowed: the schema has no such property", "additionalProperties")
		}
	case *kind.FalseSchema:
		if msg, ok := c.notes.denied[e.SchemaURL]; ok {
			keyword := "readOnly"
			if strings.Contains(msg, "write-only") {
				keyword = "writeOnly"
			}
			c.add(ptr, msg, keyword)
			return
		}
		c.add(ptr, "is not allowed", "false")
	case *kind.OneOf:
		if c.alternatives(e, ptr, len(k.Subschemas) == 0) {
			return
		}
		if len(k.Subschemas) == 0 {
			c.add(ptr, "must match exactly one schema in oneOf, matched none", "oneOf")
		} else {
			c.add(ptr, fmt.Sprintf("must match exactly one schema in oneOf, matched %d and %d", k.Subschemas[0], k.Subschemas[1]), "oneOf")
		}
	case *kind.AnyOf:
		if c.alternatives(e, ptr, true) {
			return
		}
		c.add(ptr, "must match at least one schema in anyOf", "anyOf")
	default:
		if len(e.Causes) > 0 && len(k.KeywordPath()) == 0 {
			for _, cause := range e.Causes {
				c.collect(cause)
			}
			return
		}
		msg, kw := describe(k)
		c.add(ptr, msg, kw)
	}
}

// alternatives reports the errors of a failed oneOf or anyOf through the
// one alternative the value meant, when that is known: the one its
// discriminator names, or the only one that failed on more than the
// value's type. noneMatched is false when oneOf failed because several
// alternatives matched: then no alternative is to blame.
func (c *collector) alternatives(e *jsonschema.ValidationError, ptr string, noneMatched bool) bool {
	if d := c.notes.discrim[e.SchemaURL]; d != nil && noneMatched {
		obj, _ := valueAt(c.value, e.InstanceLocation).(map[string]any)
		tag, isStr := obj[d.prop].(string)
		i, named := d.names[tag]
		switch {
		case obj == nil:
		case !isStr:
			c.add(ptr+"/"+escape(d.prop), "is required", "required")
			return true
		case !named || i < 0:
			c.add(ptr+"/"+escape(d.prop), "value must be one of "+quoteList(d.names), "discriminator")
			return true
		default:
			suffix := fmt.Sprintf("/%s/%d", d.keyword, i)
			for _, cause := range e.Causes {
				if strings.HasSuffix(cause.SchemaURL, suffix) {
					c.collect(cause)
					return true
				}
			}
		}
	}
	if !noneMatched {
		return false
	}
	if only := onlyCandidate(e); only != nil {
		c.collect(only)
		return true
	}
	return false
}

// valueAt returns the part of v at loc.
func valueAt(v any, loc []string) any {
	for _, tok := range loc {
		switch x := v.(type) {
		case map[string]any:
			v = x[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// quoteList lists the values of a discriminator that name an
// alternative, sorted and quoted as the engine quotes an enum.
func quoteList(names map[string]int) string {
	var list []string
	for k, i := range names {
		if i >= 0 {
			list = append(list, "'"+k+"'")
		}
	}
	slices.Sort(list)
	return strings.Join(list, ", ")
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
	case *kind.Const:
		return "value must be " + display(k.Want), "const"
	case *kind.Enum:
		switch len(k.Want) {
		case 0:
			return "no value is allowed: the enum is empty", "enum"
		case 1:
			return "value must be " + display(k.Want[0]), "enum"
		}
		list := make([]string, len(k.Want))
		for i, w := range k.Want {
			list[i] = display(w)
		}
		return "value must be one of " + strings.Join(list, ", "), "enum"
	case *kind.MultipleOf:
		return "must be a multiple of " + rat(k.Want), "multipleOf"
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
// itself (at depth), or says the value must be null.
func typeOnly(e *jsonschema.ValidationError, depth int) bool {
	if len(e.Causes) == 0 {
		if len(e.InstanceLocation) != depth {
			return false
		}
		switch k := e.ErrorKind.(type) {
		case *kind.Type:
			return true
		case *kind.Enum:
			return len(k.Want) == 1 && k.Want[0] == nil
		case *kind.Const:
			return k.Want == nil
		}
		return false
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

// display writes a value of the schema for a message: strings in single
// quotes, anything else as JSON.
func display(v any) string {
	if s, ok := v.(string); ok {
		q := strconv.Quote(s)
		q = strings.ReplaceAll(q[1:len(q)-1], `\"`, `"`)
		return "'" + strings.ReplaceAll(q, "'", `\'`) + "'"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// rat writes a keyword's number exactly: a number written in decimal has a
// finite decimal expansion, so it reads back as written.
func rat(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	d := new(big.Int).Set(r.Denom())
	var twos, fives int
	five, rem := big.NewInt(5), new(big.Int)
	for d.Bit(0) == 0 {
		d.Rsh(d, 1)
		twos++
	}
	for {
		q, m := new(big.Int).QuoRem(d, five, rem)
		if m.Sign() != 0 {
			break
		}
		d = q
		fives++
	}
	if d.Cmp(big.NewInt(1)) != 0 {
		f, _ := r.Float64()
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return r.FloatString(max(twos, fives))
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
