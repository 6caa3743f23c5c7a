package telemetry

import (
	"cmp"
	"context"
	"os"

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

func (e exporters) traces(ctx context.Context) (sdktrace.SpanExporter, error) {
	host, path, insecure, ok, err := endpoint(e.cfg)
	if err != nil {
		return nil, err
	}
	if e.http() {
		opts := []otlptracehttp.Option{otlptracehttp.WithTimeout(timeout(e.cfg))}
		if ok {
			opts = append(opts, otlptracehttp.WithEndpoint(host), otlptracehttp.WithURLPath(path+"/v1/traces"))
		}
		if insecure {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		if len(e.cfg.Headers) > 0 {
			opts = append(opts, otlptracehttp.WithHeaders(e.cfg.Headers))
		}
		return otlptracehttp.New(ctx, opts...)
	}
	opts := []otlptracegrpc.Option{otlptracegrpc.WithTimeout(timeout(e.cfg))}
	if ok {
		opts = append(opts, otlptracegrpc.WithEndpoint(host))
	}
	if insecure {
		opts = append(opts, otlptracegrpc.WithInsecure())
	}
	if len(e.cfg.Headers) > 0 {
		opts = append(opts, otlptracegrpc.WithHeaders(e.cfg.Headers))
	}
	return otlptracegrpc.New(ctx, opts...)
}

func (e exporters) metrics(ctx context.Context) (sdkmetric.Exporter, error) {
	host, path, insecure, ok, err := endpoint(e.cfg)
	if err != nil {
		return nil, err
	}
	if e.http() {
		opts := []otlpmetrichttp.Option{otlpmetrichttp.WithTimeout(timeout(e.cfg))}
		if ok {
			opts = append(opts, otlpmetrichttp.WithEndpoint(host), otlpmetrichttp.WithURLPath(path+"/v1/metrics"))
		}
		if insecure {
			opts = append(opts, otlpmetrichttp.WithInsecure())
		}
		if len(e.cfg.Headers) > 0 {
			opts = append(opts, otlpmetrichttp.WithHeaders(e.cfg.Headers))
		}
		return otlpmetrichttp.New(ctx, opts...)
	}
	opts := []otlpmetricgrpc.Option{otlpmetricgrpc.WithTimeout(timeout(e.cfg))}
	if ok {
		opts = append(opts, otlpmetricgrpc.WithEndpoint(host))
	}
	if insecure {
		opts = append(opts, otlpmetricgrpc.WithInsecure())
	}
	if len(e.cfg.Headers) > 0 {
		opts = append(opts, otlpmetricgrpc.WithHeaders(e.cfg.Headers))
	}
	return otlpmetricgrpc.New(ctx, opts...)
}

func (e exporters) logs(ctx context.Context) (sdklog.Exporter, error) {
	host, path, insecure, ok, err := endpoint(e.cfg)
	if err != nil {
		return nil, err
	}
	if e.http() {
		opts := []otlploghttp.Option{otlploghttp.WithTimeout(timeout(e.cfg))}
		if ok {
			opts = append(opts, otlploghttp.WithEndpoint(host), otlploghttp.WithURLPath(path+"/v1/logs"))
		}
		if insecure {
			opts = append(opts, otlploghttp.WithInsecure())
		}
		if len(e.cfg.Headers) > 0 {
			opts = append(opts, otlploghttp.WithHeaders(e.cfg.Headers))
		}
		return otlploghttp.New(ctx, opts...)
	}
	opts := []otlploggrpc.Option{otlploggrpc.WithTimeout(timeout(e.cfg))}
	if ok {
		opts = append(opts, otlploggrpc.WithEndpoint(host))
	}
	if insecure {
		opts = append(opts, otlploggrpc.WithInsecure())
	}
	if len(e.cfg.Headers) > 0 {
		opts = append(opts, otlploggrpc.WithHeaders(e.cfg.Headers))
	}
	return otlploggrpc.New(ctx, opts...)
}
