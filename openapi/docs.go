package openapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/portico-dev/portico/openapi/internal/redoc"
)

// Docs serves a spec and its interactive documentation page. Mount it
// under a prefix with http.StripPrefix; it answers, relative to that prefix:
//
//	/               the documentation page (Redoc, embedded: no network needed)
//	/openapi.json   the document as JSON
//	/openapi.yaml   the document as YAML
//	/assets/...     the page's script and its licence
//
// Docs is immutable once built and safe for concurrent use.
type Docs struct {
	page, yamlDoc []byte
	jsonTag       string
	yamlTag       string
	pageTag       string
	scriptTag     string
	spec          *Spec
}

// NewDocs prepares the documents and the page for spec. The YAML form is
// rendered once, here; an error means the document cannot be rendered.
func NewDocs(spec *Spec) (*Docs, error) {
	if spec == nil {
		panic("portico/openapi: NewDocs needs a spec")
	}
	var node yaml.Node
	if err := yaml.Unmarshal(spec.JSON(), &node); err != nil {
		return nil, err
	}
	blockStyle(&node)
	if len(node.Content) == 1 {
		orderTop(node.Content[0])
	}
	var yb bytes.Buffer
	enc := yaml.NewEncoder(&yb)
	enc.SetIndent(2)
	if err := enc.Encode(&node); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	y := yb.Bytes()
	var page bytes.Buffer
	if err := template.Must(template.New("docs").Parse(pageHTML)).Execute(&page, map[string]string{"Title": spec.Title()}); err != nil {
		return nil, err
	}
	return &Docs{
		spec: spec, yamlDoc: y, page: page.Bytes(),
		jsonTag: etag(spec.JSON()), yamlTag: etag(y), pageTag: etag(page.Bytes()), scriptTag: `"redoc-` + redoc.Version + `"`,
	}, nil
}

// blockStyle turns the flow style a JSON source gives into YAML's block
// style; scalars keep their tags, so strings that look like numbers stay
// quoted.
func blockStyle(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style = 0
	}
	if n.Kind == yaml.ScalarNode && n.Style == yaml.DoubleQuotedStyle {
		n.Style = 0
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// orderTop puts the top-level members in the order people write them.
func orderTop(m *yaml.Node) {
	if m.Kind != yaml.MappingNode {
		return
	}
	rank := map[string]int{"openapi": 1, "info": 2, "jsonSchemaDialect": 3, "servers": 4, "security": 5, "tags": 6, "paths": 7, "webhooks": 8, "components": 9, "externalDocs": 10}
	type pair struct{ k, v *yaml.Node }
	pairs := make([]pair, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		pairs = append(pairs, pair{m.Content[i], m.Content[i+1]})
	}
	slices.SortStableFunc(pairs, func(a, b pair) int {
		ra, rb := rank[a.k.Value], rank[b.k.Value]
		if ra == 0 {
			ra = 100
		}
		if rb == 0 {
			rb = 100
		}
		return ra - rb
	})
	m.Content = m.Content[:0]
	for _, p := range pairs {
		m.Content = append(m.Content, p.k, p.v)
	}
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

// ServeHTTP implements http.Handler.
func (d *Docs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch strings.TrimPrefix(r.URL.Path, "/") {
	case "":
		if !strings.HasSuffix(r.URL.Path, "/") {
			// Mounted at "/docs" and asked for "/docs": the page's relative
			// links need the trailing slash.
			http.Redirect(w, r, requestPath(r)+"/", http.StatusMovedPermanently)
			return
		}
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; font-src 'self' data:")
		serve(w, r, "text/html; charset=utf-8", d.pageTag, d.page)
	case "openapi.json":
		serve(w, r, "application/json", d.jsonTag, d.spec.JSON())
	case "openapi.yaml", "openapi.yml":
		serve(w, r, "application/yaml", d.yamlTag, d.yamlDoc)
	case "assets/redoc.standalone.js":
		serve(w, r, "text/javascript; charset=utf-8", d.scriptTag, redoc.Script)
	case "assets/init.js":
		serve(w, r, "text/javascript; charset=utf-8", etag([]byte(initJS)), []byte(initJS))
	case "assets/LICENSE":
		serve(w, r, "text/plain; charset=utf-8", `"redoc-`+redoc.Version+`-license"`, append(append(bytes.Clone(redoc.License), '\n'), redoc.Notices...))
	default:
		http.NotFound(w, r)
	}
}

func requestPath(r *http.Request) string {
	p := r.RequestURI
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if p == "" || !strings.HasPrefix(p, "/") {
		p = r.URL.Path
	}
	return strings.TrimSuffix(p, "/")
}

func serve(w http.ResponseWriter, r *http.Request, ctype, tag string, body []byte) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("ETag", tag)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// initJS starts Redoc on the page; it is a file of its own so the page's
// Content-Security-Policy can forbid inline scripts.
const initJS = `fetch("openapi.json").then(function (r) { return r.json(); }).then(function (spec) {
  Redoc.init(spec, {}, document.getElementById("redoc"));
});
`

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body { margin: 0; padding: 0; }</style>
</head>
<body>
<div id="redoc"></div>
<script src="assets/redoc.standalone.js"></script>
<script src="assets/init.js"></script>
</body>
</html>
`

// API is one entry of a [Catalog].
type API struct {
	// Spec is the API's document; its title, version and description are
	// shown.
	Spec *Spec
	// Docs is the URL of the API's documentation page.
	Docs string
}

// Catalog returns a handler that lists apis, each linking its
// documentation page: an HTML page, or JSON when the client asks for
// application/json. It panics if an entry has no spec.
func Catalog(title string, apis ...API) http.Handler {
	type item struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Description string `json:"description,omitempty"`
		Docs        string `json:"docs"`
		Operations  int    `json:"operations"`
	}
	items := make([]item, len(apis))
	for i, a := range apis {
		if a.Spec == nil {
			panic("portico/openapi: Catalog entry without a spec")
		}
		it := item{Title: a.Spec.Title(), Docs: a.Docs, Operations: len(a.Spec.Operations())}
		if info := a.Spec.doc.Info; info != nil {
			it.Version, it.Description = info.Version, info.Description
		}
		items[i] = it
	}
	js, _ := json.Marshal(map[string]any{"title": title, "apis": items})
	var page bytes.Buffer
	if err := template.Must(template.New("catalog").Parse(catalogHTML)).Execute(&page, map[string]any{"Title": title, "APIs": items}); err != nil {
		panic("portico/openapi: catalog template: " + err.Error())
	}
	htmlTag, jsonTag := etag(page.Bytes()), etag(js)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept")
		if strings.Contains(r.Header.Get("Accept"), "application/json") {
			serve(w, r, "application/json", jsonTag, js)
			return
		}
		serve(w, r, "text/html; charset=utf-8", htmlTag, page.Bytes())
	})
}

const catalogHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
li { margin: 0 0 1rem; list-style: none; } ul { padding: 0; }
a { font-size: 1.2rem; } .v { color: #666; margin-left: .5rem; } p { margin: .25rem 0; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<ul>
{{range .APIs}}<li><a href="{{.Docs}}">{{.Title}}</a><span class="v">{{.Version}}</span>{{if .Description}}<p>{{.Description}}</p>{{end}}<p>{{.Operations}} operation{{if ne .Operations 1}}s{{end}}</p></li>
{{end}}</ul>
</body>
</html>
`
