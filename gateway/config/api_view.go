package config

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/middleware/auth"
	"github.com/portico-dev/portico/middleware/cache"
	"github.com/portico-dev/portico/openapi"
)

// gatewayView rewrites an API's document to describe the API as the
// gateway serves it, so that its docs show what a client must send:
// every path under the API's prefix, the gateway as the server, the
// security schemes of the authenticators each operation tries (and the
// scopes it needs), the Idempotency-Key header where the gateway takes
// one, and the RateLimit headers and 429 answer where it limits.
// policies holds each operation's policy by "METHOD path".
func gatewayView(b *gateway.Builder, spec *openapi.Spec, prefix string, policies map[string]gateway.Policy) (*openapi.Spec, error) {
	var doc map[string]any
	if err := json.Unmarshal(spec.JSON(), &doc); err != nil {
		return nil, err
	}
	doc["servers"] = []any{map[string]any{"url": "/", "description": "this gateway"}}
	schemes := map[string]any{}
	paths, _ := doc["paths"].(map[string]any)
	out := make(map[string]any, len(paths))
	for path, item := range paths {
		ops, _ := item.(map[string]any)
		for method, v := range ops {
			op, ok := v.(map[string]any)
			pol, known := policies[strings.ToUpper(method)+" "+path]
			if !ok || !known {
				continue
			}
			describeAuth(b, op, pol.Auth, schemes)
			describeIdempotency(op, strings.ToUpper(method), pol.Idempotency)
			if pol.RateLimit != nil || pol.Quota != nil {
				describeRateLimit(op)
			}
		}
		out[prefix+path] = item
	}
	doc["paths"] = out
	if len(schemes) > 0 {
		comp, _ := doc["components"].(map[string]any)
		if comp == nil {
			comp = map[string]any{}
			doc["components"] = comp
		}
		have, _ := comp["securitySchemes"].(map[string]any)
		if have == nil {
			have = map[string]any{}
		}
		maps.Copy(have, schemes)
		comp["securitySchemes"] = have
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return openapi.Parse(data)
}

// describeAuth sets op's security to the authenticators its route tries,
// adding their schemes, and names the scopes and roles it needs.
func describeAuth(b *gateway.Builder, op map[string]any, authn *gateway.Auth, schemes map[string]any) {
	if authn == nil {
		return
	}
	names := authn.Methods
	if len(names) == 0 {
		names = b.Authenticators()
	}
	var security []any
	for _, n := range names {
		a, ok := b.Authenticator(n)
		if !ok {
			continue
		}
		schemes[n] = securityScheme(n, a)
		security = append(security, map[string]any{n: []any{}})
	}
	if authn.Anonymous {
		security = append(security, map[string]any{})
	}
	if len(security) > 0 {
		op["security"] = security
	}
	if need := append(slices.Clone(authn.Scopes), authn.Roles...); len(need) > 0 {
		join := " and "
		if authn.AnyScope {
			join = " or "
		}
		note := "Requires the scopes or roles " + strings.Join(need, join) + "; a consumer without them gets 403."
		desc, _ := op["description"].(string)
		if desc != "" {
			desc += "\n\n"
		}
		op["description"] = desc + note
	}
}

// securityScheme describes authenticator a, named n, as OpenAPI does:
// API keys in the X-API-Key header (or as a bearer token), anything else
// as a bearer token.
func securityScheme(n string, a auth.Authenticator) map[string]any {
	if _, ok := a.(*auth.APIKeyAuth); ok {
		return map[string]any{"type": "apiKey", "in": "header", "name": "X-API-Key",
			"description": "The " + n + " API key, in X-API-Key or as Authorization: Bearer <key>."}
	}
	return map[string]any{"type": "http", "scheme": "bearer", "description": "A bearer token checked by the " + n + " authenticator."}
}

// describeIdempotency adds the idempotency key's header to op when the
// gateway takes one for its method.
func describeIdempotency(op map[string]any, method string, idem *gateway.Idempotency) {
	if idem == nil {
		return
	}
	methods := idem.Methods
	if len(methods) == 0 {
		methods = cache.DefaultIdempotencyMethods()
	}
	if !slices.ContainsFunc(methods, func(m string) bool { return strings.EqualFold(m, method) }) {
		return
	}
	name := cmp.Or(idem.Header, cache.DefaultIdempotencyHeader)
	params, _ := op["parameters"].([]any)
	op["parameters"] = append(params, map[string]any{
		"name": name, "in": "header", "required": idem.Required, "schema": map[string]any{"type": "string", "maxLength": 255},
		"description": "A unique key per operation: a retry with the same key gets the first answer again instead of repeating the operation.",
	})
}

// describeRateLimit adds the RateLimit headers to op's answers, and the
// 429 answer of a request over the limit.
func describeRateLimit(op map[string]any) {
	headers := map[string]any{
		"RateLimit-Policy": map[string]any{"description": "The limits that apply (IETF draft-ietf-httpapi-ratelimit-headers).", "schema": map[string]any{"type": "string"}},
		"RateLimit":        map[string]any{"description": "What is left of each limit, and when it resets.", "schema": map[string]any{"type": "string"}},
	}
	responses, _ := op["responses"].(map[string]any)
	if responses == nil {
		responses = map[string]any{}
		op["responses"] = responses
	}
	if _, ok := responses["429"]; !ok {
		responses["429"] = map[string]any{"description": "Too many requests: wait as Retry-After says."}
	}
	for _, v := range responses {
		r, ok := v.(map[string]any)
		if !ok {
			continue
		}
		h, _ := r["headers"].(map[string]any)
		if h == nil {
			h = map[string]any{}
		}
		for k, v := range headers {
			if _, ok := h[k]; !ok {
				h[k] = v
			}
		}
		r["headers"] = h
	}
}
