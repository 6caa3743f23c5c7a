package problem_test

import (
	"os/exec"
	"strings"
	"testing"
)

// Every package writes problem documents through this one, so it stays on
// the standard library: the trace ID reaches it through package traceid,
// not through OpenTelemetry.
func TestProblemLinksOnlyTheStandardLibrary(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the dependencies: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list -deps listed nothing")
	}
	for _, dep := range deps {
		if !strings.HasPrefix(dep, "github.com/portico-dev/portico/internal/") {
			t.Errorf("internal/problem links %s, outside the standard library", dep)
		}
	}
}
