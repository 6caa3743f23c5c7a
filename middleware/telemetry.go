package middleware

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/semconv/v1.40.0/httpconv"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/portico-dev/portico/internal/attrset"
	"github.com/portico-dev/portico/internal/traceid"
)

// scope is the instrumentation scope of the spans and instruments.
const scope = "github.com/portico-dev/portico/middleware"

// TelemetryConfig configures [Telemetry]. The zero value uses the
// OpenTelemetry globals.
type TelemetryConfig struct {
	// TracerProvider creates the server spans. If nil,
	// otel.GetTracerProvider() is used. With the no-op provider of
	// go.opentelemetry.io/otel/trace/noop no tracing work is done at all.
	TracerProvider trace.TracerProvider
	// MeterProvider creates the HTTP server instruments. If nil,
	// otel.GetMeterProvider() is used.
	MeterProvider metric.MeterProvider
	// Propagator extracts the caller's trace context and baggage from the
	// request headers. If nil, otel.GetTextMapPropagator() is used if one
	// has been set when Telemetry is called, and W3C Trace Context plus W3C
	// Baggage otherwise.
	Propagator propagation.TextMapPropagator
	// Skip reports whether a request goes unobserved, such as health
	// checks. By default every request is observed.
	Skip func(*http.Request) bool
}

// Telemetry traces and measures each request following the stable
// OpenTelemetry HTTP semantic conventions.
//
// It continues the caller's trace from the W3C traceparent and baggage
// headers and starts a server span named after the method and the route
// template, "GET /orders/{id}" (just "GET" when no route matched). The
// route comes from [RoutePattern] after the handler has returned, so it is
// known whether Telemetry is mounted inside a router or outside it. The
// span carries http.request.method, url.scheme, url.path, server.address,
// server.port, client.address, network.peer.address, user_agent.original,
// network.protocol.version, http.route, http.response.status_code and, for
// 5xx answers, error.type and an Error status.
//
// It records http.server.request.duration (seconds, with the buckets the
// conventions advise), http.server.active_requests,
// http.server.request.body.size and http.server.response.body.size.
func Telemetry(cfg TelemetryConfig) func(http.Handler) http.Handler {
	t := newTelemetry(cfg)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if t.skip != nil && t.skip(r) {
				next.ServeHTTP(w, r)
				return
			}
			t.serve(next, w, r)
		})
	}
}

// telemetry holds what Telemetry builds once.
type telemetry struct {
	tracer   trace.Tracer          // nil when tracing is off
	server   trace.SpanStartOption // the server span kind, made once
	prop     propagation.TextMapPropagator
	fields   []string // canonical header names prop reads
	duration metric.Float64Histogram
	active   metric.Int64UpDownCounter
	reqSize  metric.Int64Histogram
	respSize metric.Int64Histogram
	skip     func(*http.Request) bool
	// The attribute sets of the active requests and of the histograms,
	// built once per kind of request.
	activeSets attrset.Cache[activeKind]
	sets       attrset.Cache[requestKind]
}

// activeKind is what http.server.active_requests's attributes are made of.
type activeKind struct{ method, scheme string }

func (k activeKind) set() attribute.Set {
	return attribute.NewSet(semconv.HTTPRequestMethodKey.String(k.method), semconv.URLScheme(k.scheme))
}

// requestKind is what the histograms' attributes are made of.
type requestKind struct {
	method, scheme, proto, route string
	status                       int
}

func (k requestKind) set() attribute.Set {
	attrs := make([]attribute.KeyValue, 0, 7)
	attrs = append(attrs,
		semconv.HTTPRequestMethodKey.String(k.method),
		semconv.URLScheme(k.scheme),
		semconv.HTTPResponseStatusCode(k.status),
		semconv.NetworkProtocolVersion(k.proto),
	)
	if k.route != "" {
		attrs = append(attrs, semconv.HTTPRoute(k.route))
	}
	if k.status >= 500 {
		attrs = append(attrs, semconv.ErrorTypeKey.String(strconv.Itoa(k.status)))
	}
	return attribute.NewSet(attrs...)
}

// durationBuckets are the boundaries the HTTP conventions advise for
// http.server.request.duration.
func durationBuckets() []float64 {
	return []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
}

func newTelemetry(cfg TelemetryConfig) *telemetry {
	tp := cfg.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	prop := cfg.Propagator
	if prop == nil {
		prop = otel.GetTextMapPropagator()
		if len(prop.Fields()) == 0 {
			prop = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
		}
	}
	t := &telemetry{prop: prop, skip: cfg.Skip}
	for _, f := range prop.Fields() {
		t.fields = append(t.fields, canonical(f))
	}
	if _, off := tp.(tracenoop.TracerProvider); !off {
		t.tracer = tp.Tracer(scope, trace.WithSchemaURL(semconv.SchemaURL))
		t.server = trace.WithSpanKind(trace.SpanKindServer)
	}
	meter := mp.Meter(scope, metric.WithSchemaURL(semconv.SchemaURL))
	// The httpconv constructors fall back to no-op instruments on error, and
	// an invalid instrument is reported to the global error handler.
	d, _ := httpconv.NewServerRequestDuration(meter, metric.WithExplicitBucketBoundaries(durationBuckets()...))
	a, _ := httpconv.NewServerActiveRequests(meter)
	rq, _ := httpconv.NewServerRequestBodySize(meter)
	rs, _ := httpconv.NewServerResponseBodySize(meter)
	t.duration, t.active, t.reqSize, t.respSize = d.Inst(), a.Inst(), rq.Inst(), rs.Inst()
	return t
}

