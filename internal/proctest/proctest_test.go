package proctest_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/internal/proctest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// goVersion starts "go version", a child that prints a line and exits.
func goVersion(t *testing.T) *proctest.Proc {
	t.Helper()
	bin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not in PATH")
	}
	p, err := proctest.Start(filepath.Join(t.TempDir(), "child.log"), bin, "version")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAwaitReportsTheLogOfAChildThatExits(t *testing.T) {
	t.Parallel()
	p := goVersion(t)
	err := p.Await(time.Minute, func() bool { return false })
	if err == nil {
		t.Fatal("Await succeeded though the child never answered")
	}
	if got, want := err.Error(), "go version"; !strings.Contains(got, want) {
		t.Errorf("error = %q, want the child's log, which holds %q", got, want)
	}
}

func TestAwaitReturnsOnceReady(t *testing.T) {
	t.Parallel()
	p := goVersion(t)
	if err := p.Await(time.Minute, func() bool { return true }); err != nil {
		t.Errorf("Await = %v, want nil for a child that is ready at once", err)
	}
	<-p.Exited
}

func TestFreePortIsAPort(t *testing.T) {
	t.Parallel()
	port, err := proctest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if port <= 0 {
		t.Errorf("port = %d, want a positive port", port)
	}
}
