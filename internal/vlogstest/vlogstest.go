package vlogstest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/proctest"
)

// client keeps no idle connection, so no goroutine outlives a test.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// Install is the command that installs the binary [Start] runs.
const Install = "go install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.2"

// Server is a running victoria-logs.
type Server struct {
	t    testing.TB
	addr string
	dir  string

	mu     sync.Mutex
	proc   *os.Process
	exited <-chan struct{} // closed when proc has been reaped
}

// Entry is one stored log entry: its fields by name, among them _msg (the
// line pushed), _stream (the stream's labels, such as
// `{api="pets",tenant="acme"}`), _time and each label.
type Entry map[string]string

// Start launches victoria-logs and waits until it answers. The server is
// stopped in t.Cleanup. The test is skipped when the binary is not in
// PATH; set VICTORIA_LOGS to use a binary elsewhere.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := os.Getenv("VICTORIA_LOGS")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("victoria-logs"); err != nil {
			t.Skip("victoria-logs not found in PATH (install it with `" + Install + "`, or set VICTORIA_LOGS); skipping test that needs a real Loki-API receiver")
		}
	}
	s := &Server{t: t, dir: t.TempDir()}
	var err error
	for range 5 {
		var port int
		if port, err = proctest.FreePort(); err != nil {
			continue
		}
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err = s.start(bin); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("vlogstest: cannot start victoria-logs: %v", err)
	}
	t.Cleanup(s.stop)
	return s
}

// LokiURL returns the base URL of the server's Loki push API: a Loki
// client appends /loki/api/v1/push to it.
func (s *Server) LokiURL() string { return "http://" + s.addr + "/insert" }

// Query makes the entries pushed so far searchable and returns those the
// LogsQL query selects, such as `{tenant="acme"}` (a stream filter) or
// `{job="portico"} status_class:5xx`, oldest first. It fails the test on
// any error.
func (s *Server) Query(query string) []Entry {
	s.t.Helper()
	if _, err := s.get("/internal/force_flush", nil); err != nil {
		s.t.Fatalf("vlogstest: flush: %v", err)
	}
	body, err := s.get("/select/logsql/query", url.Values{"query": {query + " | sort by (_time)"}})
	if err != nil {
		s.t.Fatalf("vlogstest: query %q: %v", query, err)
	}
	var entries []Entry
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			s.t.Fatalf("vlogstest: query %q: a result line is not JSON: %v: %q", query, err, sc.Text())
		}
		entries = append(entries, e)
	}
	return entries
}

// Await queries until at least n entries match, for up to 30 s (pushes
// from an asynchronous sink may still be on their way), and returns them.
// It fails the test when fewer arrive.
func (s *Server) Await(query string, n int) []Entry {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		entries := s.Query(query)
		if len(entries) >= n || time.Now().After(deadline) {
			if len(entries) < n {
				s.t.Fatalf("vlogstest: query %q found %d entries within 30s, want %d", query, len(entries), n)
			}
			return entries
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *Server) get(path string, q url.Values) (string, error) {
	u := "http://" + s.addr + path
	if q != nil {
		u += "?" + q.Encode()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

func (s *Server) start(bin string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	data := filepath.Join(s.dir, "data")
	p, err := proctest.Start(filepath.Join(s.dir, "victoria-logs.log"), bin,
		"-httpListenAddr="+s.addr, "-storageDataPath="+data,
		"-loki.disableMessageParsing", "-retentionPeriod=1d", "-loggerLevel=WARN")
	if err != nil {
		return err
	}
	// Read the flags back, so that another server that happens to hold the
	// port is not mistaken for ours.
	err = p.Await(20*time.Second, func() bool {
		flags, err := s.get("/flags", nil)
		return err == nil && strings.Contains(flags, strconv.Quote(data))
	})
	if err != nil {
		return fmt.Errorf("victoria-logs: %w", err)
	}
	s.proc, s.exited = p.Process, p.Exited
	return nil
}

// stop asks the server to shut down and kills it if it has not within
// 10 s.
func (s *Server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	if err := s.proc.Signal(os.Interrupt); err != nil {
		_ = s.proc.Kill()
	}
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.proc.Kill()
		<-s.exited
	}
	s.proc, s.exited = nil, nil
}
