// Package auth identifies and authorizes the caller of an HTTP request:
// middleware that verify a credential, store the verified
// [middleware.Consumer] in the request context and check what it may do.
// Like every Portico middleware, each constructor returns a plain
// func(http.Handler) http.Handler.
//
// # Authenticators
//
// [New] runs the [Authenticator]s of its [Config] in order, the first to
// recognize a credential deciding: API keys ([NewAPIKeyAuth], over an
// [APIKeyStore] such as [MemoryAPIKeys], keys stored as [HashAPIKey]
// digests), JWTs ([NewJWTAuth], with keys from a [JWKS] endpoint), opaque
// tokens through OAuth 2.0 introspection ([NewIntrospectionAuth]) and
// client certificates ([NewClientCertAuth], with [MutualTLSConfig] for the
// server). [Authenticators] chains several where one is expected, and
// [AuthenticatorFunc] turns a function into one. A request without a
// credential is answered 401 with the challenges of every
// [Challenger], unless [Config].Anonymous lets it pass unidentified.
//
// The verified consumer is stored with [middleware.WithConsumer] and read
// with [middleware.ConsumerFrom]; rate limits, quotas, caches and call
// logs key on it.
//
// # Credentials never travel upstream
//
// An authenticator that is a [CredentialLocator] tells where it found its
// credential ([CredentialSource]). A proxy removes that credential from
// its outbound request with [StripCredential], or [Config].StripCredential
// removes it from the request the next handler sees, so upstreams never
// get a secret only the proxy needed.
//
// # Authorization and identity headers
//
// [Authorize] checks scopes and roles ([AuthzConfig]) and answers 403.
// [IdentityHeaders] removes identity headers a client could forge and sets
// them only from the verified consumer. The order to start from:
//
//	auth.New ─► auth.Authorize ─► auth.IdentityHeaders ─► handler
//
// # Errors
//
// Authenticators return [ErrNoCredentials] when the request carries none
// of theirs, [ErrInvalidCredentials] when it carries a bad one and
// [ErrUnavailable] when they could not decide (a key server down); the
// middleware answers 401, 401 and 503 problem documents.
//
// # Concurrency
//
// The middleware, authenticators, [JWKS] and [MemoryAPIKeys] are safe for
// concurrent use.
package auth