func (t *telemetry) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s := stateFrom(ctx)
	if s == nil {
		s = newState(ctx)
		ctx = s
	}
	start := s.started()
	if t.carries(r.Header) {
		ctx = t.prop.Extract(ctx, carrier(r.Header))
	}
	method, known := normalizeMethod(r.Method)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}

	var span trace.Span
	if t.tracer != nil {
		sctx, sp := t.tracer.Start(ctx, method, t.server, trace.WithTimestamp(start))
		s.span = sp.SpanContext()
		switch {
		case sp.IsRecording():
			ctx, span = sctx, sp
			// Built only for a span that keeps them.
			span.SetAttributes(t.startAttrs(r, method, known, scheme)...)
		case !s.span.Equal(trace.SpanContextFromContext(ctx)):
			ctx = sctx // sampled out: its span context still travels
		}
		// Otherwise the span neither records nor has a span context of its
		// own (no tracing SDK is installed): the request keeps its context,
		// and is not copied for it.
	}
	// Problem documents written anywhere in the request carry the trace ID
	// (internal/problem reads it through the state, without OpenTelemetry).
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		s.trace = traceid.ID(sc.TraceID())
	}

	activeOn := t.active.Enabled(ctx)
	var activeSet attrset.Options
	if activeOn {
		activeSet = t.activeSets.Get(activeKind{method, scheme}, activeKind.set)
		t.active.Add(ctx, 1, activeSet.Add...)
	}

	counter, r2 := countBody(ctx, s, r)
	rw := wrap(w, s)
	done := false
	defer func() {
		noteRoute(s, r2)
		status := rw.Status()
		if !done && !rw.Written() {
			status = http.StatusInternalServerError // a panic is on its way up
		} else if status == 0 {
			status = http.StatusOK
		}
		route := routeAfter(r2)
		if span != nil {
			t.endSpan(span, method, route, status, rw.BytesWritten())
		}
		if activeOn {
			t.active.Add(ctx, -1, activeSet.Add...)
		}
		t.record(ctx, start, r2, method, scheme, route, status, bytesIn(r2, counter), rw.BytesWritten())
	}()
	next.ServeHTTP(rw, r2)
	done = true
}

// carries reports whether h holds any header the propagator reads.
func (t *telemetry) carries(h http.Header) bool {
	for _, f := range t.fields {
		if _, ok := h[f]; ok {
			return true
		}
	}
	return false
}

// startAttrs returns the attributes a server span gets as it starts.
func (t *telemetry) startAttrs(r *http.Request, method string, known bool, scheme string) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 12)
	attrs = append(attrs,
		semconv.HTTPRequestMethodKey.String(method),
		semconv.URLScheme(scheme),
		semconv.URLPath(r.URL.Path),
		semconv.NetworkProtocolVersion(protoVersion(r)),
	)
	if !known {
		attrs = append(attrs, semconv.HTTPRequestMethodOriginal(r.Method))
	}
	if host, port := splitHostPort(r.Host); host != "" {
		attrs = append(attrs, semconv.ServerAddress(host))
		if port > 0 {
			attrs = append(attrs, semconv.ServerPort(port))
		}
	}
	if host, port := splitHostPort(r.RemoteAddr); host != "" {
		attrs = append(attrs, semconv.NetworkPeerAddress(host))
		if port > 0 {
			attrs = append(attrs, semconv.NetworkPeerPort(port))
		}
	}
	if ip, ok := ClientIPFrom(r.Context()); ok {
		attrs = append(attrs, semconv.ClientAddress(ip.String()))
	}
	if ua := r.UserAgent(); ua != "" {
		attrs = append(attrs, semconv.UserAgentOriginal(ua))
	}
	return attrs
}

// endSpan names the span after the route and records the outcome.
func (t *telemetry) endSpan(span trace.Span, method, route string, status int, out int64) {
	if route != "" {
		span.SetName(method + " " + route)
		span.SetAttributes(semconv.HTTPRoute(route))
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(status), semconv.HTTPResponseBodySize(int(out)))
	if status >= 500 {
		span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
		span.SetStatus(codes.Error, "")
	}
	span.End()
}

// record adds the request to the histograms.
func (t *telemetry) record(ctx context.Context, start time.Time, r *http.Request, method, scheme, route string, status int, in, out int64) {
	durOn := t.duration.Enabled(ctx)
	reqOn := t.reqSize.Enabled(ctx)
	respOn := t.respSize.Enabled(ctx)
	if !durOn && !reqOn && !respOn {
		return
	}
	opt := t.sets.Get(requestKind{method: method, scheme: scheme, proto: protoVersion(r), route: route, status: status}, requestKind.set)
	if durOn {
		t.duration.Record(ctx, time.Since(start).Seconds(), opt.Record...)
	}
	if reqOn {
		t.reqSize.Record(ctx, in, opt.Record...)
	}
	if respOn {
		t.respSize.Record(ctx, out, opt.Record...)
	}
}

// normalizeMethod maps methods outside RFC 9110 and RFC 5789 to "_OTHER",
// as the conventions ask, to bound cardinality.
func normalizeMethod(m string) (string, bool) {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m, true
	}
	return "_OTHER", false
}

// protoVersion returns network.protocol.version without allocating for
// the usual versions.
func protoVersion(r *http.Request) string {
	switch {
	case r.ProtoMajor == 1 && r.ProtoMinor == 1:
		return "1.1"
	case r.ProtoMajor == 2:
		return "2"
	case r.ProtoMajor == 1 && r.ProtoMinor == 0:
		return "1.0"
	case r.ProtoMajor == 3:
		return "3"
	}
	return strconv.Itoa(r.ProtoMajor) + "." + strconv.Itoa(r.ProtoMinor)
}

// splitHostPort splits "host[:port]", with IPv6 hosts in brackets; the
// port is 0 when absent or invalid.
func splitHostPort(hp string) (string, int) {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return hp, 0
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return host, 0
	}
	return host, port
}
