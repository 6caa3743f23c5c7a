package platform

import (
	"embed"

	"github.com/portico-dev/portico/openapi"
)

//go:embed openapi.yaml
var specFS embed.FS

// Spec returns the OpenAPI document of the admin API (served by
// [Platform.Admin] under /docs/), for contract tests and client generators.
func Spec() (*openapi.Spec, error) { return openapi.LoadFS(specFS, "openapi.yaml") }

// mustDocs returns the documentation handler of the embedded document; the
// document is checked by the tests, so a failure here is a bug.
func mustDocs() *openapi.Docs {
	spec, err := Spec()
	if err != nil {
		panic("portico/platform: the embedded admin API document is invalid: " + err.Error())
	}
	d, err := openapi.NewDocs(spec)
	if err != nil {
		panic("portico/platform: " + err.Error())
	}
	return d
}
