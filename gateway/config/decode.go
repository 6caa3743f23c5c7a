package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/internal/fields"
)

// decoder walks a YAML node tree into Go values, so that every error
// names the field path and line, unknown fields are refused and ${VAR}
// references are expanded in scalars only.
type decoder struct {
	file  string
	env   func(string) (string, bool)
	lines map[string]int // field path to line
	errs  []error
}

var (
	durationType        = reflect.TypeFor[time.Duration]()
	timeType            = reflect.TypeFor[time.Time]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &gateway.FieldError{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// syntaxErr turns a YAML syntax error into a FieldError at its line.
func syntaxErr(file string, err error) *gateway.FieldError {
	if e, ok := errors.AsType[*yaml.LoadError](err); ok && e.Mark.Line > 0 {
		return &gateway.FieldError{File: file, Line: e.Mark.Line, Msg: "not valid YAML: " + e.Message}
	}
	return &gateway.FieldError{File: file, Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldName returns the config key of a struct field: its yaml tag, else
// its json tag, else "" when it has no place in a config file.
func fieldName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	switch f.Type.Kind() {
	case reflect.Func, reflect.Chan, reflect.Interface, reflect.UnsafePointer:
		return ""
	}
	if name := tagName(f); name != "-" {
		return name
	}
	return ""
}

// tagName returns the name f's yaml tag gives it, else its json tag's,
// else "". It is "-" for a field opting out.
func tagName(f reflect.StructField) string {
	for _, key := range []string{"yaml", "json"} {
		if tag, ok := f.Tag.Lookup(key); ok {
			if name, _, _ := strings.Cut(tag, ","); name != "" {
				return name
			}
		}
	}
	return ""
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if path != "" {
		if _, ok := d.lines[path]; !ok {
			d.lines[path] = n.Line
		}
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		v.SetZero()
		return
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == timeType || v.CanAddr() && v.Addr().Type().Implements(textUnmarshalerType) {
			d.scalar(n, v, path)
			return
		}
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), fields.Index(path, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(n, path, "want a mapping, got %s", describe(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			key := reflect.New(v.Type().Key()).Elem()
			d.scalar(k, key, path)
			elem := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, elem, join(path, k.Value))
			m.SetMapIndex(key, elem)
		}
		v.Set(m)
	default:
		d.scalar(n, v, path)
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping, got %s", describe(n))
		return
	}
	sf := structFieldsOf(v.Type())
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		fi, ok := sf.index[k.Value]
		if !ok {
			d.fail(k, join(path, k.Value), "unknown field (known: %s)", sf.known)
			continue
		}
		if seen[k.Value] {
			d.fail(k, join(path, k.Value), "set twice")
			continue
		}
		seen[k.Value] = true
		d.lines[join(path, k.Value)] = k.Line
		d.decode(val, v.FieldByIndex(fi), join(path, k.Value))
	}
}

// structFields is what decoding a struct needs of its type: the index of
// its config keys and their sorted list, for the error naming an unknown
// key. Both are read-only once made.
type structFields struct {
	index map[string][]int
	known string
}

// structFieldsCache holds the structFields of each config type decoded,
// so a reload reflects over its types once per process, not once per
// mapping of every file.
var structFieldsCache sync.Map // reflect.Type -> *structFields

// structFieldsOf returns t's structFields, made once per type.
func structFieldsOf(t reflect.Type) *structFields {
	if f, ok := structFieldsCache.Load(t); ok {
		return f.(*structFields)
	}
	index := fieldIndex(t)
	f, _ := structFieldsCache.LoadOrStore(t, &structFields{index: index, known: fields.Known(index)})
	return f.(*structFields)
}

// fieldIndex maps the config keys of struct type t to their fields. The
// fields of an embedded struct without a key of its own are promoted, as
// encoding/json does, so a config type can embed the type it configures
// (ConsumerConfig embeds middleware.Consumer).
func fieldIndex(t reflect.Type) map[string][]int {
	index := map[string][]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if name := fieldName(f); name != "" {
			index[name] = []int{i}
			continue
		}
		if f.Anonymous && f.Type.Kind() == reflect.Struct && !hasKey(f) {
			for name, sub := range fieldIndex(f.Type) {
				if _, shadowed := index[name]; !shadowed {
					index[name] = append([]int{i}, sub...)
				}
			}
		}
	}
	return index
}

// hasKey reports whether f names its config key, or opts out with "-".
func hasKey(f reflect.StructField) bool { return tagName(f) != "" }

// scalar decodes a scalar node after expanding ${VAR} references.
func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "want a single value, got %s", describe(n))
		return
	}
	val, err := expand(n.Value, d.env)
	if err != nil {
		d.fail(n, path, "%v", err)
		return
	}
	c := *n
	if val != n.Value {
		// An expanded value is typed by what it became, so "${PORT}"
		// can fill an integer.
		c.Value, c.Tag, c.Style = val, "", 0
	}
	if v.Type() == durationType {
		dur, err := time.ParseDuration(c.Value)
		if err != nil {
			d.fail(n, path, "%q is not a duration; use a number with a unit, like \"1.5s\" or \"200ms\"", c.Value)
			return
		}
		v.SetInt(int64(dur))
		return
	}
	if v.Type() == timeType {
		t, err := time.Parse(time.RFC3339, c.Value)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, c.Value); err != nil {
				d.fail(n, path, "%q is not a time; use RFC 3339, like \"2027-01-31T00:00:00Z\", or a date, like \"2027-01-31\"", c.Value)
				return
			}
		}
		v.Set(reflect.ValueOf(t))
		return
	}
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok && v.Kind() == reflect.Struct {
		// A struct written as one value, such as a HedgeDelay: its own
		// parser's error says what is wrong.
		if err := u.UnmarshalText([]byte(c.Value)); err != nil {
			d.fail(n, path, "%v", err)
		}
		return
	}
	if err := c.Decode(v.Addr().Interface()); err != nil {
		d.fail(n, path, "%q is not a valid %s", c.Value, kindName(v.Type()))
	}
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Bool:
		return "boolean (true or false)"
	}
	return t.Kind().String()
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	default:
		return strconv.Quote(n.Value)
	}
}

// expand replaces ${VAR} and ${VAR:-default} with values from env; "$$"
// is a literal "$". A variable that is unset and has no default is an
// error, so a missing secret never becomes an empty string.
func expand(s string, env func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "$$"):
			b.WriteByte('$')
			s = s[2:]
			continue
		case !strings.HasPrefix(s, "${"):
			b.WriteByte('$')
			s = s[1:]
			continue
		}
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return "", fmt.Errorf("unclosed \"${\" in %q", s)
		}
		ref := s[2:end]
		s = s[end+1:]
		name, def, hasDef := strings.Cut(ref, ":-")
		if !validEnvName(name) {
			return "", fmt.Errorf("%q is not a valid variable name in ${...}", name)
		}
		val, ok := env(name)
		switch {
		case ok && val != "":
			b.WriteString(val)
		case hasDef:
			b.WriteString(def)
		case ok:
			// Set but empty, with no default: use the empty value.
		default:
			return "", fmt.Errorf("environment variable %s is not set; set it or give a default with ${%s:-value}", name, name)
		}
	}
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r != '_' && (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}
