package platform

import (
	"bytes"
	"embed"
	"net/http"
	"strings"
	"sync"

	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/openapi"
)

//go:embed openapi.yaml
var specFS embed.FS

// Spec returns the OpenAPI document of the admin API (served by
// [Platform.Admin] under /docs/, with its server set to where the handler
// is mounted), for contract tests and client generators. Its paths are
// relative to that mount point ("/platform" on the gateway's admin listener).
func Spec() (*openapi.Spec, error) { return openapi.LoadFS(specFS, "openapi.yaml") }

// specAt returns the admin API document with its server at base, so
// that the documented paths are the real ones.
func specAt(base string) (*openapi.Spec, error) {
	raw, err := specFS.ReadFile("openapi.yaml")
	if err != nil {
		return nil, err
	}
	const server = "servers:\n  - url: /\n"
	if !bytes.Contains(raw, []byte(server)) {
		panic("portico/platform: the embedded admin API document lost its servers entry")
	}
	url := base
	if url == "" {
		url = "/"
	}
	raw = bytes.Replace(raw, []byte(server), []byte("servers:\n  - url: '"+strings.ReplaceAll(url, "'", "''")+"'\n"), 1)
	return openapi.Parse(raw)
}

// adminDocs serves the admin API's documentation page and document for
// each mount point it is reached under (in practice one), built on first use.
type adminDocs struct {
	mu   sync.Mutex
	byAt map[string]*openapi.Docs
}

// maxMounts bounds the cache: a handler is mounted at one or two places.
const maxMounts = 8

func (a *adminDocs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := base(r)
	a.mu.Lock()
	d := a.byAt[at]
	a.mu.Unlock()
	if d == nil {
		spec, err := specAt(at)
		if err == nil {
			d, err = openapi.NewDocs(spec)
		}
		if err != nil {
			problem.Error(w, r, http.StatusInternalServerError, "the admin API document cannot be rendered for "+at)
			return
		}
		a.mu.Lock()
		if a.byAt == nil {
			a.byAt = make(map[string]*openapi.Docs)
		}
		if len(a.byAt) < maxMounts {
			a.byAt[at] = d
		}
		a.mu.Unlock()
	}
	http.StripPrefix("/docs", d).ServeHTTP(w, r)
}
