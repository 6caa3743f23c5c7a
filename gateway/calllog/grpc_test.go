package calllog_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/grpc/codes"

	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/gateway/grpcjson"
	"github.com/portico-dev/portico/gateway/grpcproxy"
	"github.com/portico-dev/portico/internal/grpctest"
	"github.com/portico-dev/portico/internal/grpctest/testpb"
)

// TestCallLogsRecordTheGRPCStatus calls a real gRPC service through a
// gRPC proxy and a JSON translation under the call log middleware, and
// checks that records and metrics carry the gRPC status, not HTTP 200.
func TestCallLogsRecordTheGRPCStatus(t *testing.T) {
	t.Parallel()
	s := grpctest.Start(t, grpctest.Options{})
	target, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	h2 := grpcproxy.NewUpstreamTransport(nil)
	defer h2.CloseIdleConnections()
	tr := &grpcproxy.Transport{Next: h2}
	files, err := grpcjson.ParseDescriptorSet(grpctest.DescriptorSet)
	if err != nil {
		t.Fatal(err)
	}
	translate, err := grpcjson.New(grpcjson.Config{Files: files, Target: target, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var got []calllog.Record
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	rec := calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{
		calllog.SinkFunc(func(_ context.Context, batch []calllog.Record) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, batch...)
			return nil
		}),
		calllog.Metrics(mp),
	}})
	defer func() { _ = rec.Close(context.Background()) }()

	mux := http.NewServeMux()
	mux.Handle("/portico.grpctest.v1.Shelf/", &grpcproxy.Handler{Target: target, Transport: tr})
	mux.Handle("/shelf/", http.StripPrefix("/shelf", translate))
	addr := grpctest.ServeH2C(t, calllog.Middleware(calllog.MiddlewareConfig{Recorder: rec})(mux))

	c := testpb.NewShelfClient(grpctest.Dial(t, addr, nil))
	ctx := context.Background()
	if _, err := c.Echo(ctx, &testpb.EchoRequest{Message: "ok"}); err != nil {
		t.Fatal(err)
	}
	_, _ = c.Echo(ctx, &testpb.EchoRequest{Key: "nf", FailCode: int32(codes.NotFound), FailTimes: 1})
	_, _ = c.Echo(ctx, &testpb.EchoRequest{Key: "un", FailCode: int32(codes.Unavailable), FailTimes: 1})
	list, err := c.ListBooks(ctx, &testpb.ListBooksRequest{Shelf: "s", PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	grpctest.RecvAll(t, list.Recv)

	base := "http://" + addr + "/shelf"
	for _, call := range []struct{ method, path, body string }{
		{http.MethodGet, "/v1/books/b1", ""},
		{http.MethodPost, "/portico.grpctest.v1.Shelf/Echo", `{"key":"j","failCode":14,"failTimes":1}`},
		{http.MethodGet, "/v1/shelves/s/books?pageSize=2", ""},
	} {
		req, err := http.NewRequest(call.method, base+call.path, strings.NewReader(call.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	http.DefaultClient.CloseIdleConnections()
	// A client may see the end of a response before the middleware has
	// handed its record to the recorder: flush until all seven arrived.
	const calls = 7
	for deadline := time.Now().Add(30 * time.Second); ; {
		if err := rec.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= calls || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	mu.Lock()
	defer mu.Unlock()
	// Records arrive in the order the calls end, which a client may see
	// before the gateway records them: compare them as a set.
	type outcome struct {
		status int
		grpc   string
		failed bool
	}
	count := map[outcome]int{}
	for _, r := range got {
		count[outcome{r.Status, r.GRPCStatus, r.Failed()}]++
	}
	for o, n := range map[outcome]int{
		{200, "OK", false}:         4, // gRPC Echo and ListBooks; JSON GET and stream
		{200, "NOT_FOUND", false}:  1, // a client's error, trailers-only
		{200, "UNAVAILABLE", true}: 1, // a server's failure, in gRPC
		{503, "UNAVAILABLE", true}: 1, // the same, translated
	} {
		if got := count[o]; got != n {
			t.Errorf("%d records %+v, want %d (all: %+v)", got, o, n, count)
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	byCode := map[int64]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if d, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "portico.calllog.calls" {
				for _, p := range d.DataPoints {
					if v, ok := p.Attributes.Value(attribute.Key("rpc.grpc.status_code")); ok {
						byCode[v.AsInt64()] += p.Value
					}
				}
			}
		}
	}
	for code, n := range map[codes.Code]int64{codes.OK: 4, codes.NotFound: 1, codes.Unavailable: 2} {
		if got, want := byCode[int64(code)], n; got != want {
			t.Errorf("calls counted with rpc.grpc.status_code %d (%v): %d, want %d", code, code, got, want)
		}
	}
}

func TestGRPCCodeName(t *testing.T) {
	t.Parallel()
	for c, want := range map[int]string{0: "OK", 14: "UNAVAILABLE", 16: "UNAUTHENTICATED", 17: "CODE(17)", -1: "CODE(-1)"} {
		if got := calllog.GRPCCodeName(c); got != want {
			t.Errorf("GRPCCodeName(%d) = %q, want %q", c, got, want)
		}
	}
}
