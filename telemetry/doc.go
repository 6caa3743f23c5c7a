// Package telemetry sends a process's traces, metrics and logs to any
// OpenTelemetry collector (the OpenTelemetry Collector, Jaeger, Grafana
// Tempo and Alloy, hosted backends) over OTLP, with the official
// exporters, gRPC or HTTP/protobuf.
//
// # Model
//
// A [Config] says where telemetry goes (endpoint, protocol, headers),
// what is kept (sampling ratio) and how the process is named (service
// name, resource attributes). [FromEnv] reads the same from the standard
// OTEL_* environment variables. [Setup] turns a Config into [Providers]:
// a tracer, meter and logger provider and a propagator, which the gateway
// and every Portico part take as options. [Providers.Shutdown] flushes
// what is buffered; call it before the process exits.
//
// # Propagation
//
// W3C Trace Context and Baggage by default; B3 (single or multiple
// headers) for Zipkin users, with [Config.Propagators] or OTEL_PROPAGATORS.
//
// This package links the OTLP exporters; the gateway core does not, so a
// program that never exports does not carry them.
package telemetry
