package telemetry

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Protocols a [Config] may name.
const (
	// ProtocolGRPC exports over OTLP/gRPC (port 4317 by convention).
	ProtocolGRPC = "grpc"
	// ProtocolHTTP exports over OTLP/HTTP with protobuf bodies (port 4318).
	ProtocolHTTP = "http/protobuf"
)

// Config says where and how telemetry leaves the process. The zero value
// exports nothing unless the standard OTEL_* environment variables ask
// for it (see [FromEnv]); every field set here wins over the environment.
type Config struct {
	// Endpoint is the collector's address: "host:port" for gRPC, or a
	// base URL ("http://collector:4318") for HTTP, to which the signal
	// paths (/v1/traces, /v1/metrics, /v1/logs) are added. If empty,
	// OTEL_EXPORTER_OTLP_ENDPOINT (and the per-signal variables) apply,
	// and when nothing names an endpoint no exporter is started.
	Endpoint string `yaml:"endpoint"`
	// Protocol is ProtocolGRPC or ProtocolHTTP. By default,
	// OTEL_EXPORTER_OTLP_PROTOCOL, else ProtocolGRPC.
	Protocol string `yaml:"protocol"`
	// Insecure sends in clear text (no TLS). An http:// endpoint is
	// always clear text.
	Insecure bool `yaml:"insecure"`
	// Headers are sent with every export, such as an API key of a hosted
	// collector. They add to OTEL_EXPORTER_OTLP_HEADERS.
	Headers map[string]string `yaml:"headers"`
	// Timeout bounds one export. By default, 10 s.
	Timeout time.Duration `yaml:"timeout"`
	// SamplingRatio is the share of new traces recorded, from 0 to 1, as
	// a parent-based ratio sampler (a request whose caller sampled its
	// trace is always recorded). If nil, OTEL_TRACES_SAMPLER and
	// OTEL_TRACES_SAMPLER_ARG apply, else every trace is recorded.
	SamplingRatio *float64 `yaml:"sampling_ratio"`
	// ServiceName is the service.name resource attribute. By default,
	// OTEL_SERVICE_NAME, else "portico".
	ServiceName string `yaml:"service_name"`
	// Resource holds further resource attributes (deployment.environment,
	// service.version, …). They add to OTEL_RESOURCE_ATTRIBUTES and win
	// over it.
	Resource map[string]string `yaml:"resource"`
	// Propagators lists the context formats read from and written to
	// requests: "tracecontext", "baggage", "b3" (single header), "b3multi".
	// By default, OTEL_PROPAGATORS, else tracecontext and baggage.
	Propagators []string `yaml:"propagators"`
	// Traces, Metrics and Logs turn each signal off when false is set
	// explicitly; by default each is on (OTEL_TRACES_EXPORTER,
	// OTEL_METRICS_EXPORTER and OTEL_LOGS_EXPORTER set to "none" turn it off).
	Traces  *bool `yaml:"traces"`
	Metrics *bool `yaml:"metrics"`
	Logs    *bool `yaml:"logs"`
	// MetricInterval is the period of metric exports. By default,
	// OTEL_METRIC_EXPORT_INTERVAL, else 60 s.
	MetricInterval time.Duration `yaml:"metric_interval"`
}

// FromEnv returns the Config the standard OTEL_* environment variables
// describe: OTEL_SDK_DISABLED, OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_INSECURE,
// OTEL_SERVICE_NAME, OTEL_PROPAGATORS, OTEL_TRACES_SAMPLER(_ARG) and
// OTEL_{TRACES,METRICS,LOGS}_EXPORTER=none. Headers, timeouts and
// resource attributes from the environment are read by the exporters and
// the SDK themselves. The second result is false when the environment
// asks for no export at all.
func FromEnv() (Config, bool) {
	if b, _ := strconv.ParseBool(os.Getenv("OTEL_SDK_DISABLED")); b {
		return Config{}, false
	}
	c := Config{
		Endpoint:    os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"),
		Protocol:    os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL"),
		ServiceName: os.Getenv("OTEL_SERVICE_NAME"),
	}
	c.Insecure, _ = strconv.ParseBool(os.Getenv("OTEL_EXPORTER_OTLP_INSECURE"))
	if p := os.Getenv("OTEL_PROPAGATORS"); p != "" {
		c.Propagators = splitList(p)
	}
	for env, field := range map[string]**bool{"OTEL_TRACES_EXPORTER": &c.Traces, "OTEL_METRICS_EXPORTER": &c.Metrics, "OTEL_LOGS_EXPORTER": &c.Logs} {
		if strings.EqualFold(strings.TrimSpace(os.Getenv(env)), "none") {
			off := false
			*field = &off
		}
	}
	any := c.Endpoint != ""
	for _, s := range []string{"TRACES", "METRICS", "LOGS"} {
		any = any || os.Getenv("OTEL_EXPORTER_OTLP_"+s+"_ENDPOINT") != ""
	}
	return c, any
}

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// FieldError is a Config field that cannot work: Field is its name as a
// config file spells it ("sampling_ratio"), Msg what is wrong.
type FieldError struct {
	Field, Msg string
}

// Error formats the error as "telemetry: field: msg".
func (e *FieldError) Error() string { return "portico/telemetry: " + e.Field + ": " + e.Msg }

// Validate reports every field that cannot work, each as a [*FieldError].
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	switch c.Protocol {
	case "", ProtocolGRPC, ProtocolHTTP, "http":
	default:
		bad("protocol", "%q: want %q or %q", c.Protocol, ProtocolGRPC, ProtocolHTTP)
	}
	if r := c.SamplingRatio; r != nil && (*r < 0 || *r > 1) {
		bad("sampling_ratio", "%v: want a value from 0 to 1", *r)
	}
	if c.Timeout < 0 {
		bad("timeout", "%v: want a positive duration", c.Timeout)
	}
	if c.MetricInterval < 0 {
		bad("metric_interval", "%v: want a positive duration", c.MetricInterval)
	}
	for _, p := range c.Propagators {
		if _, ok := propagatorNames[p]; !ok {
			bad("propagators", "unknown %q: want tracecontext, baggage, b3, b3multi or none", p)
		}
	}
	if _, _, _, _, err := endpoint(c); err != nil {
		bad("endpoint", "%q: want host:port or a URL", c.Endpoint)
	}
	return errors.Join(errs...)
}

func on(b *bool) bool { return b == nil || *b }
