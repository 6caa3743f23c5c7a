// Package grpcjson serves JSON/HTTP clients from gRPC services: REST to
// gRPC translation as an [http.Handler], in the manner of Envoy's
// gRPC-JSON transcoder and grpc-gateway, with no generated code.
//
// # Describing the service
//
// A [Handler] reads the services from descriptors: a descriptor set file
// written by "protoc --descriptor_set_out=FILE --include_imports"
// ([LoadDescriptorSet]), or the server's own answer to the gRPC server
// reflection protocol ([Reflect]).
//
// # Mapping
//
// Each method's google.api.http annotation binds it to HTTP methods and
// path templates ([Template]); additional_bindings add more. The request
// message is built from
//
//   - the path variables: "/v1/{name=shelves/*/books/*}" sets name, and
//     "{book.name}" a nested field;
//   - the body: "*" for the whole message, or the one field named;
//   - the query parameters, for every field the path and body leave
//     (when the body is not "*"): "?page_size=10&genres=A&genres=B",
//     by proto or JSON name, enums by name or number, well-known types
//     as their JSON strings.
//
// A method without an annotation is served at POST /package.Service/Method
// with the whole message as a JSON body. JSON is read and written by
// protojson (see [Config] to change its options). A server-streaming
// method answers application/x-ndjson, one message per line, or
// text/event-stream when the client accepts it; a failure after the first
// message ends the stream with an {"error": problem} line or an "error"
// event. The upstream's header metadata comes back as Grpc-Metadata-<Key>
// headers, and the client's headers go upstream as metadata (but for
// those of HTTP itself). Client- and bidirectional-streaming methods are
// not translated.
//
// # Errors
//
// A bad request (an unknown field, a malformed value, an unbound path)
// is answered with an RFC 9457 problem naming the field. A gRPC status
// becomes a problem with the standard HTTP status of its code
// (NOT_FOUND 404, INVALID_ARGUMENT 400, UNAVAILABLE 503, ...), the
// status message as detail, and two members: "code", the code's name, and
// "details", the google.rpc.Status details as protojson writes an Any.
//
// # Documents
//
// [Handler.OpenAPI] describes the bindings as an OpenAPI 3.0 document:
// gateway/config publishes it in the API catalog of the admin listener.
//
// # Upstream
//
// Calls go through [Config].Transport, which must speak HTTP/2 to the
// service: a gateway/grpcproxy Transport, under the route's policies and
// pool, lets retries and breakers understand gRPC statuses.
//
// A [Handler] is safe for concurrent use.
package grpcjson
