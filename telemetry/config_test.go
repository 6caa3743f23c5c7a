package telemetry_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/telemetry"
)

func TestValidateNamesTheField(t *testing.T) {
	t.Parallel()
	bad := 1.5
	for _, tc := range []struct {
		name string
		cfg  telemetry.Config
		want string
	}{
		{"an unknown protocol", telemetry.Config{Protocol: "udp"}, "protocol"},
		{"a ratio above one", telemetry.Config{SamplingRatio: &bad}, "sampling_ratio"},
		{"an unknown propagator", telemetry.Config{Propagators: []string{"jaeger"}}, "propagators"},
		{"a negative timeout", telemetry.Config{Timeout: -time.Second}, "timeout"},
		{"a URL without a host", telemetry.Config{Endpoint: "http://"}, "endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := telemetry.Setup(context.Background(), tc.cfg)
			if err == nil {
				t.Fatal("Setup succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
		})
	}
}

func TestFromEnvReadsTheStandardVariables(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_SERVICE_NAME", "edge")
	t.Setenv("OTEL_PROPAGATORS", "b3, tracecontext")
	t.Setenv("OTEL_LOGS_EXPORTER", "none")
	cfg, ok := telemetry.FromEnv()
	if !ok {
		t.Fatal("FromEnv found no endpoint")
	}
	if got, want := cfg.Endpoint, "http://collector:4318"; got != want {
		t.Errorf("Endpoint = %q, want %q", got, want)
	}
	if got, want := cfg.Protocol, telemetry.ProtocolHTTP; got != want {
		t.Errorf("Protocol = %q, want %q", got, want)
	}
	if got, want := cfg.ServiceName, "edge"; got != want {
		t.Errorf("ServiceName = %q, want %q", got, want)
	}
	if got, want := strings.Join(cfg.Propagators, ","), "b3,tracecontext"; got != want {
		t.Errorf("Propagators = %q, want %q", got, want)
	}
	if cfg.Logs == nil {
		t.Error("Logs is unset with OTEL_LOGS_EXPORTER=none, want off")
	} else if *cfg.Logs {
		t.Error("Logs is on with OTEL_LOGS_EXPORTER=none, want off")
	}
	if cfg.Traces != nil {
		t.Error("Traces is set without OTEL_TRACES_EXPORTER")
	}
}

func TestFromEnvIsOffWhenTheSDKIsDisabled(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
	t.Setenv("OTEL_SDK_DISABLED", "true")
	if _, ok := telemetry.FromEnv(); ok {
		t.Error("FromEnv asks for export with OTEL_SDK_DISABLED=true")
	}
}

func TestB3ReachesTheUpstream(t *testing.T) {
	t.Parallel()
	r := &receiver{}
	p, err := telemetry.Setup(context.Background(), telemetry.Config{Endpoint: startGRPC(t, r), Insecure: true, Propagators: []string{"b3"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	url, seen := proxied(t, p, 0)
	if status, _ := get(t, url+"/items/1"); status != http.StatusOK {
		t.Fatalf("status = %d, want 200", status)
	}
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	headers := seen()
	if got, want := len(headers), 1; got != want {
		t.Fatalf("upstream calls = %d, want %d", got, want)
	}
	var traceID string
	for _, s := range r.Spans() {
		traceID = string(s.GetTraceId())
	}
	if got := headers[0]; !strings.HasPrefix(got, hexOf(traceID)+"-") {
		t.Errorf("b3 header = %q, want it to start with the trace ID %s", got, hexOf(traceID))
	}
}

func hexOf(b string) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for i := range len(b) {
		out = append(out, digits[b[i]>>4], digits[b[i]&15])
	}
	return string(out)
}
