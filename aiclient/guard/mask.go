package guard

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Vault maps the values masked in one call to their placeholders and
// back. A placeholder is "<KIND_N>", such as "<EMAIL_1>"; the same value
// gets the same placeholder throughout the call. A Vault lives as long as
// its call and is not safe for concurrent use while masking; once masking
// is done, restoring only reads it.
type Vault struct {
	values   map[string]string // placeholder (and its JSON-escaped form) → original
	byValue  map[string]string // kind + "\x00" + original → placeholder
	counts   map[string]int    // per kind
	prefixes map[string]bool   // every proper prefix of every placeholder
	maxLen   int
}

// Len returns the number of values masked.
func (v *Vault) Len() int { return len(v.byValue) }

// Mask returns the placeholder for value, found by a detector of kind.
func (v *Vault) Mask(kind, value string) string {
	if v.values == nil {
		v.values, v.byValue, v.counts, v.prefixes = map[string]string{}, map[string]string{}, map[string]int{}, map[string]bool{}
	}
	key := kind + "\x00" + value
	if p, ok := v.byValue[key]; ok {
		return p
	}
	v.counts[kind]++
	p := "<" + kind + "_" + strconv.Itoa(v.counts[kind]) + ">"
	v.values[p], v.byValue[key] = value, p
	// A JSON encoder may write the placeholder's angle brackets escaped.
	esc := `\u003c` + p[1:len(p)-1] + `\u003e`
	v.values[esc] = value
	for _, f := range []string{p, esc} {
		for i := 1; i < len(f); i++ {
			v.prefixes[f[:i]] = true
		}
		v.maxLen = max(v.maxLen, len(f))
	}
	return p
}

// Restore returns s with every placeholder replaced by its value.
func (v *Vault) Restore(s string) string {
	r := v.Restorer(false)
	return r.Write(s) + r.Flush()
}

// RestoreJSON returns the JSON text s with every placeholder replaced by
// its value escaped for a JSON string, for tool-call arguments.
func (v *Vault) RestoreJSON(s string) string {
	r := v.Restorer(true)
	return r.Write(s) + r.Flush()
}

// Restorer returns a streaming restorer over v. With inJSON, values are
// written escaped for the inside of a JSON string.
func (v *Vault) Restorer(inJSON bool) *Restorer { return &Restorer{v: v, json: inJSON} }

// Restorer restores placeholders in a text that arrives in pieces split
// at any byte. It holds back only a tail that may begin a placeholder.
type Restorer struct {
	v       *Vault
	json    bool
	pending string
}

// Write adds s and returns the text that can be passed on.
func (r *Restorer) Write(s string) string {
	if r.v.Len() == 0 {
		return s
	}
	text := r.pending + s
	r.pending = ""
	var b strings.Builder
	for {
		j := strings.IndexAny(text, r.v.triggers(r.json))
		if j < 0 {
			b.WriteString(text)
			return b.String()
		}
		b.WriteString(text[:j])
		rest := text[j:]
		if n, val := r.v.match(rest, r.json); n > 0 {
			b.WriteString(r.value(val))
			text = rest[n:]
			continue
		}
		if r.v.prefixes[rest] {
			r.pending = rest
			return b.String()
		}
		b.WriteByte(rest[0])
		text = rest[1:]
	}
}

// triggers are the bytes a placeholder can begin with.
func (v *Vault) triggers(inJSON bool) string {
	if inJSON {
		return `<\`
	}
	return "<"
}

// match returns the length and value of the placeholder s begins with,
// or 0: "<KIND_N>", or in JSON its escaped form.
func (v *Vault) match(s string, inJSON bool) (int, string) {
	end := ">"
	if s[0] == '\\' {
		if !inJSON {
			return 0, ""
		}
		end = `\u003e`
	}
	k := strings.Index(s[1:], end)
	if k < 0 || k+1+len(end) > v.maxLen {
		return 0, ""
	}
	n := k + 1 + len(end)
	val, ok := v.values[s[:n]]
	if !ok {
		return 0, ""
	}
	return n, val
}

// Flush returns the held-back tail, which is no placeholder.
func (r *Restorer) Flush() string {
	s := r.pending
	r.pending = ""
	return s
}

func (r *Restorer) value(v string) string {
	if !r.json {
		return v
	}
	q := quoteJSON(v)
	return q[1 : len(q)-1]
}

// quoteJSON returns s as a JSON string literal, with < and > as they are.
func quoteJSON(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}
