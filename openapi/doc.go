// Package openapi makes an OpenAPI 3.0 or 3.1 document the contract a
// gateway or a service enforces: it validates requests and responses,
// serves the document and its documentation, and exposes the operations so
// routes and per-operation policies can be built from them.
//
// A [Spec] is loaded once ([LoadFile], [LoadFS] for embedded specs, [Parse]
// for bytes). Loading follows local $refs across files and copies what
// other files hold into the document's components, so the document served
// ([Spec.JSON], [Docs]) stands alone; it checks the document, indexes its
// operations in a tree of path segments and compiles every schema once.
// Schemas are compiled from the document as written, so every keyword
// value keeps its exact JSON form: a maximum of 9007199254740993 stays
// that number in the validator, in error messages and in the served
// document, and "const: null" or "enum: []" keep their meaning. OpenAPI
// 3.0 schemas are first rewritten to their JSON Schema 2020-12 meaning
// (nullable, boolean exclusive bounds), so both versions run on the same
// compiled code at the same speed: schemas that use only the common
// keywords (types, enum, const, properties, required,
// additionalProperties, items, lengths, bounds, pattern, format, $ref) run
// on a small allocation-free walker, the others on a full JSON Schema
// 2020-12 engine, and both report identical violations. Problems in the
// document are reported at load time with their location ([LoadError]),
// never at the first request.
//
// # OpenAPI 3.0 and 3.1
//
// Each document is read by the rules of its own version. In 3.1, a schema
// is JSON Schema 2020-12: keywords beside a $ref apply, $id, $anchor and
// $dynamicRef references resolve (URNs included, and pointers into a
// schema's $defs), keywords JSON Schema does not know are annotations, and
// a default is an annotation that need not match its schema. In 3.0, the
// siblings of a $ref are ignored, nullable admits null only beside a type
// in the same schema (an enum must still list null), and a default that
// breaks its schema is refused at load, as the 3.0.3 text says;
// [WithLooseNullable] lets nullable admit null wherever it is written, as
// many 3.0 documents expect.
//
// A discriminator never changes whether a value is valid: oneOf and anyOf
// decide, as OpenAPI 3.0.4 and 3.1.1 require. When a value matches none
// of the alternatives, the discriminator says which one it meant, and the
// violations are those of that alternative; a value that names no
// alternative is reported as such. Without a mapping, names are the
// component names; for schemas in other files, give the mapping
// explicitly.
//
// # Validating requests
//
// A [Validator] checks each request against the operation it matches: path,
// query, header and cookie parameters in every serialization style
// (simple, label, matrix, form, spaceDelimited, pipeDelimited, deepObject,
// or JSON content; a query parameter sent empty, "?name=", passes only with
// allowEmptyValue), the body by content type (JSON, URL-encoded and
// multipart forms, text), required bodies, readOnly properties, and the
// operation's security requirements when [WithSecurity] gives it the
// caller's [Identity] (a 401 carries the WWW-Authenticate challenges of the
// operation's schemes). A failing request gets an RFC 9457 problem document
// without reaching the handler: 400 with one [Violation] per problem in its
// "errors" member, or 401, 403, 404, 405, 413 or 415:
//
//	{"type":"about:blank","title":"Bad Request","status":400,
//	 "detail":"the request does not match the API contract",
//	 "errors":[{"in":"query","name":"limit","message":"must be <= 100","keyword":"maximum"},
//	           {"in":"body","pointer":"/name","message":"is required","keyword":"required"}]}
//
// The body is read once, up to [WithBodyLimit], and put back with GetBody
// set, so the handler reads the same bytes and a retrying
// transport downstream resends them identically. A body with nothing to
// check inside (an upload in a binary media type, or media without a
// schema) is not read at all: it streams through, whatever its size.
//
// [Validator.Middleware] finds the operation itself; [Validator.For]
// returns the middleware of one operation, for a router that already has
// one route per operation ([Spec.Operations]).
//
// # Validating responses
//
// With [WithResponses], responses are checked too: status, Content-Type,
// documented headers and body, where writeOnly properties must not appear. [ResponsesEnforce]
// turns a response that breaks the contract into a 502 problem (for tests
// and staging); [ResponsesReport] forwards it unchanged, logs it and counts
// it in the portico.openapi.response.violations counter. Event streams,
// responses whose handler flushes, and bodies over [WithResponseLimit] are
// never held back: they pass through unchecked. Flush, Hijack and
// http.ResponseController keep working through the validator.
//
// # Docs
//
// [Docs] serves the document as JSON and YAML and an interactive page
// rendered by Redoc, whose script and licence are embedded in this module,
// so the page works with no network access. [Catalog] lists several APIs,
// each linking its documentation page.
//
// # Building routes from a spec
//
// Each [Operation] carries its method, path template (OpenAPI's "{name}"
// form, which chi accepts), operationId, servers, security requirements
// and its "x-" extensions as raw JSON, so a gateway can decode
// x-portico-ratelimit and friends into its own policy types
// ([Operation.Extension]). An x-portico-* extension written on the document
// or on a path item is inherited by the operations below it, so a default
// policy is written once.
//
// # Concurrency
//
// [Spec], [Validator] and [Docs] are immutable once built and safe for
// concurrent use.
package openapi
