package calllog_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/calllog"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// lokiReceiver decodes Loki's push API (the JSON form Loki accepts on
// /loki/api/v1/push) and keeps the streams, as Loki would index them.
type lokiReceiver struct {
	mu      sync.Mutex
	streams map[string][]string // label set (JSON) -> lines
	headers http.Header
}

func (l *lokiReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/loki/api/v1/push" {
		http.NotFound(w, r)
		return
	}
	var push struct {
		Streams []struct {
			Stream map[string]string `json:"stream"`
			Values [][2]string       `json:"values"`
		} `json:"streams"`
	}
	if err := json.NewDecoder(r.Body).Decode(&push); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.headers = r.Header.Clone()
	for _, s := range push.Streams {
		key, _ := json.Marshal(s.Stream) // maps marshal with sorted keys
		for _, v := range s.Values {
			l.streams[string(key)] = append(l.streams[string(key)], v[1])
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// recordThrough records recs through a recorder whose one sink is sink
// wrapped in Async, then closes both, which drains every record to sink.
func recordThrough(t *testing.T, sink calllog.Sink, recs []calllog.Record) {
	t.Helper()
	async := calllog.Async(sink, calllog.AsyncConfig{Name: "test"})
	rec := calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{async}})
	for i := range recs {
		rec.Record(&recs[i])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := rec.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := async.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestLokiPushesStreamsLabelledByTenantAPIAndStatusClass(t *testing.T) {
	t.Parallel()
	recv := &lokiReceiver{streams: map[string][]string{}}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	now := time.Now()
	recordThrough(t, calllog.Loki(calllog.LokiConfig{URL: srv.URL, Headers: map[string]string{"X-Scope-OrgID": "ops"}}), []calllog.Record{
		{
			Time:    now,
			Tenant:  "acme",
			API:     "orders",
			Route:   "/orders/{id}",
			Status:  200,
			TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
		},
		{
			Time:   now,
			Tenant: "acme",
			API:    "orders",
			Route:  "/orders/{id}",
			Status: 201,
		},
		{
			Time:   now,
			Tenant: "acme",
			API:    "orders",
			Route:  "/orders",
			Status: 503,
			Error:  "upstream",
		},
		{
			Time:   now,
			Tenant: "globex",
			API:    "billing",
			Route:  "/invoices",
			Status: 404,
		},
		{Time: now, Route: "/health", Status: 401},
	})
	recv.mu.Lock()
	defer recv.mu.Unlock()
	for key, want := range map[string]int{
		`{"api":"orders","job":"portico","status_class":"2xx","tenant":"acme"}`:    2,
		`{"api":"orders","job":"portico","status_class":"5xx","tenant":"acme"}`:    1,
		`{"api":"billing","job":"portico","status_class":"4xx","tenant":"globex"}`: 1,
		`{"job":"portico","status_class":"4xx"}`:                                   1,
	} {
		if got := len(recv.streams[key]); got != want {
			t.Errorf("stream %s has %d lines, want %d", key, got, want)
		}
	}
	if got, want := len(recv.streams), 4; got != want {
		t.Errorf("streams = %d, want %d", got, want)
	}
	var line calllog.Record
	if err := json.Unmarshal([]byte(recv.streams[`{"api":"orders","job":"portico","status_class":"2xx","tenant":"acme"}`][0]), &line); err != nil {
		t.Fatal(err)
	}
	if got, want := line.TraceID, "4bf92f3577b34da6a3ce929d0e0e4736"; got != want {
		t.Errorf("line trace_id = %q, want %q", got, want)
	}
	if got, want := line.Route, "/orders/{id}"; got != want {
		t.Errorf("line route = %q, want %q", got, want)
	}
	if got, want := recv.headers.Get("X-Scope-OrgID"), "ops"; got != want {
		t.Errorf("X-Scope-OrgID = %q, want %q", got, want)
	}
}

func TestLokiReportsARefusedPush(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "entry too far behind", http.StatusBadRequest)
	}))
	defer srv.Close()
	err := calllog.Loki(calllog.LokiConfig{URL: srv.URL}).Write(context.Background(), []calllog.Record{{Status: 200}})
	if err == nil {
		t.Fatal("Write succeeded against a refusing Loki")
	}
}

