package config_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/vlogstest"
)

const lokiSinkYAML = `
middleware: [request_id]
upstreams:
  - name: orders
    instances: [{url: %q}]
routes:
  - name: orders
    prefix: /orders
    upstream: orders
    policy:
      auth: {methods: [platform]}
      subscription: orders
platform:
  file: platform.db
  admin_tokens: {root: %s}
  call_log:
    sinks:
      - loki:
          url: %s
          labels: {job: portico-test}
          gzip: true
`

// The config file's Loki sink against a real Loki-API receiver
// (VictoriaLogs on loopback), gzipped: a subscribed consumer's calls are stored in
// the stream of its tenant, the API and the status class, and a refused
// call in the 4xx stream.
func TestCallLogSinksFromAConfigFileReachARealLokiReceiver(t *testing.T) {
	t.Parallel()
	vl := vlogstest.Start(t)
	up := gwtest.EchoServer(t, "orders")
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	c, err := config.Parse(path, fmt.Appendf(nil, lokiSinkYAML, up.URL, gwtest.PlatformToken, vl.LokiURL()), nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Build(gateway.WithLogger(gwtest.Quiet))
	if err != nil {
		t.Fatal(err)
	}
	pub := httptest.NewServer(g)
	adm := httptest.NewServer(gateway.Admin(gateway.AdminConfig{Gateway: func() *gateway.Gateway { return g }}))
	key := gwtest.Onboard(t, adm.URL+"/platform")
	gwtest.SubscribeAndApprove(t, pub.URL, adm.URL+"/platform", key)
	// SubscribeAndApprove calls once without a key (401), twice before the
	// approval (403) and once after it (200).
	for i := range 3 {
		gwtest.Call(t, http.MethodGet, fmt.Sprintf("%s/orders/%d", pub.URL, i), key, nil, http.StatusOK)
	}
	gwtest.Call(t, http.MethodGet, pub.URL+"/orders/1", "", nil, http.StatusUnauthorized)
	pub.Close()
	adm.Close()
	if err := g.Close(); err != nil { // flushes the call log and drains the sink
		t.Fatal(err)
	}

	vl.Await(`{job="portico-test"}`, 8)
	for query, want := range map[string]int{
		`{job="portico-test",tenant="acme",api="orders",status_class="2xx"}`: 4,
		`{job="portico-test",tenant="acme",api="orders",status_class="4xx"}`: 2,
		// An anonymous call has no tenant and no API: the stream has no
		// such label (Loki's empty label is no label).
		`{job="portico-test",status_class="4xx"} -tenant:*`: 2,
		`{job="portico-test",status_class="5xx"}`:           0,
	} {
		if got := len(vl.Query(query)); got != want {
			t.Errorf("%s selects %d records, want %d", query, got, want)
		}
	}
	ok := vl.Query(`{job="portico-test",tenant="acme",status_class="2xx"}`)
	if len(ok) == 0 {
		t.Fatal("no 2xx record of acme")
	}
	if got, want := ok[0]["_stream"], `{api="orders",job="portico-test",status_class="2xx",tenant="acme"}`; got != want {
		t.Errorf("_stream = %s, want %s", got, want)
	}
	var line struct {
		Consumer string `json:"consumer"`
		Method   string `json:"method"`
		Status   int    `json:"status"`
	}
	if err := json.Unmarshal([]byte(ok[0]["_msg"]), &line); err != nil {
		t.Fatalf("the stored line is not a JSON record: %v: %q", err, ok[0]["_msg"])
	}
	if got, want := line.Consumer, "shop"; got != want {
		t.Errorf("line consumer = %q, want %q", got, want)
	}
	if got, want := line.Method, http.MethodGet; got != want {
		t.Errorf("line method = %q, want %q", got, want)
	}
	if got, want := line.Status, http.StatusOK; got != want {
		t.Errorf("line status = %d, want %d", got, want)
	}
	anon := vl.Query(`{job="portico-test",status_class="4xx"} -tenant:*`)
	if len(anon) == 0 {
		t.Fatal("no anonymous 4xx record")
	}
	if got, want := anon[0]["_stream"], `{job="portico-test",status_class="4xx"}`; got != want {
		t.Errorf("an anonymous call's stream = %s, want %s", got, want)
	}
}
