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
	values   map[string]string // placeholder → original
	byValue  map[string]string // kind + "\x00" + original → placeholder
	counts   map[string]int    // per kind
	prefixes map[string]bool   // every proper prefix of every placeholder
	maxLen   int
}

// Len returns the number of values masked.
func (v *Vault) Len() int { return len(v.values) }

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
	for i := 1; i < len(p); i++ {
		v.prefixes[p[:i]] = true
	}
	v.maxLen = max(v.maxLen, len(p))
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
		j := strings.IndexByte(text, '<')
		if j < 0 {
			b.WriteString(text)
			return b.String()
		}
		b.WriteString(text[:j])
		rest := text[j:]
		if k := strings.IndexByte(rest, '>'); k > 0 && k < r.v.maxLen {
			if val, ok := r.v.values[rest[:k+1]]; ok {
				b.WriteString(r.value(val))
				text = rest[k+1:]
				continue
			}
		}
		if r.v.prefixes[rest] {
			r.pending = rest
			return b.String()
		}
		b.WriteByte('<')
		text = rest[1:]
	}
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
