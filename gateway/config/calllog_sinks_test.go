package config_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
)

// lokiReceiver is a Loki push endpoint on loopback that keeps the streams
// it is sent.
type lokiReceiver struct {
	mu      sync.Mutex
	streams []lokiStream
	orgIDs  []string
}

type lokiStream struct {
	Stream map[string]string `json:"stream"`
	Values [][2]string       `json:"values"`
}

func (l *lokiReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/loki/api/v1/push" {
		http.NotFound(w, r)
		return
	}
	var body struct {
		Streams []lokiStream `json:"streams"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	l.mu.Lock()
	l.streams = append(l.streams, body.Streams...)
	l.orgIDs = append(l.orgIDs, r.Header.Get("X-Scope-OrgID"))
	l.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// lines returns the records pushed, decoded, with their stream's labels.
func (l *lokiReceiver) lines(t *testing.T) (recs []map[string]any, labels []map[string]string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.streams {
		for _, v := range s.Values {
			var rec map[string]any
			if err := json.Unmarshal([]byte(v[1]), &rec); err != nil {
				t.Fatalf("a Loki line is not JSON: %v: %q", err, v[1])
			}
			recs = append(recs, rec)
			labels = append(labels, s.Stream)
		}
	}
	return recs, labels
}

// fileRecords reads the JSON-lines records of path.
func fileRecords(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("%s: a line is not JSON: %v", path, err)
		}
		recs = append(recs, rec)
	}
	return recs
}

// callAndClose builds the config file data (at path) into a gateway,
// makes n calls of GET /version, each answered 200, and closes the
// gateway, which flushes the call log and drains every sink.
func callAndClose(t *testing.T, path string, data []byte, n int) {
	t.Helper()
	c, err := config.Parse(path, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Build(gateway.WithLogger(gwtest.Quiet))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	for range n {
		resp, err := http.Get(srv.URL + "/version")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
	}
	srv.Close()
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
}

const callLogSinksYAML = `
middleware: [request_id]
upstreams:
  - name: orders
    instances: [{url: %q}]
routes:
  - name: version
    path: /version
    upstream: orders
platform:
  file: platform.db
  admin_tokens: {root: %s}
  call_log:
    queue: 16
    sinks:
      - loki:
          url: %s
          headers: {X-Scope-OrgID: acme}
          labels: {job: portico-test, env: ci}
      - file: {path: logs/calls.jsonl, max_bytes: 600, keep: 2}
      - otlp: {}
`

func TestCallLogSinksFromAConfigFileReachLokiAndARotatingFile(t *testing.T) {
	t.Parallel()
	up := gwtest.EchoServer(t, "orders")
	loki := &lokiReceiver{}
	lokiSrv := httptest.NewServer(loki)
	t.Cleanup(lokiSrv.Close)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "logs"), 0o700); err != nil {
		t.Fatal(err)
	}
	const calls = 12
	callAndClose(t, filepath.Join(dir, "gateway.yaml"), fmt.Appendf(nil, callLogSinksYAML, up.URL, gwtest.PlatformToken, lokiSrv.URL), calls)

	recs, labels := loki.lines(t)
	if got, want := len(recs), calls; got != want {
		t.Fatalf("Loki received %d records, want %d", got, want)
	}
	for i := range recs {
		if got, want := recs[i]["route"], "/version"; got != want {
			t.Errorf("Loki record %d: route = %v, want %q", i, got, want)
		}
		if got, want := labels[i]["job"], "portico-test"; got != want {
			t.Errorf("Loki stream %d: job = %q, want %q", i, got, want)
		}
		if got, want := labels[i]["env"], "ci"; got != want {
			t.Errorf("Loki stream %d: env = %q, want %q", i, got, want)
		}
		if got, want := labels[i]["status_class"], "2xx"; got != want {
			t.Errorf("Loki stream %d: status_class = %q, want %q", i, got, want)
		}
	}
	loki.mu.Lock()
	for _, id := range loki.orgIDs {
		if got, want := id, "acme"; got != want {
			t.Errorf("X-Scope-OrgID = %q, want %q", got, want)
		}
	}
	loki.mu.Unlock()

	// Twelve records of some 200 bytes each in files of at most 600 bytes:
	// the file rotated, two rotated files are kept, a third is not.
	base := filepath.Join(dir, "logs", "calls.jsonl")
	total := 0
	for _, p := range []string{base, base + ".1", base + ".2"} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(p), err)
		}
		if info.Size() > 600 {
			t.Errorf("%s holds %d bytes, more than max_bytes 600", filepath.Base(p), info.Size())
		}
		recs := fileRecords(t, p)
		if len(recs) == 0 {
			t.Errorf("%s holds no record", filepath.Base(p))
		}
		for _, r := range recs {
			if got, want := r["route"], "/version"; got != want {
				t.Errorf("%s: route = %v, want %q", filepath.Base(p), got, want)
			}
		}
		total += len(recs)
	}
	if _, err := os.Stat(base + ".3"); !os.IsNotExist(err) {
		t.Errorf("a third rotated file exists (keep: 2): %v", err)
	}
	if total >= calls {
		t.Errorf("the kept files hold %d records: with keep 2, the oldest of %d should have been removed", total, calls)
	}
}

// logExporter keeps the log records it is given.
type logExporter struct {
	mu      sync.Mutex
	records []sdklog.Record
}

func (e *logExporter) Export(_ context.Context, rs []sdklog.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range rs {
		e.records = append(e.records, r.Clone())
	}
	return nil
}

func (e *logExporter) Shutdown(context.Context) error   { return nil }
func (e *logExporter) ForceFlush(context.Context) error { return nil }

// Not parallel: it installs a global logger provider, which the otlp sink
// reads, and restores the previous one.
func TestTheOTLPCallLogSinkEmitsThroughTheGlobalLoggerProvider(t *testing.T) {
	exp := &logExporter{}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	prev := otel.GetLoggerProvider()
	otel.SetLoggerProvider(lp)
	t.Cleanup(func() {
		otel.SetLoggerProvider(prev)
		_ = lp.Shutdown(context.Background())
	})
	up := gwtest.EchoServer(t, "orders")
	yaml := `
upstreams: [{name: orders, instances: [{url: %q}]}]
routes: [{name: version, path: /version, upstream: orders}]
platform:
  file: platform.db
  admin_tokens: {root: %s}
  call_log: {sinks: [{otlp: {}}]}
`
	const calls = 3
	callAndClose(t, filepath.Join(t.TempDir(), "gateway.yaml"), fmt.Appendf(nil, yaml, up.URL, gwtest.PlatformToken), calls)
	exp.mu.Lock()
	defer exp.mu.Unlock()
	if got, want := len(exp.records), calls; got != want {
		t.Fatalf("log records = %d, want %d", got, want)
	}
	if got, want := exp.records[0].Body().AsString(), "call"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
}
