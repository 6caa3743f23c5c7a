// Package fields holds what the gateway core and its config layer share
// to name configuration fields in errors: list paths, sorted map keys and
// header names.
package fields

import (
	"maps"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
)

// Index names the i-th element of the list field name: "routes[2]".
func Index(name string, i int) string { return name + "[" + strconv.Itoa(i) + "]" }

// SortedKeys returns the keys of m in order.
func SortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// Known lists the keys of m for an error message, or "none".
func Known[V any](m map[string]V) string {
	if len(m) == 0 {
		return "none"
	}
	return strings.Join(SortedKeys(m), ", ")
}

// ValidHeaderName reports whether k is an HTTP header field name.
func ValidHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) {
			return false
		}
	}
	return textproto.CanonicalMIMEHeaderKey(k) != ""
}

// ValidID reports whether id is an identifier as the platform stores them
// (an API, tenant or consumer ID): 1 to 64 letters, digits, '-' or '_',
// starting with a letter or digit.
func ValidID(id string) bool {
	ok := len(id) > 0 && len(id) <= 64
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || i > 0 && (c == '-' || c == '_')
	}
	return ok
}
