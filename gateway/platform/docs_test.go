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
	if len(apis) != 1 || apis[0].Docs != "apis/reports/docs/" || res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("the catalog as JSON = %+v (%s)", apis, res.Header.Get("Content-Type"))
	}
	if status, doc := get("/apis/reports/docs/openapi.json"); status != http.StatusOK || !strings.Contains(doc, "Quarterly reports") {
		t.Errorf("the reports document: status %d: %s", status, doc)
	}
	if status, page := get("/apis/reports/docs/"); status != http.StatusOK || !strings.Contains(page, "Reports API") {
		t.Errorf("the reports documentation page: status %d", status)
	}
}
