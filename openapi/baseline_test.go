package openapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// benchKin validates the typical POST with kin-openapi's own request
// validator (openapi3filter), routing aside, as the baseline the package's
// figures compare with. For 3.1 it recompiles the JSON Schema on every call.
func benchKin(b *testing.B, version string) {
	doc, err := openapi3.NewLoader().LoadFromData([]byte(typicalSpec(version)))
	if err != nil {
		b.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		b.Fatal(err)
	}
	item := doc.Paths.Value("/orgs/{org}/members")
	route := &routers.Route{
		Spec:      doc,
		Path:      "/orgs/{org}/members",
		PathItem:  item,
		Method:    "POST",
		Operation: item.Post,
	}
	body := []byte(typicalBody)
	req := httptest.NewRequest(http.MethodPost, "/orgs/acme/members?notify=true", nil)
	req.Header.Set("Content-Type", "application/json")
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	b.ReportAllocs()
	for b.Loop() {
		req.Body = io.NopCloser(bytes.NewReader(body))
		in := &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: map[string]string{"org": "acme"},
			Route:      route,
			Options:    opts,
		}
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKinOpenAPI30 is the kin-openapi baseline for a 3.0 spec.
func BenchmarkKinOpenAPI30(b *testing.B) { benchKin(b, "3.0.3") }

// BenchmarkKinOpenAPI31 is the kin-openapi baseline for a 3.1 spec.
func BenchmarkKinOpenAPI31(b *testing.B) { benchKin(b, "3.1.0") }
