package telemetry

import (
	"cmp"
	"context"
	"os"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// exporters builds the OTLP exporter of each signal for one Config. What
// the Config leaves unset, the exporters read from OTEL_EXPORTER_OTLP_*.
type exporters struct{ cfg Config }

func (e exporters) http() bool {
	p := cmp.Or(e.cfg.Protocol, os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL"), ProtocolGRPC)
	return p == ProtocolHTTP || p == "http"
}

// optionSet is one exporter package's option constructors; urlPath is
// nil for gRPC, whose endpoint is host:port alone.
type optionSet[O any] struct {
	timeout  func(time.Duration) O
	endpoint func(string) O
	urlPath  func(string) O
	insecure func() O
	headers  func(map[string]string) O
}

// exporterOptions turns the Config into one exporter package's options; signal
// is the HTTP path, such as "/v1/traces".
func exporterOptions[O any](cfg Config, s optionSet[O], signal string) ([]O, error) {
	host, path, insecure, ok, err := endpoint(cfg)
	if err != nil {
		return nil, err
	}
	opts := []O{s.timeout(timeout(cfg))}
	if ok {
		opts = append(opts, s.endpoint(host))
		if s.urlPath != nil {
			opts = append(opts, s.urlPath(path+signal))
		}
	}
	if insecure {
		opts = append(opts, s.insecure())
	}
	if len(cfg.Headers) > 0 {
		opts = append(opts, s.headers(cfg.Headers))
	}
	return opts, nil
}

func (e exporters) traces(ctx context.Context) (sdktrace.SpanExporter, error) {
	if e.http() {
		opts, err := exporterOptions(e.cfg, optionSet[otlptracehttp.Option]{otlptracehttp.WithTimeout, otlptracehttp.WithEndpoint,
			otlptracehttp.WithURLPath, otlptracehttp.WithInsecure, otlptracehttp.WithHeaders}, "/v1/traces")
		if err != nil {
			return nil, err
		}
		return otlptracehttp.New(ctx, opts...)
	}
	opts, err := exporterOptions(e.cfg, optionSet[otlptracegrpc.Option]{otlptracegrpc.WithTimeout, otlptracegrpc.WithEndpoint,
		nil, otlptracegrpc.WithInsecure, otlptracegrpc.WithHeaders}, "")
	if err != nil {
		return nil, err
	}
	return otlptracegrpc.New(ctx, opts...)
}

func (e exporters) metrics(ctx context.Context) (sdkmetric.Exporter, error) {
	if e.http() {
		opts, err := exporterOptions(e.cfg, optionSet[otlpmetrichttp.Option]{otlpmetrichttp.WithTimeout, otlpmetrichttp.WithEndpoint,
			otlpmetrichttp.WithURLPath, otlpmetrichttp.WithInsecure, otlpmetrichttp.WithHeaders}, "/v1/metrics")
		if err != nil {
			return nil, err
		}
		return otlpmetrichttp.New(ctx, opts...)
	}
	opts, err := exporterOptions(e.cfg, optionSet[otlpmetricgrpc.Option]{otlpmetricgrpc.WithTimeout, otlpmetricgrpc.WithEndpoint,
		nil, otlpmetricgrpc.WithInsecure, otlpmetricgrpc.WithHeaders}, "")
	if err != nil {
		return nil, err
	}
	return otlpmetricgrpc.New(ctx, opts...)
}

func (e exporters) logs(ctx context.Context) (sdklog.Exporter, error) {
	if e.http() {
		opts, err := exporterOptions(e.cfg, optionSet[otlploghttp.Option]{otlploghttp.WithTimeout, otlploghttp.WithEndpoint,
			otlploghttp.WithURLPath, otlploghttp.WithInsecure, otlploghttp.WithHeaders}, "/v1/logs")
		if err != nil {
			return nil, err
		}
		return otlploghttp.New(ctx, opts...)
	}
	opts, err := exporterOptions(e.cfg, optionSet[otlploggrpc.Option]{otlploggrpc.WithTimeout, otlploggrpc.WithEndpoint,
		nil, otlploggrpc.WithInsecure, otlploggrpc.WithHeaders}, "")
	if err != nil {
		return nil, err
	}
	return otlploggrpc.New(ctx, opts...)
}
