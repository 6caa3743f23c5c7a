package grpcjson

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// templateVar matches a path template's variable, "{name=shelves/*}" or
// "{book.name}".
var templateVar = regexp.MustCompile(`\{([^}=]+)(=[^}]*)?\}`)

// OpenAPI describes the bindings the handler serves as an OpenAPI 3.0
// document (JSON) titled title, with every path under prefix (the
// route's prefix, such as "/library"): one operation per binding, its
// path parameters, query parameters for the fields neither the path nor
// the body sets (on methods without a body), the request body and the
// response as schemas generated from the messages (as protojson writes
// them: lowerCamel names, 64-bit integers and enums as strings,
// well-known types as their JSON forms), server streams as
// application/x-ndjson and text/event-stream, and errors as RFC 9457
// problems with the gRPC code's name.
func (h *Handler) OpenAPI(title, prefix string) ([]byte, error) {
	g := &schemaGen{schemas: map[string]any{}}
	paths := map[string]map[string]any{}
	ids := map[string]int{} // bindings per method, for unique operation IDs
	for _, b := range h.bindings {
		path := prefix + templateVar.ReplaceAllString(b.Path, "{$1}")
		op := map[string]any{
			"operationId": operationID(b.RPC, ids),
			"summary":     b.RPC,
			"tags":        []string{string(b.md.Parent().FullName())},
		}
		var params []any
		for _, v := range templateVar.FindAllStringSubmatch(b.Path, -1) {
			params = append(params, map[string]any{"name": v[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		in := b.md.Input()
		switch {
		case b.Body == "*":
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": g.message(in)}}}
		case b.body != nil:
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": g.field(b.body)}}}
		}
		if b.Body != "*" {
			for i := range in.Fields().Len() {
				fd := in.Fields().Get(i)
				if b.bound[string(fd.Name())] || b.body == fd || fd.Kind() == protoreflect.MessageKind && !isWellKnown(fd.Message()) || fd.IsMap() {
					continue
				}
				params = append(params, map[string]any{"name": fd.JSONName(), "in": "query", "schema": g.field(fd)})
			}
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		out := g.message(b.md.Output())
		if b.respBody != nil {
			out = g.field(b.respBody)
		}
		content := map[string]any{"application/json": map[string]any{"schema": out}}
		if b.ServerStreaming {
			content = map[string]any{
				"application/x-ndjson": map[string]any{"schema": out},
				"text/event-stream":    map[string]any{"schema": map[string]any{"type": "string"}},
			}
		}
		op["responses"] = map[string]any{
			"200":     map[string]any{"description": "the method's answer", "content": content},
			"default": map[string]any{"description": "a gRPC status or a gateway error, as an RFC 9457 problem", "content": map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}},
		}
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(b.Method)] = op
	}
	g.schemas["Problem"] = map[string]any{"type": "object", "properties": map[string]any{
		"type": map[string]any{"type": "string"}, "title": map[string]any{"type": "string"},
		"status": map[string]any{"type": "integer"}, "detail": map[string]any{"type": "string"},
		"code":    map[string]any{"type": "string", "description": "the gRPC status code's name, such as NOT_FOUND"},
		"details": map[string]any{"type": "array", "items": map[string]any{"type": "object"}, "description": "the google.rpc.Status details"},
	}}
	return json.Marshal(map[string]any{
		"openapi":    "3.0.3",
		"info":       map[string]any{"title": title, "version": "grpc"},
		"paths":      paths,
		"components": map[string]any{"schemas": g.schemas},
	})
}

// operationID is the method's name, "package.Service.Method", with a
// number after it for its additional bindings.
func operationID(rpc string, ids map[string]int) string {
	id := strings.ReplaceAll(strings.TrimPrefix(rpc, "/"), "/", ".")
	ids[rpc]++
	if n := ids[rpc]; n > 1 {
		id += "." + strconv.Itoa(n)
	}
	return id
}

// schemaGen generates JSON schemas for messages, once each, in
// components/schemas.
type schemaGen struct{ schemas map[string]any }

func (g *schemaGen) message(md protoreflect.MessageDescriptor) any {
	if s, ok := wellKnown(md); ok {
		return s
	}
	name := string(md.FullName())
	if _, done := g.schemas[name]; !done {
		g.schemas[name] = nil // breaks recursion
		props := map[string]any{}
		for i := range md.Fields().Len() {
			fd := md.Fields().Get(i)
			props[fd.JSONName()] = g.field(fd)
		}
		g.schemas[name] = map[string]any{"type": "object", "properties": props}
	}
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

func (g *schemaGen) field(fd protoreflect.FieldDescriptor) any {
	if fd.IsMap() {
		return map[string]any{"type": "object", "additionalProperties": g.single(fd.MapValue())}
	}
	s := g.single(fd)
	if fd.IsList() {
		return map[string]any{"type": "array", "items": s}
	}
	return s
}

func (g *schemaGen) single(fd protoreflect.FieldDescriptor) any {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return map[string]any{"type": "boolean"}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return map[string]any{"type": "integer", "format": "int32"}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return map[string]any{"type": "string", "format": "int64"}
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return map[string]any{"type": "number"}
	case protoreflect.BytesKind:
		return map[string]any{"type": "string", "format": "byte"}
	case protoreflect.EnumKind:
		var names []string
		for i := range fd.Enum().Values().Len() {
			names = append(names, string(fd.Enum().Values().Get(i).Name()))
		}
		return map[string]any{"type": "string", "enum": names}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return g.message(fd.Message())
	}
	return map[string]any{"type": "string"}
}

// wellKnownJSON are the JSON forms of the well-known types.
var wellKnownJSON = map[string]map[string]any{
	"google.protobuf.Timestamp":   {"type": "string", "format": "date-time"},
	"google.protobuf.Duration":    {"type": "string", "example": "1.5s"},
	"google.protobuf.FieldMask":   {"type": "string"},
	"google.protobuf.Struct":      {"type": "object"},
	"google.protobuf.Value":       {},
	"google.protobuf.ListValue":   {"type": "array", "items": map[string]any{}},
	"google.protobuf.Any":         {"type": "object"},
	"google.protobuf.Empty":       {"type": "object"},
	"google.protobuf.StringValue": {"type": "string"},
	"google.protobuf.BytesValue":  {"type": "string", "format": "byte"},
	"google.protobuf.BoolValue":   {"type": "boolean"},
	"google.protobuf.Int32Value":  {"type": "integer", "format": "int32"},
	"google.protobuf.UInt32Value": {"type": "integer", "format": "int32"},
	"google.protobuf.Int64Value":  {"type": "string", "format": "int64"},
	"google.protobuf.UInt64Value": {"type": "string", "format": "int64"},
	"google.protobuf.FloatValue":  {"type": "number"},
	"google.protobuf.DoubleValue": {"type": "number"},
}

func wellKnown(md protoreflect.MessageDescriptor) (map[string]any, bool) {
	s, ok := wellKnownJSON[string(md.FullName())]
	return s, ok
}

func isWellKnown(md protoreflect.MessageDescriptor) bool {
	_, ok := wellKnown(md)
	return ok
}
