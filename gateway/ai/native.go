package ai

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	"github.com/portico-dev/portico/aiclient"
)

// Nothing a caller sends is dropped: the members of a request body that
// the endpoint's request type does not model are kept as the request's
// aiclient.Native, which an adapter speaking the caller's format passes
// on unchanged and any other adapter refuses with a 400 naming the
// member. On the way back, the members of the provider's body that
// aiclient.Response does not model (system_fingerprint, service_tier...)
// are written into the answer when the provider speaks the caller's
// format.

// keeper is a request type that keeps the members of its body it does
// not model.
type keeper interface {
	keep(body []byte)
}

// knownKeys are the JSON member names of each request type's fields.
var knownKeys sync.Map // reflect.Type → []string

// jsonKeys returns the JSON member names of the fields of the struct v
// points to.
func jsonKeys(v any) []string {
	t := reflect.TypeOf(v).Elem()
	if ks, ok := knownKeys.Load(t); ok {
		return ks.([]string)
	}
	var ks []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			ks = append(ks, name)
		}
	}
	knownKeys.Store(t, ks)
	return ks
}

func (cr *chatRequest) keep(body []byte) {
	cr.rest = aiclient.Unknown(body, jsonKeys(cr)...)
}

func (mr *messagesRequest) keep(body []byte) {
	mr.rest = aiclient.Unknown(body, jsonKeys(mr)...)
}

// nativeOf wraps the kept members of a request.
func nativeOf(w aiclient.Wire, rest map[string]json.RawMessage) *aiclient.Native {
	if len(rest) == 0 {
		return nil
	}
	return &aiclient.Native{Wire: w, Fields: rest}
}

// withNative encodes v, a JSON object, with the members of n that belong
// to w merged in: the provider's own members, passed on unchanged.
func withNative(v any, n *aiclient.Native, w aiclient.Wire) []byte {
	b := mustJSON(v)
	fields := n.For(w)
	if len(fields) == 0 {
		return b
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return b
	}
	for k, f := range fields {
		m[k] = f
	}
	return mustJSON(m)
}
