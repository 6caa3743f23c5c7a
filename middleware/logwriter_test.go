package middleware_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/middleware"
)

// syncBuffer is a bytes.Buffer safe for the writer's goroutine.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// blockedWriter blocks every write until release is closed.
type blockedWriter struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	syncBuffer
}

func (b *blockedWriter) Write(p []byte) (int, error) {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return b.syncBuffer.Write(p)
}

func TestLogWriterKeepsEveryRecordWholeAndInOrderThroughClose(t *testing.T) {
	var out syncBuffer
	w := middleware.NewLogWriter(&out, middleware.LogWriterConfig{})
	const n = 1000
	for i := range n {
		fmt.Fprintf(w, "record %d\n", i)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if got, want := len(lines), n; got != want {
		t.Fatalf("lines = %d, want %d", got, want)
	}
	for i, l := range lines {
		if want := fmt.Sprintf("record %d", i); l != want {
			t.Fatalf("line %d = %q, want %q", i, l, want)
		}
	}
	if got := w.Dropped(); got != 0 {
		t.Errorf("Dropped = %d, want 0", got)
	}
	if got, want := w.Written(), uint64(out.b.Len()); got != want {
		t.Errorf("Written = %d, want %d", got, want)
	}
}

func TestLogWriterBatchesWrites(t *testing.T) {
	var out syncBuffer
	w := middleware.NewLogWriter(&out, middleware.LogWriterConfig{Size: 1 << 20})
	for i := range 500 {
		fmt.Fprintf(w, "record %d\n", i)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	// 500 records of under 12 bytes fit a quarter of the buffer: no kick,
	// so they reach the output in a few ticks' writes at most, not 500.
	if out.writes >= 500 {
		t.Errorf("output writes = %d for 500 records, want far fewer", out.writes)
	}
}

func TestLogWriterDropsAndCountsInsteadOfBlocking(t *testing.T) {
	out := &blockedWriter{entered: make(chan struct{}), release: make(chan struct{})}
	w := middleware.NewLogWriter(out, middleware.LogWriterConfig{Size: 100})
	rec := []byte(strings.Repeat("x", 59) + "\n") // 60 bytes: over half the buffer
	if _, err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	<-out.entered // the goroutine holds the first record, blocked in the output
	// Everything written now waits in memory: one fits, the rest drop, and
	// no Write waits for the blocked output.
	for range 10 {
		n, err := w.Write(rec)
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
		if n != len(rec) {
			t.Fatalf("Write = %d, want %d", n, len(rec))
		}
	}
	if got, want := w.Dropped(), uint64(9); got != want {
		t.Errorf("Dropped = %d, want %d", got, want)
	}
	close(out.release)
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got, want := strings.Count(out.String(), "\n"), 2; got != want {
		t.Errorf("records written = %d, want %d", got, want)
	}
}

func TestLogWriterWritesStraightThroughAfterClose(t *testing.T) {
	var out syncBuffer
	w := middleware.NewLogWriter(&out, middleware.LogWriterConfig{})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err == nil {
		t.Error("second Close returned no error")
	}
	fmt.Fprint(w, "late\n")
	if got, want := out.String(), "late\n"; got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
	if got, want := w.Written(), uint64(len("late\n")); got != want {
		t.Errorf("Written = %d, want %d", got, want)
	}
}

// heldWriter's Write waits until release is closed.
type heldWriter struct {
	syncBuffer
	release chan struct{}
}

func (h *heldWriter) Write(p []byte) (int, error) {
	<-h.release
	return h.syncBuffer.Write(p)
}

// Concurrent Closes while the first is still writing what is waiting:
// one closes, the others report it at once, none panics.
func TestLogWriterClosedConcurrently(t *testing.T) {
	out := &heldWriter{release: make(chan struct{})}
	w := middleware.NewLogWriter(out, middleware.LogWriterConfig{})
	fmt.Fprint(w, "record\n")
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() { errs <- w.Close() }()
	}
	for range n - 1 {
		if err := <-errs; err == nil {
			t.Error("a second Close returned no error")
		}
	}
	close(out.release)
	if err := <-errs; err != nil {
		t.Errorf("Close = %v, want nil", err)
	}
	if got, want := out.String(), "record\n"; got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestLogWriterReportsTheOutputsError(t *testing.T) {
	w := middleware.NewLogWriter(failingWriter{}, middleware.LogWriterConfig{})
	fmt.Fprint(w, "record\n")
	wantErrContaining(t, w.Close(), "disk full") // the output's error
}

// The access log over a LogWriter, from concurrent requests: every
// record is a whole JSON line.
func TestAccessLogOverLogWriterConcurrent(t *testing.T) {
	var out syncBuffer
	w := middleware.NewLogWriter(&out, middleware.LogWriterConfig{Size: 4 << 20})
	logger := slog.New(slog.NewJSONHandler(w, nil))
	h := middleware.AccessLog(middleware.AccessLogConfig{Logger: logger})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	srv := serve(t, h)
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				resp, err := srv.Client().Get(srv.URL + "/x")
				if err != nil {
					t.Error(err)
					return
				}
				_ = resp.Body.Close()
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	n := 0
	for sc.Scan() {
		var rec struct {
			Status   int   `json:"status"`
			BytesOut int64 `json:"bytes_out"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %d is not one JSON record: %v: %q", n, err, sc.Text())
		}
		if got, want := rec.Status, http.StatusOK; got != want {
			t.Errorf("status = %d, want %d", got, want)
		}
		n++
	}
	if got, want := n, workers*each; got != want {
		t.Errorf("records = %d, want %d", got, want)
	}
	if got := w.Dropped(); got != 0 {
		t.Errorf("Dropped = %d, want 0", got)
	}
}

func BenchmarkAccessLogWriter(b *testing.B) {
	for _, tc := range []struct {
		name string
		new  func(*testing.B) (io interface{ Write([]byte) (int, error) }, done func())
	}{
		{"direct", func(b *testing.B) (interface{ Write([]byte) (int, error) }, func()) {
			return logFile(b), func() {}
		}},
		{"LogWriter", func(b *testing.B) (interface{ Write([]byte) (int, error) }, func()) {
			w := middleware.NewLogWriter(logFile(b), middleware.LogWriterConfig{})
			return w, func() { _ = w.Close() }
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			out, done := tc.new(b)
			defer done()
			logger := slog.New(slog.NewJSONHandler(out, nil))
			h := middleware.AccessLog(middleware.AccessLogConfig{Logger: logger})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			}))
			r := httptest.NewRequest(http.MethodGet, "/bench", nil)
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}

// logFile is a file in the benchmark's temporary directory: every direct
// write is a system call to a real file, as a gateway's log is.
func logFile(b *testing.B) *os.File {
	f, err := os.Create(filepath.Join(b.TempDir(), "access.log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = f.Close() })
	return f
}
