// Package config is the layer above the gateway core: it reads a YAML or
// JSON configuration into a [File], turns the file into builder calls of
// package gateway, and provides the parts that link heavy dependencies,
// which the core does not: upstream pools from a file, the Redis store,
// JWT issuers and other authenticators, APIs from OpenAPI documents
// (kin-openapi), the AI endpoints and their provider adapters (package
// gateway/ai, the aiclient adapters), the platform (package
// gateway/platform, bbolt) and its call log, Prometheus metrics, and the
// [Reloader] that rebuilds the gateway when the file changes.
//
//	examples ─► gateway/config ─► gateway (core) ─► middleware, resilience, gateway/upstream
//
// # From a file to a gateway
//
// [Parse], [Read] and [LoadGateway] read a file; [File.Build] (or [File.Options]
// and gateway.New) builds it. The file decodes into the very types the
// builder takes: a route is a gateway.Route, its policy a gateway.Policy,
// a pool's health check an upstream.HealthCheck (each embedded in a [Route]
// and a [HealthCheck], which add gRPC: protocol: grpc, translate,
// idempotent_methods and grpc_service; see [Route]). Unknown fields are
// errors; every error is a gateway.FieldError naming the field path
// ("routes[2].policy.timeout") and its line; ${VAR} and ${VAR:-default}
// take values from the environment.
//
//	f, err := config.Read("gateway.yaml")
//	...
//	g, err := f.Build(gateway.WithLogger(logger))
//
// # Parts and names
//
// Each section that needs more than the core becomes a gateway.Part,
// which the builder prepares before compiling the routes and mounts after:
// the consumers and auth_methods sections ([WithConsumers],
// [WithAuthMethods]) become authenticators by name ("api_key", each
// method's name, [PlatformAuth]); the platform section ([WithPlatform])
// registers the platform's authenticator, its call-log middleware
// ([CallLogMiddleware]) and the guard of policy.subscription, and mounts
// the consumer portal and /platform/ on the admin listener; the ai section
// ([WithAI]) mounts the AI endpoints and prompt APIs in the route table;
// the apis section ([WithAPI]) compiles a route per operation and
// publishes the documents at /apis/ ([PromptAPI] names the prompt APIs'
// document). Routes refer to these parts by name, and a name that nothing
// defines is a build error listing the known ones. The same functions
// serve builder users, who need no file.
//
// # State
//
// What a part makes that must outlive a reload (pools with their health,
// the Redis client and its breaker, JWKS keys, the platform file, the call
// log, the AI counters) is borrowed from the build's gateway.State under
// its settings (gateway.Builder.Keep): a reload with unchanged settings
// keeps it. A [Reloader] owns the state and hands it to every load; see
// "What a reload keeps" in package gateway.
//
// # Concurrency
//
// A [Reloader] and [Metrics] are safe for concurrent use. A [File] is
// read-only once parsed, and may be built several times.
package config
