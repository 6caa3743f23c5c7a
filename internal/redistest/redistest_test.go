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

func TestServerAnswersAndSurvivesAKillAndRestart(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	if got, err := ping(s.Addr()); err != nil || got != "+PONG" {
		t.Fatalf("PING = %q, %v; want +PONG", got, err)
	}
	s.Kill()
	if _, err := ping(s.Addr()); err == nil {
		t.Fatal("PING succeeded after Kill; want a connection error")
	}
	s.Restart()
	if got, err := ping(s.Addr()); err != nil || got != "+PONG" {
		t.Fatalf("PING after Restart = %q, %v; want +PONG", got, err)
	}
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
	if got, err := ping(s.Addr()); err != nil || got != "+PONG" {
		t.Fatalf("PING after Resume = %q, %v; want +PONG", got, err)
	}
}
