package gateway

import (
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/portico-dev/portico/internal/attrset"
)

// upstreamTelemetry instruments the upstream attempts. An attempt that
// belongs to a recorded trace (or starts one, with a tracer provider
// given to the gateway) goes through otelhttp, for its client span. The
// others, every attempt when tracing is off or the trace unsampled, only
// record the same http.client.* metrics, with attribute sets computed
// once per kind of attempt, and carry the trace context and baggage to
// the upstream when there are any: no span, no copy of the request.
type upstreamTelemetry struct {
	next, traced http.RoundTripper
	rootSpans    bool
	prop         propagation.TextMapPropagator
	duration     metric.Float64Histogram
	bodySize     metric.Int64Histogram
	sets         attrset.Cache[attemptKind]
}

// attemptKind is what an attempt's metric attributes are made of.
type attemptKind struct {
	method, host, scheme, proto, errType string
	status                               int
}

// clientTelemetry records a client span and the http.client.* metrics
// for every attempt, with the upstream's name as server.address, and
// propagates the trace to the upstream (by default, W3C Trace Context and
// Baggage; see [WithPropagator]).
func clientTelemetry(next http.RoundTripper, c config) http.RoundTripper {
	prop := c.propagator
	if prop == nil {
		prop = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	opts := []otelhttp.Option{
		otelhttp.WithPropagators(prop),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Host }),
	}
	mp := c.meter
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	opts = append(opts, otelhttp.WithMeterProvider(mp))
	if c.tracer != nil {
		opts = append(opts, otelhttp.WithTracerProvider(c.tracer))
	}
	t := &upstreamTelemetry{next: next, traced: otelhttp.NewTransport(next, opts...), rootSpans: c.tracer != nil,
		prop: prop}
	// The instruments otelhttp records, by the same names, units and
	// buckets, so both paths feed the same series.
	m := mp.Meter(otelhttp.ScopeName, metric.WithInstrumentationVersion(otelhttp.Version))
	var err error
	if t.duration, err = m.Float64Histogram("http.client.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP client requests."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)); err != nil {
		otel.Handle(err)
	}
	if t.bodySize, err = m.Int64Histogram("http.client.request.body.size", metric.WithUnit("By"),
		metric.WithDescription("Size of HTTP client request bodies.")); err != nil {
		otel.Handle(err)
	}
	return t
}

// RoundTrip sends r through otelhttp when its trace is recorded, else
// records the attempt's metrics itself.
func (t *upstreamTelemetry) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	span := trace.SpanFromContext(ctx)
	sc := span.SpanContext()
	if span.IsRecording() || (t.rootSpans && !sc.IsValid()) {
		return t.traced.RoundTrip(r)
	}
	if sc.IsValid() || baggage.FromContext(ctx).Len() > 0 {
		r2 := new(http.Request)
		*r2 = *r
		r2.Header = r.Header.Clone()
		t.prop.Inject(ctx, propagation.HeaderCarrier(r2.Header))
		r = r2
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	d := time.Since(start)
	opt := t.set(r, resp, err)
	if t.duration != nil {
		t.duration.Record(ctx, d.Seconds(), opt.Record...)
	}
	if t.bodySize != nil {
		t.bodySize.Record(ctx, max(r.ContentLength, 0), opt.Record...)
	}
	return resp, err
}

// set returns the metric attributes of an attempt, as otelhttp computes
// them: method, server address and port, scheme, protocol, status code,
// and error type.
func (t *upstreamTelemetry) set(r *http.Request, resp *http.Response, err error) attrset.Options {
	k := attemptKind{method: r.Method, scheme: r.URL.Scheme, proto: r.Proto}
	k.host = r.URL.Host
	if k.host == "" {
		k.host = r.Host // net/http keeps Host out of Header
	}
	if resp != nil {
		k.status = resp.StatusCode
		if resp.Proto != "" {
			k.proto = resp.Proto
		}
	}
	if err != nil && k.status == 0 {
		k.errType = errorType(err)
	}
	return t.sets.Get(k, attemptAttributes)
}

// knownMethods are the methods named as such; others are "_OTHER".
var knownMethods = map[string]bool{
	http.MethodConnect: true, http.MethodDelete: true, http.MethodGet: true, http.MethodHead: true,
	http.MethodOptions: true, http.MethodPatch: true, http.MethodPost: true, http.MethodPut: true, http.MethodTrace: true,
}

func attemptAttributes(k attemptKind) attribute.Set {
	method := strings.ToUpper(k.method)
	if !knownMethods[method] {
		method = "_OTHER"
	}
	host, port := k.host, -1
	if h, p, err := net.SplitHostPort(k.host); err == nil {
		host = h
		if n, err := strconv.Atoi(p); err == nil {
			port = n
		}
	}
	scheme := k.scheme
	if scheme == "" {
		scheme = "http"
	}
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", method),
		attribute.String("server.address", host),
		attribute.String("url.scheme", scheme),
	}
	defaultPort := 80
	if scheme == "https" {
		defaultPort = 443
	}
	if port > 0 && port != defaultPort {
		attrs = append(attrs, attribute.Int("server.port", port))
	}
	name, version, _ := strings.Cut(k.proto, "/")
	if name = strings.ToLower(name); name != "" {
		attrs = append(attrs, attribute.String("network.protocol.name", name))
	}
	if version != "" {
		attrs = append(attrs, attribute.String("network.protocol.version", version))
	}
	if k.status > 0 {
		attrs = append(attrs, attribute.Int("http.response.status_code", k.status))
	}
	if k.errType != "" {
		attrs = append(attrs, attribute.String("error.type", k.errType))
	}
	return attribute.NewSet(attrs...)
}

// errorType names err's type, as otelhttp's error.type does.
func errorType(err error) string {
	typ := reflect.TypeOf(err)
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ.PkgPath() == "" || typ.Name() == "" {
		return typ.String()
	}
	return fmt.Sprintf("%s.%s", typ.PkgPath(), typ.Name())
}
