package platform_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/platform"
	"github.com/portico-dev/portico/openapi"
)

const reportsSpec = `openapi: 3.1.0
info: {title: Reports API, version: 2.0.0, description: Quarterly reports}
paths:
  /reports/{id}:
    get:
      operationId: getReport
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: A report}}
`

func TestTheCatalogLinksEachAPIToItsDocumentationPage(t *testing.T) {
	t.Parallel()
	spec, err := openapi.Parse([]byte(reportsSpec))
	if err != nil {
		t.Fatal(err)
	}
	p := platform.New(platform.NewMemoryStore(), platform.WithAdminToken("root", adminToken), platform.WithAPIDocs("reports", spec))
	ctx := context.Background()
	_, _ = p.CreateTenant(ctx, "ops", platform.Tenant{ID: "globex"})
	_, _ = p.PutAPI(ctx, "ops", platform.API{ID: "reports", Tenant: "globex", State: platform.Published})
	srv := httptest.NewServer(p.Admin())
	defer srv.Close()
	get := func(path string) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if _, page := get("/catalog?tenant=globex"); !strings.Contains(page, `href="apis/reports/docs/"`) {
		t.Errorf("the catalog does not link the reports documentation:\n%s", page)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/catalog?tenant=globex", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var apis []platform.API
	_ = json.NewDecoder(res.Body).Decode(&apis)
	res.Body.Close()
	if got, want := res.Header.Get("Content-Type"), "application/json"; got != want {
		t.Errorf("the catalog's Content-Type = %q, want %q", got, want)
	}
	if got, want := len(apis), 1; got != want {
		t.Fatalf("the catalog as JSON lists %d APIs, want %d: %+v", got, want, apis)
	}
	if got, want := apis[0].Docs, "apis/reports/docs/"; got != want {
		t.Errorf("the catalog's docs link = %q, want %q", got, want)
	}
	status, doc := get("/apis/reports/docs/openapi.json")
	if got, want := status, http.StatusOK; got != want {
		t.Errorf("the reports document: status %d, want %d", got, want)
	}
	if !strings.Contains(doc, "Quarterly reports") {
		t.Errorf("the reports document lacks its description: %s", doc)
	}
	status, page := get("/apis/reports/docs/")
	if got, want := status, http.StatusOK; got != want {
		t.Errorf("the reports documentation page: status %d, want %d", got, want)
	}
	if !strings.Contains(page, "Reports API") {
		t.Error("the reports documentation page lacks its title")
	}
}
