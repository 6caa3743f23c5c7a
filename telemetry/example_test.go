package telemetry_test

import (
	"context"
	"fmt"
	"slices"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/telemetry"
)

func ExampleSetup() {
	ratio, off := 0.25, false
	p, err := telemetry.Setup(context.Background(), telemetry.Config{
		Endpoint:      "127.0.0.1:4317", // an OTLP/gRPC collector; nothing is sent until a span ends
		Insecure:      true,
		SamplingRatio: &ratio,
		ServiceName:   "edge",
		Propagators:   []string{"tracecontext", "baggage", "b3"},
		Metrics:       &off, // traces only
		Logs:          &off,
	})
	if err != nil {
		panic(err)
	}
	defer p.Shutdown(context.Background())

	g, err := gateway.New(
		gateway.WithTracerProvider(p.TracerProvider),
		gateway.WithMeterProvider(p.MeterProvider),
		gateway.WithPropagator(p.Propagator),
	)
	if err != nil {
		panic(err)
	}
	defer g.Close()
	fields := p.Propagator.Fields()
	slices.Sort(fields)
	fmt.Println(fields)
	// Output: [b3 baggage traceparent tracestate]
}
