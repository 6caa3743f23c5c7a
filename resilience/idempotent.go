package resilience

import "context"

type idempotentKey struct{}

// WithIdempotent marks the requests made with ctx as idempotent, so that
// [Retry] and [Hedge] may send them again whatever their method. It is
// for protocols whose method says nothing about safety, such as gRPC,
// where every call is a POST and the caller knows which methods are safe
// to repeat.
func WithIdempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

func markedIdempotent(ctx context.Context) bool {
	v, _ := ctx.Value(idempotentKey{}).(bool)
	return v
}
