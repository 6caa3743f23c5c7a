package middleware

import (
	"net/http"
	"net/textproto"
)

// carrier reads propagation headers from a request without the
// allocation that canonicalizing "traceparent" costs on every lookup in
// propagation.HeaderCarrier. It is read-only: Set is ignored.
type carrier http.Header

// canonical returns the canonical form of the propagation keys the
// OpenTelemetry propagators ask for, and canonicalizes any other.
func canonical(key string) string {
	switch key {
	case "traceparent":
		return "Traceparent"
	case "tracestate":
		return "Tracestate"
	case "baggage":
		return "Baggage"
	}
	return textproto.CanonicalMIMEHeaderKey(key)
}

// Get returns the first value of key.
func (c carrier) Get(key string) string {
	if v := c[canonical(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Values returns every value of key, for propagators that join repeated
// fields, such as baggage.
func (c carrier) Values(key string) []string { return c[canonical(key)] }

// Set does nothing: the request headers are not changed by extraction.
func (c carrier) Set(string, string) {}

// Keys lists the header names.
func (c carrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
