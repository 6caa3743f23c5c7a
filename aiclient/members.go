package aiclient

import (
	"encoding/json"
	"slices"
)

// unknownMembers is Unknown without decoding the known members: it walks
// the top level of body and copies only the members not in known. It
// reports false when body is not an object it can walk this way (an
// escaped or non-ASCII name, or body is not valid JSON), for Unknown to
// decode it instead.
func unknownMembers(body []byte, known []string) (map[string]json.RawMessage, bool) {
	if !json.Valid(body) {
		return nil, false
	}
	var out map[string]json.RawMessage
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, false
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return nil, skipSpace(body, i+1) == len(body)
	}
	for {
		if i >= len(body) || body[i] != '"' {
			return nil, false
		}
		j := i + 1
		for j < len(body) && body[j] != '"' {
			if c := body[j]; c == '\\' || c < 0x20 || c >= 0x80 {
				return nil, false
			}
			j++
		}
		if j >= len(body) {
			return nil, false
		}
		name := body[i+1 : j]
		i = skipSpace(body, j+1)
		if i >= len(body) || body[i] != ':' {
			return nil, false
		}
		i = skipSpace(body, i+1)
		end := skipValue(body, i)
		if end <= i {
			return nil, false
		}
		if v := body[i:end]; string(v) != "null" && !slices.Contains(known, string(name)) {
			if out == nil {
				out = map[string]json.RawMessage{}
			}
			out[string(name)] = append(json.RawMessage(nil), v...)
		} else if out != nil {
			delete(out, string(name)) // a later duplicate wins, as in encoding/json
		}
		i = skipSpace(body, end)
		if i >= len(body) {
			return nil, false
		}
		switch body[i] {
		case '}':
			if len(out) == 0 {
				out = nil
			}
			return out, skipSpace(body, i+1) == len(body)
		case ',':
			i = skipSpace(body, i+1)
		default:
			return nil, false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value starting at i, without
// checking it beyond its brackets and strings; i when there is none.
func skipValue(b []byte, i int) int {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			j++
			for j < len(b) && b[j] != '"' {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(b) {
				return i
			}
			if depth == 0 {
				return j + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return j
			}
			depth--
			if depth == 0 {
				return j + 1
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return j
			}
		}
	}
	if depth != 0 {
		return i
	}
	return len(b)
}
