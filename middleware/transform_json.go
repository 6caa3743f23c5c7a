package middleware

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"strings"
)

// JSONRules reshape a JSON body. Paths are dotted field names from the
// root ("user.address.zip"); a segment "[]" or a suffix "[]" visits every
// element of an array ("items[].internal", "[].secret" for a root array).
// Field names containing dots cannot be addressed. Rules run in the order
// Remove, Rename, Add; a path that does not exist is skipped.
//
// Re-encoding keeps numbers exactly as sent but orders object members by
// name.
//
// The yaml tags are the keys of a gateway config file's transform
// section.
type JSONRules struct {
	// Remove deletes the fields at these paths.
	Remove []string `yaml:"remove"`
	// Rename gives the field at each path (the key) a new name (the
	// value) in the same object.
	Rename map[string]string `yaml:"rename"`
	// Add sets constant fields, creating missing parent objects. Each
	// value is encoded with encoding/json once, at construction.
	Add map[string]any `yaml:"add"`
}

type jsonOp struct {
	path  []string
	name  string          // rename target
	value json.RawMessage // add value
	kind  byte            // 'r' remove, 'n' rename, 'a' add
}

type jsonProgram []jsonOp

// compileJSONRules validates the rules; field names the config field in
// errors.
func compileJSONRules(field string, j JSONRules) (jsonProgram, error) {
	var p jsonProgram
	for _, path := range j.Remove {
		segs, err := splitJSONPath(path)
		if err != nil {
			return nil, fmt.Errorf("%s.Remove: %w", field, err)
		}
		p = append(p, jsonOp{kind: 'r', path: segs})
	}
	for _, path := range ruleKeys(j.Rename) {
		segs, err := splitJSONPath(path)
		if err != nil {
			return nil, fmt.Errorf("%s.Rename: %w", field, err)
		}
		to := j.Rename[path]
		if to == "" || strings.Contains(to, ".") || strings.Contains(to, "[]") {
			return nil, fmt.Errorf("%s.Rename[%q]: the new name %q must be a plain field name", field, path, to)
		}
		p = append(p, jsonOp{kind: 'n', path: segs, name: to})
	}
	for _, path := range ruleKeys(j.Add) {
		segs, err := splitJSONPath(path)
		if err != nil {
			return nil, fmt.Errorf("%s.Add: %w", field, err)
		}
		raw, err := json.Marshal(j.Add[path])
		if err != nil {
			return nil, fmt.Errorf("%s.Add[%q]: the value cannot be encoded as JSON: %w", field, path, err)
		}
		p = append(p, jsonOp{kind: 'a', path: segs, value: raw})
	}
	return p, nil
}

func splitJSONPath(path string) ([]string, error) {
	if path == "" {
		return nil, fmt.Errorf("empty path")
	}
	var segs []string
	for s := range strings.SplitSeq(path, ".") {
		switch {
		case s == "[]":
			segs = append(segs, "[]")
		case strings.HasSuffix(s, "[]") && len(s) > 2:
			segs = append(segs, s[:len(s)-2], "[]")
		case s == "" || strings.Contains(s, "[]"):
			return nil, fmt.Errorf("path %q has an empty or malformed segment", path)
		default:
			segs = append(segs, s)
		}
	}
	if segs[len(segs)-1] == "[]" {
		return nil, fmt.Errorf("path %q must end with a field name", path)
	}
	return segs, nil
}

// apply rewrites body; ok is false when body is not valid JSON, in which
// case the caller sends it unchanged.
func (p jsonProgram) apply(body []byte) ([]byte, bool) {
	if !json.Valid(body) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, false
	}
	for _, op := range p {
		doc = op.run(doc, op.path)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, false
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), true
}

// run applies op at path below v and returns the (possibly new) v.
func (op jsonOp) run(v any, path []string) any {
	seg := path[0]
	if seg == "[]" {
		arr, ok := v.([]any)
		if !ok {
			return v
		}
		for i := range arr {
			arr[i] = op.run(arr[i], path[1:])
		}
		return arr
	}
	obj, ok := v.(map[string]any)
	if !ok {
		if op.kind == 'a' && v == nil {
			obj = map[string]any{}
		} else {
			return v
		}
	}
	if len(path) > 1 {
		child, exists := obj[seg]
		if !exists && op.kind != 'a' {
			return obj
		}
		if !exists && path[1] != "[]" {
			child = map[string]any{}
		}
		if exists || path[1] != "[]" {
			obj[seg] = op.run(child, path[1:])
		}
		return obj
	}
	switch op.kind {
	case 'r':
		delete(obj, seg)
	case 'n':
		if val, exists := obj[seg]; exists {
			delete(obj, seg)
			obj[op.name] = val
		}
	case 'a':
		obj[seg] = op.value
	}
	return obj
}

// isJSON reports whether a Content-Type is application/json or a +json
// type.
func isJSON(contentType string) bool {
	if contentType == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}
