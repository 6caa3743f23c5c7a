// Package proctest runs the servers tests need (redis-server,
// victoria-logs) as child processes: [FreePort] finds a loopback port,
// [Start] runs the binary with its output in a log file, and [Proc.Await]
// waits until it answers, reporting the log when it exits instead.
package proctest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"
)

// FreePort returns a loopback TCP port nothing listened on a moment ago.
func FreePort() (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Proc is a started child process, reaped in the background.
type Proc struct {
	// Process is the child, to signal or kill.
	Process *os.Process
	// Exited is closed once the child has exited and been reaped.
	Exited <-chan struct{}

	log     string
	waitErr error // set before Exited is closed
}

// Start runs bin with args, its standard output and error written to the
// file logPath.
func Start(logPath, bin string, args ...string) (*Proc, error) {
	cmd := exec.CommandContext(context.Background(), bin, args...)
	out, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Start()
	_ = out.Close() // the child holds its own descriptor
	if err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	p := &Proc{Process: cmd.Process, Exited: exited, log: logPath}
	go func() { p.waitErr = cmd.Wait(); close(exited) }()
	return p, nil
}

// Await calls ready every 20 ms until it reports true, for up to limit.
// It returns an error with the child's log if the child exits first, and
// kills the child and returns an error if limit passes.
func (p *Proc) Await(limit time.Duration, ready func() bool) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-p.Exited:
			log, _ := os.ReadFile(p.log)
			return fmt.Errorf("exited (%w): %s", p.waitErr, strings.TrimSpace(string(log)))
		default:
		}
		if ready() {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = p.Process.Kill()
	<-p.Exited
	return errors.New("no answer within " + limit.String())
}
