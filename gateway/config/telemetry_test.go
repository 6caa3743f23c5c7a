package config_test

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/config"
)

func TestTelemetrySectionDecodesIntoTelemetryConfig(t *testing.T) {
	const file = `
telemetry:
  endpoint: collector:4317
  protocol: grpc
  insecure: true
  headers: {x-api-key: "${COLLECTOR_KEY}"}
  sampling_ratio: 0.25
  service_name: edge
  resource: {deployment.environment: prod}
  propagators: [tracecontext, baggage, b3]
  timeout: 5s
`
	env := func(k string) (string, bool) {
		if k == "COLLECTOR_KEY" {
			return "s3cret", true
		}
		return "", false
	}
	c, err := config.Parse("gateway.yaml", []byte(file), env)
	if err != nil {
		t.Fatal(err)
	}
	cfg, ok, err := c.TelemetryConfig()
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatal("TelemetryConfig: no collector")
	}
	if got, want := cfg.Endpoint, "collector:4317"; got != want {
		t.Errorf("Endpoint = %q, want %q", got, want)
	}
	if got, want := cfg.Headers["x-api-key"], "s3cret"; got != want {
		t.Errorf("header = %q, want %q", got, want)
	}
	if cfg.SamplingRatio == nil {
		t.Fatal("SamplingRatio = nil, want 0.25")
	}
	if got, want := *cfg.SamplingRatio, 0.25; got != want {
		t.Errorf("SamplingRatio = %v, want %v", got, want)
	}
	if got, want := cfg.Resource["deployment.environment"], "prod"; got != want {
		t.Errorf("resource = %q, want %q", got, want)
	}
	if got, want := strings.Join(cfg.Propagators, ","), "tracecontext,baggage,b3"; got != want {
		t.Errorf("Propagators = %q, want %q", got, want)
	}
	if got, want := cfg.Timeout.String(), "5s"; got != want {
		t.Errorf("Timeout = %s, want %s", got, want)
	}
}

func TestTelemetrySectionErrorsNameTheFieldAndLine(t *testing.T) {
	const file = `
telemetry:
  endpoint: collector:4317
  sampling_ratio: 2
`
	c, err := config.Parse("gateway.yaml", []byte(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.TelemetryConfig()
	if err == nil {
		t.Fatal("a sampling ratio of 2 was accepted")
	}
	if got, want := err.Error(), "gateway.yaml:4: telemetry.sampling_ratio"; !strings.Contains(got, want) {
		t.Errorf("error %q does not contain %q", got, want)
	}
}
