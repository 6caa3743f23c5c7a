package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pinnedEnv marks the harness as already running on the load
// generator's CPU; it holds the number of CPUs the harness had before.
const pinnedEnv = "PORTICO_LOADTEST_PINNED"

// cpus returns the number of CPUs the harness may use, counted before it
// pinned itself.
func cpus() int {
	if n, err := strconv.Atoi(os.Getenv(pinnedEnv)); err == nil && n > 0 {
		return n
	}
	return runtime.NumCPU()
}

// canPin reports whether processes can be pinned: taskset is installed
// and this process may run on at least two CPUs.
func canPin() bool {
	if _, err := exec.LookPath("taskset"); err != nil {
		return false
	}
	return runtime.NumCPU() >= 2 || os.Getenv(pinnedEnv) != ""
}

// pinSelf re-executes the harness under "taskset -c 0" once, so the load
// generator runs on CPU 0 while the targets run on CPU 1.
func pinSelf(o *options) error {
	if !o.pin || os.Getenv(pinnedEnv) != "" {
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		return err
	}
	args := append([]string{taskset, "-c", "0", self}, os.Args[1:]...)
	return syscall.Exec(taskset, args, append(os.Environ(), pinnedEnv+"="+strconv.Itoa(runtime.NumCPU())))
}

// proc is a process the harness started.
type proc struct {
	name string
	cmd  *exec.Cmd
	addr string
}

// errNoAddress is a started process's first line not saying where it
// listens.
var errNoAddress = errors.New(`want "listening ADDR"`)

// command returns the command running name with args, on CPU 1 when
// pinning, killed when ctx is done.
func command(ctx context.Context, pin bool, name string, args ...string) *exec.Cmd {
	if pin {
		return exec.CommandContext(ctx, "taskset", append([]string{"-c", "1", name}, args...)...)
	}
	return exec.CommandContext(ctx, name, args...)
}

// startListening starts cmd, which prints "listening ADDR" first, and
// returns once it has.
func startListening(name string, cmd *exec.Cmd) (*proc, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd}
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		p.stop()
		return nil, fmt.Errorf("%s did not say where it listens: %q: %w", name, line, cmp.Or(err, errNoAddress))
	}
	p.addr = addr
	return p, nil
}

// startGateway starts the gateway binary on config, its logs going to
// logFile, with the extra flags, and returns once its log says where it
// listens.
func startGateway(ctx context.Context, pin bool, bin, config, logFile string, extra ...string) (*proc, error) {
	f, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	args := append([]string{"-config", config, "-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0", "-log-format", "json"}, extra...)
	cmd := command(ctx, pin, bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the gateway: %w", err)
	}
	p := &proc{name: "gateway", cmd: cmd}
	exited := make(chan struct{})
	go func() { _, _ = cmd.Process.Wait(); close(exited) }()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if addr := listenAddr(logFile); addr != "" {
			p.addr = addr
			return p, nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logFile)
			return nil, fmt.Errorf("the gateway exited: %s", log)
		case <-time.After(20 * time.Millisecond):
		}
	}
	p.stop()
	return nil, errors.New("the gateway did not start listening within 30s")
}

// listenAddr finds the proxy address in the gateway's JSON log: the
// "gateway listening" record's proxy URL.
func listenAddr(logFile string) string {
	b, _ := os.ReadFile(logFile)
	for line := range bytes.Lines(b) {
		var rec struct{ Msg, Proxy string }
		if json.Unmarshal(line, &rec) == nil && rec.Msg == "gateway listening" {
			return strings.TrimPrefix(rec.Proxy, "http://")
		}
	}
	return ""
}

// stop ends the process and waits for it.
func (p *proc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// clockTicks is the kernel's USER_HZ, the unit of /proc CPU times; 100
// on every Linux architecture Go supports.
const clockTicks = 100

// cpuTime returns the CPU time (user and system, all threads) process
// pid has used so far, from /proc/PID/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces: fields start after its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc stat format")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc stat format")
	}
	var ticks int64
	for _, s := range f[11:13] { // utime, stime
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}
