package telemetry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	lognoop "go.opentelemetry.io/otel/log/noop"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Providers are the OpenTelemetry providers [Setup] built. Pass them to
// the gateway (gateway.WithTracerProvider, gateway.WithMeterProvider), to
// middleware and aiclient, or install them as the globals with
// [Providers.SetGlobal]. A signal that is off has a no-op provider.
// Providers is safe for concurrent use.
type Providers struct {
	// TracerProvider records spans and exports them in batches.
	TracerProvider trace.TracerProvider
	// MeterProvider exports metrics every MetricInterval and feeds the
	// extra readers given to [Setup] (such as a Prometheus exporter).
	MeterProvider metric.MeterProvider
	// LoggerProvider exports log records in batches (the calllog OTLP sink
	// writes through it).
	LoggerProvider log.LoggerProvider
	// Propagator reads and writes trace context on requests.
	Propagator propagation.TextMapPropagator

	flush    []func(context.Context) error
	shutdown []func(context.Context) error
}

// Option adds to what [Setup] builds.
type Option func(*options)

type options struct {
	readers []sdkmetric.Reader
}

// WithMetricReader adds a reader to the meter provider, such as the
// Prometheus exporter behind a /metrics endpoint. With one, the meter
// provider is built even when OTLP metrics are off.
func WithMetricReader(r sdkmetric.Reader) Option {
	return func(o *options) { o.readers = append(o.readers, r) }
}

// Setup builds the providers cfg describes. Exporters connect lazily: an
// unreachable collector does not fail Setup, it drops what it cannot send
// (and the SDK reports it to otel's error handler). Call
// [Providers.Shutdown] before the process exits to flush what is buffered.
func Setup(ctx context.Context, cfg Config, opts ...Option) (*Providers, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	res, err := newResource(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("portico/telemetry: resource: %w", err)
	}
	p := &Providers{
		TracerProvider: tracenoop.NewTracerProvider(),
		MeterProvider:  metricnoop.NewMeterProvider(),
		LoggerProvider: lognoop.NewLoggerProvider(),
		Propagator:     Propagator(cfg.Propagators...),
	}
	ex := exporters{cfg: cfg}
	if on(cfg.Traces) {
		if err := p.setupTraces(ctx, cfg, ex, res); err != nil {
			return nil, errors.Join(err, p.Shutdown(ctx))
		}
	}
	if err := p.setupMetrics(ctx, cfg, ex, res, o.readers); err != nil {
		return nil, errors.Join(err, p.Shutdown(ctx))
	}
	if on(cfg.Logs) {
		exp, err := ex.logs(ctx)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("portico/telemetry: logs exporter: %w", err), p.Shutdown(ctx))
		}
		lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
		p.LoggerProvider = lp
		p.flush = append(p.flush, lp.ForceFlush)
		p.shutdown = append(p.shutdown, lp.Shutdown)
	}
	return p, nil
}

func (p *Providers) setupTraces(ctx context.Context, cfg Config, ex exporters, res *resource.Resource) error {
	exp, err := ex.traces(ctx)
	if err != nil {
		return fmt.Errorf("portico/telemetry: traces exporter: %w", err)
	}
	topts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithBatcher(exp)}
	if r := cfg.SamplingRatio; r != nil {
		topts = append(topts, sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(*r))))
	}
	tp := sdktrace.NewTracerProvider(topts...)
	p.TracerProvider = tp
	p.flush = append(p.flush, tp.ForceFlush)
	p.shutdown = append(p.shutdown, tp.Shutdown)
	return nil
}

func (p *Providers) setupMetrics(ctx context.Context, cfg Config, ex exporters, res *resource.Resource, readers []sdkmetric.Reader) error {
	mopts := []sdkmetric.Option{sdkmetric.WithResource(res)}
	for _, r := range readers {
		mopts = append(mopts, sdkmetric.WithReader(r))
	}
	if on(cfg.Metrics) {
		exp, err := ex.metrics(ctx)
		if err != nil {
			return fmt.Errorf("portico/telemetry: metrics exporter: %w", err)
		}
		var ropts []sdkmetric.PeriodicReaderOption
		if cfg.MetricInterval > 0 {
			ropts = append(ropts, sdkmetric.WithInterval(cfg.MetricInterval))
		}
		mopts = append(mopts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, ropts...)))
	} else if len(readers) == 0 {
		return nil
	}
	mp := sdkmetric.NewMeterProvider(mopts...)
	p.MeterProvider = mp
	p.flush = append(p.flush, mp.ForceFlush)
	p.shutdown = append(p.shutdown, mp.Shutdown)
	return nil
}

func newResource(ctx context.Context, cfg Config) (*resource.Resource, error) {
	attrs := make([]attribute.KeyValue, 0, len(cfg.Resource)+1)
	if cfg.ServiceName != "" {
		attrs = append(attrs, attribute.String("service.name", cfg.ServiceName))
	}
	for k, v := range cfg.Resource {
		attrs = append(attrs, attribute.String(k, v))
	}
	def, err := resource.New(ctx, resource.WithAttributes(attribute.String("service.name", "portico")), resource.WithTelemetrySDK())
	if err != nil {
		return nil, err
	}
	// Later sources win: the defaults, then OTEL_RESOURCE_ATTRIBUTES and
	// OTEL_SERVICE_NAME, then the config.
	env, err := resource.New(ctx, resource.WithFromEnv())
	if err != nil {
		return nil, err
	}
	merged, err := resource.Merge(def, env)
	if err != nil {
		return nil, err
	}
	return resource.Merge(merged, resource.NewSchemaless(attrs...))
}

// SetGlobal installs the providers and the propagator as OpenTelemetry's
// globals, for code that reads otel.GetTracerProvider() and friends, the
// logger provider included (the config file's otlp call-log sink reads it).
func (p *Providers) SetGlobal() {
	otel.SetTracerProvider(p.TracerProvider)
	otel.SetMeterProvider(p.MeterProvider)
	otel.SetTextMapPropagator(p.Propagator)
	otel.SetLoggerProvider(p.LoggerProvider)
}

// ForceFlush exports everything buffered now.
func (p *Providers) ForceFlush(ctx context.Context) error {
	var errs []error
	for _, f := range p.flush {
		errs = append(errs, f(ctx))
	}
	return errors.Join(errs...)
}

// Shutdown flushes what is buffered and stops the exporters; ctx bounds
// the wait. Spans and records made after Shutdown are dropped. Calling it
// twice is harmless.
func (p *Providers) Shutdown(ctx context.Context) error {
	var errs []error
	for _, f := range p.shutdown {
		if err := f(ctx); err != nil && !strings.Contains(err.Error(), "already shutdown") {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// endpoint splits cfg.Endpoint into host:port, a base path and whether
// the transport is clear text. ok is false when no endpoint is set.
func endpoint(cfg Config) (host, path string, insecure, ok bool, err error) {
	e := cfg.Endpoint
	if e == "" {
		return "", "", cfg.Insecure, false, nil
	}
	if !strings.Contains(e, "://") {
		return e, "", cfg.Insecure, true, nil
	}
	u, err := url.Parse(e)
	if err != nil || u.Host == "" {
		return "", "", false, false, fmt.Errorf("portico/telemetry: endpoint %q: want host:port or a URL", e)
	}
	return u.Host, strings.TrimSuffix(u.Path, "/"), cfg.Insecure || u.Scheme == "http", true, nil
}

func timeout(cfg Config) time.Duration { return cmp.Or(cfg.Timeout, 10*time.Second) }
