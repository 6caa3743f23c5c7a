package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/proctest"
)

// Server is a running redis-server.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int

	mu     sync.Mutex
	proc   *os.Process
	exited <-chan struct{} // closed when proc has been reaped
}

// Start launches redis-server and waits until it answers PING. The server
// is stopped in t.Cleanup. The test is skipped when redis-server is not
// installed; set REDIS_SERVER to use a binary outside PATH.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := os.Getenv("REDIS_SERVER")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("redis-server"); err != nil {
			t.Skip("redis-server not found in PATH (install it, e.g. `apt-get install redis-server`, or set REDIS_SERVER); skipping test that needs a real Redis")
		}
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	var err error
	for range 5 {
		if s.port, err = proctest.FreePort(); err != nil {
			continue
		}
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("redistest: cannot start redis-server: %v", err)
	}
	t.Cleanup(s.Kill)
	return s
}

// Addr returns the server's "host:port".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Kill stops the server abruptly, as in an outage. It is a no-op if the
// server is not running.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	_ = s.proc.Kill()
	<-s.exited
	s.proc, s.exited = nil, nil
}

// Restart starts the server again on the same port, with empty data, and
// waits until it answers. It fails the test if the server cannot start.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	var err error
	for range 20 { // the port may linger briefly after a kill
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("redistest: cannot restart redis-server on port %d: %v", s.port, err)
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := proctest.Start(s.dir+"/redis.log", s.bin,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--dir", s.dir, "--save", "", "--appendonly", "no",
		"--protected-mode", "no", "--loglevel", "warning")
	if err != nil {
		return err
	}
	// Ask for the data directory, so that another server that happens to
	// hold the port is not mistaken for ours.
	err = p.Await(10*time.Second, func() bool {
		dir, err := configDir(s.Addr())
		return err == nil && dir == s.dir
	})
	if err != nil {
		return fmt.Errorf("redis-server: %w", err)
	}
	s.proc, s.exited = p.Process, p.Exited
	return nil
}

// configDir returns the "dir" setting of the server at addr, speaking
// just enough RESP to read a two-element array of bulk strings.
func configDir(addr string) (string, error) {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		return "", err
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("CONFIG GET dir\r\n")); err != nil {
		return "", err
	}
	rd := bufio.NewReader(c)
	var lines []string
	for range 5 {
		line, err := rd.ReadString('\n')
		if err != nil {
			return "", err
		}
		lines = append(lines, strings.TrimRight(line, "\r\n"))
	}
	if lines[0] != "*2" {
		return "", fmt.Errorf("unexpected CONFIG GET reply %q", lines)
	}
	return lines[4], nil
}
