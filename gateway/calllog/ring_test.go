package calllog_test

import (
	"context"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/calllog"
)

func TestRingQueriesFilterRecordsAndReturnTheNewestFirst(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ring := calllog.NewRing(4)
	_ = ring.Write(context.Background(), []calllog.Record{
		{
			Time:      t0,
			Tenant:    "a",
			RequestID: "1",
			Status:    200,
		},
		{
			Time:      t0.Add(time.Second),
			Tenant:    "b",
			RequestID: "2",
			Status:    500,
		},
		{
			Time:      t0.Add(2 * time.Second),
			Tenant:    "a",
			RequestID: "3",
			Status:    200,
			API:       "orders",
		},
		{
			Time:      t0.Add(3 * time.Second),
			Tenant:    "a",
			RequestID: "4",
			Status:    200,
			Error:     "timeout",
		},
		{
			Time:      t0.Add(4 * time.Second),
			Tenant:    "b",
			RequestID: "5",
			Status:    200,
		},
		{
			Time:      t0.Add(5 * time.Second),
			Tenant:    "a",
			RequestID: "6",
			Status:    404,
			Consumer:  "x",
		},
	})
	ids := func(rs []calllog.Record) string {
		s := ""
		for _, r := range rs {
			s += r.RequestID
		}
		return s
	}
	tests := []struct {
		name   string
		filter calllog.Filter
		want   string
	}{
		{"an operator sees the last four records, newest first", calllog.Filter{}, "6543"},
		{"a tenant sees only its own records", calllog.Filter{Tenant: "a"}, "643"},
		{"another tenant sees none of the first tenant's records", calllog.Filter{Tenant: "b"}, "5"},
		{"a tenant without calls sees nothing", calllog.Filter{Tenant: "c"}, ""},
		{"failed calls are 5xx or carry an error kind", calllog.Filter{Failed: true}, "4"},
		{"the limit keeps the newest", calllog.Filter{Limit: 2}, "65"},
		{"since drops older records", calllog.Filter{Since: t0.Add(4 * time.Second)}, "65"},
		{"filters by API and consumer", calllog.Filter{API: "orders"}, "3"},
		{"filters by consumer", calllog.Filter{Consumer: "x"}, "6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ids(ring.Query(tt.filter)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if ring.Len() != 4 {
		t.Errorf("Len = %d, want the capacity 4", ring.Len())
	}
}
