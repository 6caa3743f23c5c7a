package grpcproxy_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/gateway/grpcproxy"
	"github.com/portico-dev/portico/internal/grpctest"
	"github.com/portico-dev/portico/internal/grpcwire"
)

func TestHealthProbeReadsGRPCHealth(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{false, true} {
		s := grpctest.Start(t, grpctest.Options{TLS: tls})
		rt := upstreamTransport(t, s)
		s.Health.SetServingStatus("portico.grpctest.v1.Shelf", healthpb.HealthCheckResponse_SERVING)
		s.Health.SetServingStatus("down", healthpb.HealthCheckResponse_NOT_SERVING)
		ctx := context.Background()

		if err := grpcproxy.HealthProbe("")(ctx, rt, s.URL); err != nil {
			t.Errorf("tls=%v, server: %v", tls, err)
		}
		if err := grpcproxy.HealthProbe("portico.grpctest.v1.Shelf")(ctx, rt, s.URL); err != nil {
			t.Errorf("tls=%v, serving service: %v", tls, err)
		}
		if err := grpcproxy.HealthProbe("down")(ctx, rt, s.URL); !errors.Is(err, grpcproxy.ErrNotServing) {
			t.Errorf("tls=%v, not serving service: got %v, want ErrNotServing", tls, err)
		}
		err := grpcproxy.HealthProbe("unknown")(ctx, rt, s.URL)
		if _, ok := errors.AsType[*grpcwire.StatusError](err); !ok {
			t.Errorf("tls=%v, unknown service: got %v, want a NOT_FOUND status", tls, err)
		}
		// Through the gRPC Transport, which rewrites statuses for policies,
		// the probe reads the same answer.
		through := &grpcproxy.Transport{Next: rt}
		if err := grpcproxy.HealthProbe("down")(ctx, through, s.URL); !errors.Is(err, grpcproxy.ErrNotServing) {
			t.Errorf("tls=%v, through Transport: got %v, want ErrNotServing", tls, err)
		}
		s.Stop()
		if err := grpcproxy.HealthProbe("")(ctx, rt, s.URL); err == nil {
			t.Errorf("tls=%v, stopped server: passed", tls)
		}
	}
}

func TestHealthProbeRefusesAnAnswerOfSeveralMessages(t *testing.T) {
	t.Parallel()
	msg, err := proto.Marshal(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", grpcwire.ContentType)
		w.Header().Set("Trailer", "Grpc-Status")
		_, _ = w.Write(grpcwire.Frame(msg))
		_, _ = w.Write(grpcwire.Frame(msg))
		w.Header().Set("Grpc-Status", "0")
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	defer srv.Close()
	rt := grpcproxy.NewUpstreamTransport(nil)
	defer rt.CloseIdleConnections()

	err = grpcproxy.HealthProbe("")(context.Background(), rt, srv.URL)
	if err == nil {
		t.Fatal("an answer of two messages passed the probe")
	}
	if got, want := err.Error(), "grpc health: several answer messages"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}