func TestFileRotatesBySize(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "calls.jsonl")
	f, err := calllog.File(calllog.FileConfig{Path: path, MaxBytes: 600, MaxBackups: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := f.Write(context.Background(), []calllog.Record{{Tenant: "acme", Route: "/r", Status: 200 + i}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + ".1", path + ".2"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(p), err)
		}
		if st.Size() > 600 {
			t.Errorf("%s is %d bytes, over the 600 limit", filepath.Base(p), st.Size())
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("a third backup exists (err %v), want at most 2", err)
	}
	last := readLines(t, path)
	if len(last) == 0 {
		t.Fatal("the current file is empty")
	}
	if got, want := last[len(last)-1].Status, 219; got != want {
		t.Errorf("last record status = %d, want %d", got, want)
	}
}

// A batch larger than MaxBytes, as the async sink hands over under load,
// is split across files: none grows past MaxBytes and no record is lost.
func TestFileSplitsABatchLargerThanMaxBytes(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "calls.jsonl")
	f, err := calllog.File(calllog.FileConfig{Path: path, MaxBytes: 600, MaxBackups: 20})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	batch := make([]calllog.Record, n)
	for i := range batch {
		batch[i] = calllog.Record{Tenant: "acme", Route: "/r", Status: 200 + i}
	}
	if err := f.Write(context.Background(), batch[:3]); err != nil {
		t.Fatal(err)
	}
	if err := f.Write(context.Background(), batch[3:]); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var got []calllog.Record
	for i := n; i >= 0; i-- {
		p := path
		if i > 0 {
			p = fmt.Sprintf("%s.%d", path, i)
		}
		st, err := os.Stat(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > 600 {
			t.Errorf("%s is %d bytes, over the 600 limit", filepath.Base(p), st.Size())
		}
		got = append(got, readLines(t, p)...)
	}
	if got, want := len(got), n; got != want {
		t.Fatalf("the files hold %d records, want %d", got, want)
	}
	for i := range got {
		if got, want := got[i].Status, 200+i; got != want {
			t.Errorf("record %d: status = %d, want %d", i, got, want)
		}
	}
}

func readLines(t *testing.T, path string) []calllog.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []calllog.Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r calllog.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

func TestFileNamesTheBadField(t *testing.T) {
	t.Parallel()
	if _, err := calllog.File(calllog.FileConfig{}); err == nil {
		t.Error("File without a path succeeded")
	}
}

func TestAsyncDropsAndCountsWhenTheSinkIsStuck(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	stuck := calllog.SinkFunc(func(context.Context, []calllog.Record) error {
		select {
		case started <- struct{}{}:
		default:
		}
		<-release
		return nil
	})
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	a := calllog.Async(stuck, calllog.AsyncConfig{Name: "slow", Buffer: 1, MeterProvider: mp})
	batch := []calllog.Record{{Status: 200}, {Status: 200}}
	_ = a.Write(context.Background(), batch) // taken by the goroutine, which blocks
	<-started
	_ = a.Write(context.Background(), batch) // fills the queue
	for range 3 {
		if err := a.Write(context.Background(), batch); err != nil { // dropped, never blocks
			t.Fatal(err)
		}
	}
	if got, want := a.Dropped(), uint64(6); got != want {
		t.Errorf("Dropped = %d, want %d", got, want)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	if got, want := droppedMetric(rm), int64(6); got != want {
		t.Errorf("portico.calllog.dropped = %d, want %d", got, want)
	}
	close(release)
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func droppedMetric(rm metricdata.ResourceMetrics) int64 {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "portico.calllog.dropped" {
				continue
			}
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				var n int64
				for _, dp := range sum.DataPoints {
					n += dp.Value
				}
				return n
			}
		}
	}
	return -1
}

func TestLokiGzipsPushesWhenAsked(t *testing.T) {
	t.Parallel()
	type push struct {
		encoding string
		streams  int
		err      error
	}
	got := make(chan push, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := push{encoding: r.Header.Get("Content-Encoding")}
		zr, err := gzip.NewReader(r.Body)
		if err == nil {
			var body struct {
				Streams []json.RawMessage `json:"streams"`
			}
			err = json.NewDecoder(zr).Decode(&body)
			p.streams = len(body.Streams)
		}
		p.err = err
		got <- p
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	sink := calllog.Loki(calllog.LokiConfig{URL: srv.URL, Gzip: true})
	if err := sink.Write(context.Background(), []calllog.Record{{Tenant: "acme", Status: 200}, {Tenant: "globex", Status: 200}}); err != nil {
		t.Fatal(err)
	}
	p := <-got
	if got, want := p.encoding, "gzip"; got != want {
		t.Errorf("Content-Encoding = %q, want %q", got, want)
	}
	if p.err != nil {
		t.Fatalf("the body is not gzipped JSON: %v", p.err)
	}
	if got, want := p.streams, 2; got != want {
		t.Errorf("streams = %d, want %d", got, want)
	}
}
