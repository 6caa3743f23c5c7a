package demo

import (
	"encoding/json"
	"slices"
)

// schema is the part of JSON Schema that fill reads.
type schema struct {
	Type       json.RawMessage    `json:"type"`
	Properties map[string]*schema `json:"properties"`
	Required   []string           `json:"required"`
	Items      *schema            `json:"items"`
	Enum       []any              `json:"enum"`
	Const      any                `json:"const"`
	AnyOf      []*schema          `json:"anyOf"`
	OneOf      []*schema          `json:"oneOf"`
	MinItems   int                `json:"minItems"`
	Minimum    *float64           `json:"minimum"`
}

// fill returns a value that matches the JSON Schema raw, with strings set
// to text. It reads types, properties, items, enum, const, anyOf/oneOf and
// minimum, which is what tool parameters and structured output schemas use.
func fill(raw json.RawMessage, text string, depth int) any {
	var s schema
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return map[string]any{}
	}
	return s.value(text, depth)
}

func (s *schema) value(text string, depth int) any {
	if s == nil || depth > 16 {
		return nil
	}
	if s.Const != nil {
		return s.Const
	}
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	if alt := append(s.AnyOf, s.OneOf...); len(alt) > 0 {
		return alt[0].value(text, depth+1)
	}
	switch s.typ() {
	case "object":
		out := make(map[string]any, len(s.Properties))
		names := make([]string, 0, len(s.Properties))
		for name := range s.Properties {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			out[name] = s.Properties[name].value(text, depth+1)
		}
		return out
	case "array":
		n := max(s.MinItems, 1)
		out := make([]any, n)
		for i := range out {
			out[i] = s.Items.value(text, depth+1)
		}
		return out
	case "integer":
		if s.Minimum != nil && *s.Minimum > float64(len(text)) {
			return int64(*s.Minimum)
		}
		return len(text)
	case "number":
		if s.Minimum != nil && *s.Minimum > float64(len(text)) {
			return *s.Minimum
		}
		return float64(len(text))
	case "boolean":
		return len(text)%2 == 0
	case "null":
		return nil
	default:
		return text
	}
}

// typ returns the schema's type, the first non-null one of a list.
func (s *schema) typ() string {
	var one string
	if json.Unmarshal(s.Type, &one) == nil {
		return one
	}
	var many []string
	if json.Unmarshal(s.Type, &many) == nil {
		for _, t := range many {
			if t != "null" {
				return t
			}
		}
	}
	if s.Properties != nil {
		return "object"
	}
	if s.Items != nil {
		return "array"
	}
	return "string"
}
