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

type streamingKey struct{}

// WithStreamingBody marks the requests made with ctx as having a body
// that streams both ways with the response, such as a gRPC client- or
// bidirectional-streaming call: [Retry] and [Hedge] never read it ahead
// to buffer it for a replay (which would wait for the client to end its
// stream while the client waits for an answer), so such a request is
// sent once.
func WithStreamingBody(ctx context.Context) context.Context {
	return context.WithValue(ctx, streamingKey{}, true)
}

func markedStreaming(ctx context.Context) bool {
	v, _ := ctx.Value(streamingKey{}).(bool)
	return v
}
