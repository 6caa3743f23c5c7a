package calllog_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/internal/vlogstest"
)

// The Loki sink against a real Loki-API receiver (VictoriaLogs on
// loopback): what the in-test receiver above decodes, a server that
// implements Loki's push API stores and answers queries on.
func TestARealLokiReceiverStoresCallRecordsInStreamsByTenantAPIAndStatusClass(t *testing.T) {
	t.Parallel()
	vl := vlogstest.Start(t)
	now := time.Now()
	recordThrough(t, calllog.Loki(calllog.LokiConfig{URL: vl.LokiURL()}), []calllog.Record{
		{
			Time:    now,
			Tenant:  "acme",
			API:     "orders",
			Route:   "/orders/{id}",
			Method:  "GET",
			Status:  200,
			TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
			Latency: 3 * time.Millisecond,
		},
		{
			Time:   now.Add(time.Millisecond),
			Tenant: "acme",
			API:    "orders",
			Route:  "/orders",
			Method: "POST",
			Status: 201,
		},
		{
			Time:   now.Add(2 * time.Millisecond),
			Tenant: "acme",
			API:    "orders",
			Route:  "/orders",
			Method: "POST",
			Status: 503,
			Error:  "upstream",
		},
		{
			Time:   now.Add(3 * time.Millisecond),
			Tenant: "globex",
			API:    "billing",
			Route:  "/invoices",
			Method: "GET",
			Status: 404,
		},
	})

	vl.Await(`{job="portico"}`, 4)
	for query, want := range map[string]int{
		`{tenant="acme",api="orders",status_class="2xx"}`:    2,
		`{tenant="acme",api="orders",status_class="5xx"}`:    1,
		`{tenant="globex",api="billing",status_class="4xx"}`: 1,
		`{tenant="acme",status_class="4xx"}`:                 0,
	} {
		if got := len(vl.Query(query)); got != want {
			t.Errorf("%s selects %d records, want %d", query, got, want)
		}
	}

	ok := vl.Query(`{tenant="acme",status_class="2xx"}`)
	if len(ok) == 0 {
		t.Fatal("no 2xx record of acme")
	}
	if got, want := ok[0]["_stream"], `{api="orders",job="portico",status_class="2xx",tenant="acme"}`; got != want {
		t.Errorf("_stream = %s, want %s", got, want)
	}
	var line calllog.Record
	if err := json.Unmarshal([]byte(ok[0]["_msg"]), &line); err != nil {
		t.Fatalf("the stored line is not a JSON record: %v: %q", err, ok[0]["_msg"])
	}
	if got, want := line.TraceID, "4bf92f3577b34da6a3ce929d0e0e4736"; got != want {
		t.Errorf("line trace_id = %q, want %q", got, want)
	}
	if got, want := line.Route, "/orders/{id}"; got != want {
		t.Errorf("line route = %q, want %q", got, want)
	}
	if got, want := line.Latency, 3*time.Millisecond; got != want {
		t.Errorf("line latency = %v, want %v", got, want)
	}
	if got, want := ok[0]["_time"], now.UTC().Format(time.RFC3339Nano); got != want {
		t.Errorf("_time = %s, want the record's time %s", got, want)
	}
}
