// Package openapi makes an OpenAPI 3.0 or 3.1 document the contract a
// gateway or a service enforces: it validates requests and responses,
// serves the document and its documentation, and exposes the operations so
// routes and per-operation policies can be built from them.
//
// A [Spec] is loaded once ([LoadFile], [LoadFS] for embedded specs, [Parse]
// for bytes). Loading follows local $refs across files, checks the
// document, indexes its operations in a tree of path segments and compiles
// every schema once. OpenAPI 3.0 schemas are first rewritten to their JSON
// Schema 2020-12 meaning (nullable, boolean exclusive bounds), so both
// versions run on the same compiled code at the same speed: schemas that
// use only the common keywords (types, enum, const, properties, required,
// additionalProperties, items, lengths, bounds, pattern, format, $ref) run
// on a small allocation-free walker, the others on a full JSON Schema
// 2020-12 engine, and both report identical violations. Problems in the
// document are reported at load time with their location ([LoadError]),
// never at the first request.
//
// A discriminator next to oneOf or anyOf dispatches on its property: the
// value is checked against the one schema it names, and an unknown name is
// reported as such. Without a mapping, names are the component names; for
// schemas in other files, give the mapping explicitly.
//
// # Validating requests
//
// A [Validator] checks each request against the operation it matches: path,
// query, header and cookie parameters in every serialization style
// (simple, label, matrix, form, spaceDelimited, pipeDelimited, deepObject,
// or JSON content), the body by content type (JSON, URL-encoded and
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
