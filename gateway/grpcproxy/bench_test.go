package grpcproxy_test

import (
	"context"
	"testing"

	"github.com/portico-dev/portico/internal/grpctest"
	"github.com/portico-dev/portico/internal/grpctest/testpb"
)

// BenchmarkEcho compares a unary call made directly with grpc-go to the
// same call through the proxy: the difference is the proxy's cost (one
// more loopback hop and the copy of the streams).
func BenchmarkEcho(b *testing.B) {
	s := grpctest.Start(b, grpctest.Options{})
	req := &testpb.EchoRequest{Message: "hello", Key: "bench"}
	for _, tc := range []struct {
		name string
		c    testpb.ShelfClient
	}{
		{"direct", testpb.NewShelfClient(s.Dial(b))},
		{"proxied", proxy(b, s, nil, nil)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tc.c.Echo(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
