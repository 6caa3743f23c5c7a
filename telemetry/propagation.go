package telemetry

import (
	"go.opentelemetry.io/contrib/propagators/b3"
	"go.opentelemetry.io/otel/propagation"
)

var propagatorNames = map[string]func() propagation.TextMapPropagator{
	"tracecontext": func() propagation.TextMapPropagator { return propagation.TraceContext{} },
	"baggage":      func() propagation.TextMapPropagator { return propagation.Baggage{} },
	"b3":           func() propagation.TextMapPropagator { return b3.New(b3.WithInjectEncoding(b3.B3SingleHeader)) },
	"b3multi":      func() propagation.TextMapPropagator { return b3.New(b3.WithInjectEncoding(b3.B3MultipleHeader)) },
	"none":         nil,
}

// Propagator returns the composite propagator for the given names
// ("tracecontext", "baggage", "b3", "b3multi", "none"); with no names, W3C
// Trace Context and Baggage. Unknown names are skipped; [Config.Validate]
// reports them.
func Propagator(names ...string) propagation.TextMapPropagator {
	if len(names) == 0 {
		names = []string{"tracecontext", "baggage"}
	}
	var ps []propagation.TextMapPropagator
	for _, n := range names {
		if f := propagatorNames[n]; f != nil {
			ps = append(ps, f())
		}
	}
	return propagation.NewCompositeTextMapPropagator(ps...)
}
