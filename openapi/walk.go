package openapi

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// walker validates one value, collecting violations.
type walker struct {
	in, name string
	path     []string
	out      []Violation
}

func (w *walker) add(msg, kw string, extra ...string) {
	ptr := pointer(w.path)
	for _, e := range extra {
		ptr += "/" + escape(e)
	}
	w.out = append(w.out, Violation{In: w.in, Name: w.name, Pointer: ptr, Message: msg, Keyword: kw})
}

func (w *walker) kind(k jsonschema.ErrorKind) {
	msg, kw := describe(k)
	w.add(msg, kw)
}

func (w *walker) node(n *fastNode, v any) {
	if n.never {
		if n.neverMsg != "" {
			w.add(n.neverMsg, n.neverKw)
		} else {
			w.add("is not allowed", "false")
		}
		return
	}
	t := jsonTypeOf(v)
	if n.types != 0 && n.types&t == 0 && (n.types&tInteger == 0 || t != tNumber || !isInt(v)) {
		w.kind(&kind.Type{Got: typeName(t), Want: n.typeNames})
		return
	}
	if n.hasConst && !equal(v, n.constant) {
		w.kind(&kind.Const{Got: v, Want: n.constant})
		return
	}
	if n.hasEnum {
		found := false
		for _, e := range n.enum {
			if equal(v, e) {
				found = true
				break
			}
		}
		if !found {
			w.kind(&kind.Enum{Got: v, Want: n.enum})
			return
		}
	}
	if n.format != nil && n.format.Validate(v) != nil {
		w.kind(&kind.Format{Got: v, Want: n.formatN})
		return
	}
	if n.ref != nil {
		w.node(n.ref, v)
	}
	switch x := v.(type) {
	case map[string]any:
		w.object(n, x)
	case []any:
		if n.minItems >= 0 && len(x) < n.minItems {
			w.kind(&kind.MinItems{Got: len(x), Want: n.minItems})
		}
		if n.maxItems >= 0 && len(x) > n.maxItems {
			w.kind(&kind.MaxItems{Got: len(x), Want: n.maxItems})
		}
		if n.items != nil {
			for i, item := range x {
				w.path = append(w.path, strconv.Itoa(i))
				w.node(n.items, item)
				w.path = w.path[:len(w.path)-1]
			}
		}
	case string:
		if n.minLen >= 0 || n.maxLen >= 0 {
			l := utf8.RuneCountInString(x)
			if n.minLen >= 0 && l < n.minLen {
				w.kind(&kind.MinLength{Got: l, Want: n.minLen})
			}
			if n.maxLen >= 0 && l > n.maxLen {
				w.kind(&kind.MaxLength{Got: l, Want: n.maxLen})
			}
		}
		if n.pattern != nil && !n.pattern.MatchString(x) {
			w.kind(&kind.Pattern{Got: x, Want: n.patternSrc})
		}
	case json.Number:
		w.number(n, x)
	}
}

func (w *walker) object(n *fastNode, obj map[string]any) {
	if n.minProps >= 0 && len(obj) < n.minProps {
		w.kind(&kind.MinProperties{Got: len(obj), Want: n.minProps})
	}
	if n.maxProps >= 0 && len(obj) > n.maxProps {
		w.kind(&kind.MaxProperties{Got: len(obj), Want: n.maxProps})
	}
	for _, r := range n.required {
		if _, ok := obj[r]; !ok {
			w.add("is required", "required", r)
		}
	}
	for k, v := range obj {
		ps, ok := n.props[k]
		switch {
		case ok:
		case n.addl != nil:
			ps = n.addl
		case n.addlFalse:
			w.add("is not allowed: the schema has no such property", "additionalProperties", k)
			continue
		default:
			continue
		}
		w.path = append(w.path, k)
		w.node(ps, v)
		w.path = w.path[:len(w.path)-1]
	}
}

func (w *walker) number(n *fastNode, x json.Number) {
	for i, b := range n.bounds {
		if b == nil {
			continue
		}
		c := cmpNumber(x, b)
		var fail bool
		switch i {
		case 0:
			fail = c < 0
		case 1:
			fail = c > 0
		case 2:
			fail = c <= 0
		case 3:
			fail = c >= 0
		}
		if !fail {
			continue
		}
		switch i {
		case 0:
			w.kind(&kind.Minimum{Want: b.rat})
		case 1:
			w.kind(&kind.Maximum{Want: b.rat})
		case 2:
			w.kind(&kind.ExclusiveMinimum{Want: b.rat})
		case 3:
			w.kind(&kind.ExclusiveMaximum{Want: b.rat})
		}
	}
}

// cmpNumber compares x with b exactly; float64 decides when the two are
// clearly apart, big.Rat when they are close.
func cmpNumber(x json.Number, b *bound) int {
	f, err := strconv.ParseFloat(string(x), 64)
	if err == nil && !math.IsInf(f, 0) {
		d := f - b.f
		if math.Abs(d) > 1e-9*math.Max(1, math.Max(math.Abs(f), math.Abs(b.f))) {
			if d < 0 {
				return -1
			}
			return 1
		}
	}
	r, ok := new(big.Rat).SetString(string(x))
	if !ok {
		return 0
	}
	return r.Cmp(b.rat)
}

func jsonTypeOf(v any) uint8 {
	switch v.(type) {
	case nil:
		return tNull
	case bool:
		return tBoolean
	case json.Number:
		return tNumber
	case string:
		return tString
	case []any:
		return tArray
	case map[string]any:
		return tObject
	}
	return 0
}

func typeName(t uint8) string {
	for _, tn := range typeNames() {
		if tn.bit == t {
			return tn.name
		}
	}
	return "invalid"
}

// isInt reports whether the number is integral (1.0 and 1e2 are).
func isInt(v any) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	if !strings.ContainsAny(string(n), ".eE") {
		return true
	}
	r, ok := new(big.Rat).SetString(string(n))
	return ok && r.IsInt()
}

// equal is JSON equality: numbers by value, objects and arrays deeply.
func equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		rx, ok1 := new(big.Rat).SetString(string(x))
		ry, ok2 := new(big.Rat).SetString(string(y))
		return ok1 && ok2 && rx.Cmp(ry) == 0
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !equal(xv, yv) {
				return false
			}
		}
		return true
	}
	return false
}
