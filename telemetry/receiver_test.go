package telemetry_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// receiver is an OTLP collector for tests: it takes exports over gRPC
// and HTTP/protobuf, decoded with the official OTLP protobuf types.
type receiver struct {
	coltrace.UnimplementedTraceServiceServer

	mu      sync.Mutex
	spans   []*tracepb.Span
	metrics int // data points' metrics received
	logs    []string
}

func (r *receiver) Export(_ context.Context, req *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	r.addTraces(req)
	return &coltrace.ExportTraceServiceResponse{}, nil
}

func (r *receiver) addTraces(req *coltrace.ExportTraceServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			r.spans = append(r.spans, ss.GetSpans()...)
		}
	}
}

func (r *receiver) addMetrics(req *colmetrics.ExportMetricsServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rm := range req.GetResourceMetrics() {
		for _, sm := range rm.GetScopeMetrics() {
			r.metrics += len(sm.GetMetrics())
		}
	}
}

func (r *receiver) addLogs(req *collogs.ExportLogsServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rl := range req.GetResourceLogs() {
		for _, sl := range rl.GetScopeLogs() {
			for _, l := range sl.GetLogRecords() {
				r.logs = append(r.logs, l.GetBody().GetStringValue())
			}
		}
	}
}

func (r *receiver) Spans() []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*tracepb.Span(nil), r.spans...)
}

func (r *receiver) Metrics() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.metrics
}

type metricsServer struct {
	colmetrics.UnimplementedMetricsServiceServer
	r *receiver
}

func (m metricsServer) Export(_ context.Context, req *colmetrics.ExportMetricsServiceRequest) (*colmetrics.ExportMetricsServiceResponse, error) {
	m.r.addMetrics(req)
	return &colmetrics.ExportMetricsServiceResponse{}, nil
}

type logsServer struct {
	collogs.UnimplementedLogsServiceServer
	r *receiver
}

func (l logsServer) Export(_ context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	l.r.addLogs(req)
	return &collogs.ExportLogsServiceResponse{}, nil
}

// startGRPC serves the receiver over OTLP/gRPC and returns its host:port.
func startGRPC(t testing.TB, r *receiver) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	coltrace.RegisterTraceServiceServer(s, r)
	colmetrics.RegisterMetricsServiceServer(s, metricsServer{r: r})
	collogs.RegisterLogsServiceServer(s, logsServer{r: r})
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

// startHTTP serves the receiver over OTLP/HTTP and returns its base URL.
func startHTTP(t testing.TB, r *receiver) string {
	t.Helper()
	mux := http.NewServeMux()
	handle := func(path string, msg func() proto.Message, add func(proto.Message)) {
		mux.HandleFunc("POST "+path, func(w http.ResponseWriter, req *http.Request) {
			if got, want := req.Header.Get("Content-Type"), "application/x-protobuf"; got != want {
				http.Error(w, "content type "+got, http.StatusUnsupportedMediaType)
				return
			}
			body, err := io.ReadAll(req.Body)
			m := msg()
			if err == nil {
				err = proto.Unmarshal(body, m)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			add(m)
			w.Header().Set("Content-Type", "application/x-protobuf")
			w.WriteHeader(http.StatusOK)
		})
	}
	handle("/v1/traces", func() proto.Message { return &coltrace.ExportTraceServiceRequest{} },
		func(m proto.Message) { r.addTraces(m.(*coltrace.ExportTraceServiceRequest)) })
	handle("/v1/metrics", func() proto.Message { return &colmetrics.ExportMetricsServiceRequest{} },
		func(m proto.Message) { r.addMetrics(m.(*colmetrics.ExportMetricsServiceRequest)) })
	handle("/v1/logs", func() proto.Message { return &collogs.ExportLogsServiceRequest{} },
		func(m proto.Message) { r.addLogs(m.(*collogs.ExportLogsServiceRequest)) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}
