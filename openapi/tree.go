package openapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// maxNodes bounds the values a YAML document may expand to through its
// aliases, so a small hostile file cannot exhaust memory.
const maxNodes = 1 << 20

// readTree decodes a JSON or YAML document into map[string]any, []any,
// string, json.Number, bool and nil. Numbers keep the text they were
// written with, so 9007199254740993 stays exact and a schema's keyword
// values reach the validator and the served document as written.
func readTree(data []byte) (any, error) {
	if v, err := parseJSON(data); err == nil {
		return v, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 {
		return nil, errors.New("the document is empty")
	}
	c := &yamlConv{}
	return c.value(&doc, 0)
}

// yamlConv turns a YAML node tree into plain values.
type yamlConv struct{ nodes int }

func (c *yamlConv) value(n *yaml.Node, depth int) (any, error) {
	c.nodes++
	if c.nodes > maxNodes || depth > maxDepth {
		return nil, fmt.Errorf("line %d: the document is nested or aliased too deeply", n.Line)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], depth+1)
	case yaml.AliasNode:
		return c.value(n.Alias, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			v, err := c.value(item, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		return out, c.mapping(n, out, depth)
	case yaml.ScalarNode:
		return scalar(n)
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// mapping adds the members of n to out; a member merged with "<<" never
// replaces one written in the mapping itself.
func (c *yamlConv) mapping(n *yaml.Node, out map[string]any, depth int) error {
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: a mapping key must be a scalar", k.Line)
		}
		if _, dup := out[k.Value]; dup {
			return fmt.Errorf("line %d: key %q is repeated", k.Line, k.Value)
		}
		val, err := c.value(v, depth+1)
		if err != nil {
			return err
		}
		out[k.Value] = val
	}
	for _, m := range merges {
		if m.Kind == yaml.AliasNode {
			m = m.Alias
		}
		srcs := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			srcs = m.Content
		}
		for _, src := range srcs {
			if src.Kind == yaml.AliasNode {
				src = src.Alias
			}
			if src.Kind != yaml.MappingNode {
				return fmt.Errorf("line %d: a merge key takes a mapping", m.Line)
			}
			extra := map[string]any{}
			if err := c.mapping(src, extra, depth+1); err != nil {
				return err
			}
			for k, v := range extra {
				if _, ok := out[k]; !ok {
					out[k] = v
				}
			}
		}
	}
	return nil
}

// scalar decodes one YAML scalar; numbers keep their text when it is
// already a JSON number.
func scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return b, nil
	case "!!int", "!!float":
		if s := jsonNumberText(n.Value); s != "" {
			return json.Number(s), nil
		}
		var f float64
		if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("line %d: number %q cannot be written in JSON", n.Line, n.Value)
		}
		if n.ShortTag() == "!!int" {
			var i int64
			if n.Decode(&i) == nil {
				return json.Number(strconv.FormatInt(i, 10)), nil
			}
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	}
	return n.Value, nil
}

// jsonNumberText returns s in JSON number syntax when it only differs from
// it by a leading '+', a bare leading or trailing '.', or returns "".
func jsonNumberText(s string) string {
	if isJSONNumber(s) {
		return s
	}
	s = strings.TrimPrefix(s, "+")
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	if strings.HasPrefix(body, ".") {
		body = "0" + body
	}
	mant, exp, hasExp := strings.Cut(body, "e")
	if !hasExp {
		mant, exp, hasExp = strings.Cut(body, "E")
	}
	mant = strings.TrimSuffix(mant, ".")
	body = mant
	if hasExp {
		body += "e" + exp
	}
	if neg {
		body = "-" + body
	}
	if !isJSONNumber(body) {
		return ""
	}
	return body
}

// isJSONNumber reports whether s is exactly one number in JSON syntax.
func isJSONNumber(s string) bool {
	if s == "" {
		return false
	}
	p := jsonParser{data: []byte(s)}
	if _, err := p.number(); err != nil {
		return false
	}
	return p.i == len(s)
}
