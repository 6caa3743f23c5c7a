package config

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// Metrics is an OpenTelemetry meter provider whose instruments are
// exposed in the Prometheus format: pass Provider to
// gateway.WithMeterProvider and serve Handler as the admin /metrics (see
// gateway.AdminConfig). The
// OpenTelemetry names become Prometheus names, so the server's
// http.server.request.duration is http_server_request_duration_seconds,
// labelled with http_route.
type Metrics struct {
	// Provider creates the instruments.
	Provider *sdkmetric.MeterProvider
	// Handler serves the Prometheus exposition.
	Handler http.Handler
}

// NewMetrics returns a meter provider exported through its own
// Prometheus registry, which also holds the Go runtime and process
// collectors.
func NewMetrics() (*Metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	return &Metrics{
		Provider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp)),
		Handler:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
	}, nil
}

// Shutdown stops the meter provider.
func (m *Metrics) Shutdown(ctx context.Context) error {
	return m.Provider.Shutdown(ctx)
}
