package gateway_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The core links no store, exporter, spec loader or adapter: those are
// the config layer's (gateway/config) and the parts'. gateway/calllog,
// whose record a hedged request notes its hedges in, links nothing more
// than the core does, and may be linked.
var forbiddenDeps = []string{
	"github.com/redis/go-redis",
	"go.etcd.io/bbolt",
	"github.com/prometheus/",
	"go.opentelemetry.io/otel/exporters/",
	"go.opentelemetry.io/otel/sdk/log",
	"go.opentelemetry.io/contrib/propagators",
	"github.com/portico-dev/portico/telemetry",
	"github.com/getkin/kin-openapi",
	"github.com/santhosh-tekuri/jsonschema",
	"github.com/portico-dev/portico/aiclient",
	"github.com/portico-dev/portico/openapi",
	"github.com/portico-dev/portico/middleware/redisstore",
	"github.com/portico-dev/portico/gateway/ai",
	"github.com/portico-dev/portico/gateway/platform",
	"github.com/portico-dev/portico/gateway/config",
	"github.com/portico-dev/portico/gateway/grpc",
	"github.com/portico-dev/portico/gateway/grpcproxy",
	"github.com/portico-dev/portico/gateway/grpcjson",
	"github.com/portico-dev/portico/internal/grpcwire",
	"google.golang.org/grpc",
	"github.com/aws/",
	"golang.org/x/oauth2",
	"go.yaml.in/yaml",
}

func TestTheCoreLinksNoStoreExporterSpecLoaderOrAdapter(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the core's dependencies: %v", err)
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
		for _, bad := range forbiddenDeps {
			if under(dep, bad) {
				t.Errorf("the core links %s: nothing under %s may be linked", dep, bad)
			}
		}
	}
	t.Logf("the core's dependencies outside the standard library (%d):\n%s", len(deps), strings.Join(deps, "\n"))
}

// under reports whether the package path dep is prefix, or under it; a
// prefix ending in '/' is an owner whose every module is meant.
func under(dep, prefix string) bool {
	if strings.HasSuffix(prefix, "/") {
		return strings.HasPrefix(dep, prefix)
	}
	return dep == prefix || strings.HasPrefix(dep, prefix+"/")
}

// maxExported bounds the core's exported top-level names: 107 before the
// config layer was split off, 54 after, and two more since for hedging
// (Hedge, HedgeDelay), and one for trace propagation (WithPropagator).
const maxExported = 57

func TestTheCoreExportsFewNames(t *testing.T) {
	t.Parallel()
	names := exportedNames(t, ".")
	if got := len(names); got > maxExported {
		t.Errorf("the core exports %d top-level names, want at most %d: move what only the config layer needs to gateway/config:\n%s",
			got, maxExported, strings.Join(names, "\n"))
	}
	t.Logf("the core exports %d top-level names:\n%s", len(names), strings.Join(names, "\n"))
}

// exportedNames lists the exported top-level names of the package in dir
// (types, functions, constants and variables; methods and fields are not
// counted), from its non-test files.
func exportedNames(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var names []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			names = append(names, declNames(d)...)
		}
	}
	slices.Sort(names)
	return names
}

func declNames(d ast.Decl) []string {
	var names []string
	switch d := d.(type) {
	case *ast.FuncDecl:
		if d.Recv == nil && d.Name.IsExported() {
			names = append(names, "func "+d.Name.Name)
		}
	case *ast.GenDecl:
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.TypeSpec:
				if s.Name.IsExported() {
					names = append(names, "type "+s.Name.Name)
				}
			case *ast.ValueSpec:
				for _, n := range s.Names {
					if n.IsExported() {
						names = append(names, d.Tok.String()+" "+n.Name)
					}
				}
			}
		}
	}
	return names
}
