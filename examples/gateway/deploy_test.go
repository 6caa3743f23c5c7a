package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
)

// manifests reads every YAML document under deploy/, by kind and name.
func manifests(t *testing.T) map[string]map[string]any {
	t.Helper()
	files, err := filepath.Glob("deploy/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no manifests under deploy/")
	}
	out := map[string]map[string]any{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			kind, _ := doc["kind"].(string)
			name, _ := dig(doc, "metadata", "name").(string)
			if kind == "" {
				t.Fatalf("%s: a document without kind", f)
			}
			out[kind+"/"+name] = doc
		}
	}
	return out
}

// dig follows map keys and list indexes.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func TestManifests(t *testing.T) {
	t.Parallel()
	docs := manifests(t)
	for _, want := range []string{
		"Deployment/portico-gateway", "Service/portico-gateway", "HorizontalPodAutoscaler/portico-gateway",
		"PodDisruptionBudget/portico-gateway", "ConfigMap/portico-gateway", "Secret/portico-gateway",
		"Deployment/portico-redis", "Service/portico-redis",
	} {
		if docs[want] == nil {
			t.Errorf("missing %s", want)
		}
	}
	dep := docs["Deployment/portico-gateway"]
	c := dig(dep, "spec", "template", "spec", "containers", 0)
	args := toStrings(dig(c, "args"))
	flagValue := func(name string) string {
		i := slices.Index(args, name)
		if i < 0 {
			t.Fatalf("container args lack %s: %q", name, args)
		}
		if i+1 >= len(args) {
			t.Fatalf("container args end at %s, with no value: %q", name, args)
		}
		return args[i+1]
	}

	t.Run("the proxy listens on every interface of the pod, as the program does only when told", func(t *testing.T) {
		t.Parallel()
		if got, want := flagValue("-addr"), ":8080"; got != want {
			t.Errorf("-addr %q, want %q: without it the program listens on loopback only", got, want)
		}
	})

	t.Run("the probes use the real admin endpoints on the admin port", func(t *testing.T) {
		t.Parallel()
		admin := httptest.NewServer(gateway.Admin(gateway.AdminConfig{Gateway: func() *gateway.Gateway {
			g, _ := gateway.New()
			return g
		}}))
		defer admin.Close()
		for probe, want := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
			path, _ := dig(c, probe, "httpGet", "path").(string)
			if path != want {
				t.Errorf("%s path = %q, want %q", probe, path, want)
			}
			resp, err := admin.Client().Get(admin.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("admin %s answered %d", path, resp.StatusCode)
			}
			if port := dig(c, probe, "httpGet", "port"); port != "admin" {
				t.Errorf("%s port = %v, want admin", probe, port)
			}
		}
		if got, want := dig(c, "ports", 1, "containerPort"), any(9090); got != want {
			t.Errorf("admin containerPort = %v, want %v", got, want)
		}
		if got := flagValue("-admin-addr"); !strings.HasSuffix(got, ":9090") {
			t.Errorf("-admin-addr = %q, want the admin containerPort :9090", got)
		}
	})

	t.Run("the ConfigMap holds a valid config at the path the container reads", func(t *testing.T) {
		t.Parallel()
		key, text := gatewayConfig(t, docs)
		env := podEnv(t, docs, "Deployment/portico-gateway")
		cfg, err := config.Parse(key, []byte(text), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		g, err := cfg.Build()
		if err != nil {
			t.Fatal(err)
		}
		g.Close()
	})

	t.Run("the config reads each variable the Deployment sets, and only those", func(t *testing.T) {
		t.Parallel()
		_, text := gatewayConfig(t, docs)
		env := podEnv(t, docs, "Deployment/portico-gateway")
		read := map[string]bool{}
		for _, m := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`).FindAllStringSubmatch(text, -1) {
			read[m[1]] = true
			if _, ok := env[m[1]]; !ok && m[2] == "" {
				t.Errorf("the config needs ${%s}, which the Deployment does not set", m[1])
			}
		}
		for name := range env {
			if !read[name] {
				t.Errorf("the Deployment sets %s, which the config never reads", name)
			}
		}
	})

	t.Run("the HPA and PDB target the gateway", func(t *testing.T) {
		t.Parallel()
		if dig(docs["HorizontalPodAutoscaler/portico-gateway"], "spec", "scaleTargetRef", "name") != "portico-gateway" {
			t.Error("the HPA does not scale the gateway Deployment")
		}
		sel := dig(docs["PodDisruptionBudget/portico-gateway"], "spec", "selector", "matchLabels", "app.kubernetes.io/name")
		if sel != dig(dep, "spec", "template", "metadata", "labels", "app.kubernetes.io/name") {
			t.Error("the PDB does not select the gateway pods")
		}
	})
}

// gatewayConfig returns the config file the gateway container reads: its
// name in the ConfigMap and its text.
func gatewayConfig(t *testing.T, docs map[string]map[string]any) (key, text string) {
	t.Helper()
	dep := docs["Deployment/portico-gateway"]
	c := dig(dep, "spec", "template", "spec", "containers", 0)
	args := toStrings(dig(c, "args"))
	i := slices.Index(args, "-config")
	if i < 0 {
		t.Fatalf("container args lack -config: %q", args)
	}
	if i+1 >= len(args) {
		t.Fatalf("container args end at -config, with no value: %q", args)
	}
	cfgPath := args[i+1]
	mount, _ := dig(c, "volumeMounts", 0, "mountPath").(string)
	key = strings.TrimPrefix(cfgPath, mount+"/")
	if got, want := dig(dep, "spec", "template", "spec", "volumes", 0, "configMap", "name"), any("portico-gateway"); got != want {
		t.Fatalf("the mounted volume's ConfigMap = %v, want %v", got, want)
	}
	if key == cfgPath {
		t.Fatalf("-config %q is not in the ConfigMap volume mounted at %q", cfgPath, mount)
	}
	text, _ = dig(docs["ConfigMap/portico-gateway"], "data", key).(string)
	if text == "" {
		t.Fatalf("ConfigMap has no key %q", key)
	}
	return key, text
}

// podEnv returns the environment of the first container of a Deployment,
// with the values it takes from Secrets.
func podEnv(t *testing.T, docs map[string]map[string]any, deployment string) map[string]string {
	t.Helper()
	env := map[string]string{}
	list, _ := dig(docs[deployment], "spec", "template", "spec", "containers", 0, "env").([]any)
	for _, e := range list {
		name, _ := dig(e, "name").(string)
		if ref, _ := dig(e, "valueFrom", "secretKeyRef").(map[string]any); ref != nil {
			secret, _ := ref["name"].(string)
			key, _ := ref["key"].(string)
			v, ok := dig(docs["Secret/"+secret], "stringData", key).(string)
			if !ok {
				t.Errorf("%s: env %s refers to missing key %s of Secret %s", deployment, name, key, secret)
			}
			env[name] = v
		} else if v, ok := dig(e, "value").(string); ok {
			env[name] = v
		} else {
			t.Errorf("%s: env %s has neither a value nor a Secret key", deployment, name)
		}
	}
	return env
}

func toStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestDockerfileBuildsThisPackage(t *testing.T) {
	t.Parallel()
	f, err := os.Open("deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var froms []string
	var build, user, cmd string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "FROM "):
			froms = append(froms, line)
		case strings.HasPrefix(line, "RUN ") && strings.Contains(line, "go build"):
			build = line
		case strings.HasPrefix(line, "USER "):
			user = line
		case strings.HasPrefix(line, "CMD "):
			cmd = line
		}
	}
	if len(froms) < 2 {
		t.Errorf("not a multi-stage build: %q", froms)
	}
	if !strings.HasSuffix(build, " ./examples/gateway") {
		t.Errorf("the build step does not build ./examples/gateway: %q", build)
	}
	if !strings.Contains(build, "CGO_ENABLED=0") {
		t.Errorf("the build step does not build statically (CGO_ENABLED=0): %q", build)
	}
	if last := froms[len(froms)-1]; !strings.Contains(last, "distroless/static") && !strings.Contains(last, "scratch") {
		t.Errorf("the final image is not minimal: %q", last)
	}
	if user == "" {
		t.Error("the image sets no USER, so it runs as root")
	}
	if strings.Contains(user, "root:") && !strings.Contains(user, "nonroot") {
		t.Errorf("the image runs as root: %q", user)
	}
	if !strings.Contains(cmd, `"-addr", ":8080"`) {
		t.Errorf("the image's CMD does not pass -addr :8080, so the proxy would listen on loopback only: %q", cmd)
	}
	// ./examples/gateway, from the repository root, is this package.
	wd, _ := os.Getwd()
	if !strings.HasSuffix(filepath.ToSlash(wd), "/examples/gateway") {
		t.Errorf("test runs in %s, not the package the Dockerfile builds", wd)
	}
}
