package grpcproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/internal/grpcwire"
)

// ErrNotServing is returned by a [HealthProbe] whose instance answered
// with a status other than SERVING.
var ErrNotServing = errors.New("grpc health: not serving")

// HealthProbe returns a health check that calls grpc.health.v1.Health/Check
// for service ("" for the server as a whole) on the instance at target
// ("http://host:port" for h2c, "https://host:port" for TLS) through rt, and
// passes when the answer is SERVING. It has the shape of
// upstream.HealthCheck's Probe; rt must speak HTTP/2 (see
// [NewUpstreamTransport]).
func HealthProbe(service string) func(ctx context.Context, rt http.RoundTripper, target string) error {
	msg, _ := proto.Marshal(&healthpb.HealthCheckRequest{Service: service})
	return func(ctx context.Context, rt http.RoundTripper, target string) error {
		req, err := grpcwire.NewRequest(ctx, target, healthpb.Health_Check_FullMethodName, msg)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", "portico-health-check")
		s, err := grpcwire.Open(rt, req, 4<<10)
		if err != nil {
			return err
		}
		defer s.Close()
		raw, err := s.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("grpc health: no answer message")
			}
			return err
		}
		var resp healthpb.HealthCheckResponse
		if err := proto.Unmarshal(raw, &resp); err != nil {
			return fmt.Errorf("grpc health: %w", err)
		}
		// Read to the end, for the call's status.
		if _, err := s.Recv(); !errors.Is(err, io.EOF) {
			if err == nil {
				// A second message: not a unary Check answer.
				return errors.New("grpc health: several answer messages")
			}
			return err
		}
		if st := resp.GetStatus(); st != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("%w: %s", ErrNotServing, st)
		}
		return nil
	}
}
