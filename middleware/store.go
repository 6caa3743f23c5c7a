package middleware

import "github.com/portico-dev/portico/middleware/internal/store"

// ErrStoreUnavailable is wrapped by the error of a store whose backend is
// known to be down and which has reported the outage itself, such as a
// Redis store whose circuit breaker is open: a call it skipped, or a probe
// that failed. The middleware then falls back (or fails closed) as for any
// store error, but does not log it: the store reports the outage once,
// not once per request.
var ErrStoreUnavailable = store.ErrUnavailable
