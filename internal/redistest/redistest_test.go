package redistest_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ping(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// wantPong fails the test unless a PING to addr answers +PONG.
func wantPong(t *testing.T, what, addr string) {
	t.Helper()
	got, err := ping(addr)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if want := "+PONG"; got != want {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

func TestServerAnswersAndSurvivesAKillAndRestart(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	wantPong(t, "PING", s.Addr())
	s.Kill()
	if _, err := ping(s.Addr()); err == nil {
		t.Fatal("PING succeeded after Kill; want a connection error")
	}
	s.Restart()
	wantPong(t, "PING after Restart", s.Addr())
}

func TestTwoServersGetDistinctAddresses(t *testing.T) {
	t.Parallel()
	a, b := redistest.Start(t), redistest.Start(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("both servers listen on %s", a.Addr())
	}
}

func TestAPausedServerAcceptsButDoesNotAnswerUntilResumed(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	s.Pause()
	if got, err := ping(s.Addr()); err == nil {
		t.Fatalf("PING to a paused server = %q; want a timeout", got)
	}
	s.Resume()
	wantPong(t, "PING after Resume", s.Addr())
}
