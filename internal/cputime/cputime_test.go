package cputime_test

import (
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/internal/cputime"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestProcessCountsTheCPUTheProcessSpends(t *testing.T) {
	before := cputime.Process()
	if before == 0 {
		t.Skip("the process's CPU time is not read on this platform")
	}
	// Spin until the clock the kernel keeps has moved on; a generous
	// bound, counted in CPU time, never in wall time.
	n := 0
	for cputime.Process() == before && n < 1e7 {
		n++
	}
	if got := cputime.Process(); got <= before {
		t.Errorf("CPU time after spinning = %v, want more than %v", got, before)
	}
}

func ExampleProcess() {
	start := cputime.Process()
	spent := cputime.Process() - start
	fmt.Println(spent >= 0 && spent < time.Hour)
	// Output: true
}
