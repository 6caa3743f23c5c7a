package grpcjson_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/portico-dev/portico/gateway/grpcjson"
	"github.com/portico-dev/portico/internal/grpctest"
	"github.com/portico-dev/portico/internal/grpctest/testpb"
)

// BenchmarkEcho compares one unary call made directly with grpc-go to the
// same call made as JSON through the translation: the difference is the
// translation's overhead (JSON decoding and encoding, message building,
// one more loopback hop).
func BenchmarkEcho(b *testing.B) {
	s := grpctest.Start(b, grpctest.Options{})
	b.Run("direct", func(b *testing.B) {
		c := testpb.NewShelfClient(s.Dial(b))
		req := &testpb.EchoRequest{Message: "hello", Key: "bench"}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Echo(context.Background(), req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("translated", func(b *testing.B) {
		base := translateTo(b, s, grpcjson.Config{})
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
		defer client.CloseIdleConnections()
		body := []byte(`{"message":"hello","key":"bench"}`)
		b.ReportAllocs()
		for b.Loop() {
			resp, err := client.Post(base+"/portico.grpctest.v1.Shelf/Echo", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	b.Run("translated-annotated", func(b *testing.B) {
		base := translateTo(b, s, grpcjson.Config{})
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
		defer client.CloseIdleConnections()
		b.ReportAllocs()
		for b.Loop() {
			resp, err := client.Get(base + "/v1/shelves/s1/books/b2?view=full")
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}
