package resilience_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/portico-dev/portico/resilience"
)

func TestMetricsReportRetriesRejectionsAndBreakerState(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, status(503))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	tr := resilience.NewTransport(newBase(t), resilience.WithMeterProvider(mp),
		fastRetry(resilience.RetryConfig{MaxAttempts: 2}),
		resilience.CircuitBreaker(resilience.BreakerConfig{ConsecutiveFailures: 2}))
	defer tr.Close()
	resp, err := do(t, tr, http.MethodGet, u.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if _, err := do(t, tr, http.MethodGet, u.URL, nil); err == nil {
		t.Fatal("want the open circuit to reject")
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					got[m.Name] += p.Value
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					got[m.Name] += p.Value
				}
			}
		}
	}
	want := map[string]int64{
		"portico.resilience.retries":       1,
		"portico.resilience.rejections":    1,
		"portico.resilience.breaker.state": 2, // open
	}
	for name, v := range want {
		if got[name] != v {
			t.Fatalf("%s = %d, want %d (all: %v)", name, got[name], v, got)
		}
	}
}

func TestTransportKeepsUpgradedConnectionsWritable(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", "echo")
		w.WriteHeader(http.StatusSwitchingProtocols)
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		line, _ := brw.ReadString('\n')
		brw.WriteString("echo: " + line)
		brw.Flush()
	})
	tr := resilience.NewTransport(newBase(t),
		resilience.Bulkhead(resilience.BulkheadConfig{MaxConcurrent: 1}), resilience.Timeout(10e9))
	req, _ := http.NewRequest(http.MethodGet, u.URL, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "echo")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rw, ok := resp.Body.(io.ReadWriteCloser)
	if got, want := resp.StatusCode, http.StatusSwitchingProtocols; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}
	if !ok {
		t.Fatalf("body %T is not writable: the wrapper hid the upgraded connection", resp.Body)
	}
	if _, err := io.WriteString(rw, "hello\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(rw).ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if want := "echo: hello\n"; line != want {
		t.Errorf("read %q, want %q", line, want)
	}
}
