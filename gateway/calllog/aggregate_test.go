package calllog_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/calllog"
)

func TestAggregatorPercentilesMatchExactPercentilesWithinOnePercent(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	agg := calllog.NewAggregator(calllog.AggregatorConfig{Now: func() time.Time { return now }})
	rng := rand.New(rand.NewPCG(7, 8))
	var lat []float64
	batch := make([]calllog.Record, 0, 30000)
	for i := range 30000 {
		d := time.Duration(math.Exp(rng.NormFloat64()*1.2 + 17))
		lat = append(lat, float64(d))
		batch = append(batch, calllog.Record{
			Time:    now.Add(-time.Duration(i%30) * time.Minute),
			Tenant:  "acme",
			API:     "orders",
			Status:  200,
			Latency: d,
		})
	}
	_ = agg.Write(context.Background(), batch)
	slices.Sort(lat)
	p := agg.Summary(calllog.Query{
		By:     calllog.ByAPI,
		Key:    "orders",
		Tenant: "acme",
		From:   now.Add(-time.Hour),
	})
	if p.Requests != 30000 {
		t.Fatalf("Requests = %d, want 30000", p.Requests)
	}
	for _, c := range []struct {
		q   float64
		got time.Duration
	}{{0.50, p.P50}, {0.95, p.P95}, {0.99, p.P99}} {
		want := exact(lat, c.q)
		if rel := math.Abs(float64(c.got)-want) / want; rel > 0.01 {
			t.Errorf("p%v = %v, exact %v: relative error %.4f > 1%%", c.q*100, c.got, time.Duration(want), rel)
		}
	}
}

func TestAggregatorGroupsByAPIConsumerAndTenantPerWindow(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)
	agg := calllog.NewAggregator(calllog.AggregatorConfig{Now: func() time.Time { return now }})
	m := func(minAgo int) time.Time { return now.Truncate(time.Minute).Add(-time.Duration(minAgo) * time.Minute) }
	_ = agg.Write(context.Background(), []calllog.Record{
		{
			Time:     m(2),
			Tenant:   "a",
			Consumer: "c1",
			API:      "orders",
			Status:   200,
			Latency:  time.Millisecond,
			BytesOut: 10,
		},
		{
			Time:     m(2),
			Tenant:   "a",
			Consumer: "c1",
			API:      "orders",
			Status:   503,
			Latency:  time.Millisecond,
		},
		{
			Time:         m(1),
			Tenant:       "a",
			Consumer:     "c2",
			API:          "chat",
			Status:       200,
			InputTokens:  10,
			OutputTokens: 20,
			Cost:         0.5,
		},
		{
			Time:     m(0),
			Tenant:   "b",
			Consumer: "c9",
			API:      "orders",
			Status:   200,
		},
		{
			Time:     m(0),
			Tenant:   "a",
			Consumer: "c1",
			API:      "orders",
			Status:   200,
			Error:    "timeout",
		},
		{
			Time:   now.Add(-7 * time.Hour),
			Tenant: "a",
			API:    "orders",
			Status: 200,
		}, // beyond retention
	})
	series := agg.Series(calllog.Query{
		By:     calllog.ByAPI,
		Key:    "orders",
		Tenant: "a",
		From:   m(2),
		To:     m(-1),
	})
	if len(series) != 3 {
		t.Fatalf("got %d points, want 3", len(series))
	}
	wantReq := []uint64{2, 0, 1}
	wantErr := []uint64{1, 0, 1}
	for i, p := range series {
		if got, want := p.Requests, wantReq[i]; got != want {
			t.Errorf("point %d: %d requests, want %d", i, got, want)
		}
		if got, want := p.Errors, wantErr[i]; got != want {
			t.Errorf("point %d: %d errors, want %d", i, got, want)
		}
		if !p.Time.Equal(m(2 - i)) {
			t.Errorf("point %d at %v, want %v", i, p.Time, m(2-i))
		}
	}
	if got, want := series[0].ErrorRate, 0.5; got != want {
		t.Errorf("first point error rate = %v, want %v", got, want)
	}
	if got, want := series[0].Rate, 2.0/60; math.Abs(got-want) > 1e-9 {
		t.Errorf("first point rate = %v req/s, want %v", got, want)
	}
	if got, want := series[0].Bytes, int64(10); got != want {
		t.Errorf("first point bytes = %d, want %d", got, want)
	}
	tests := []struct {
		name string
		q    calllog.Query
		want uint64
	}{
		{"a tenant's total counts only its calls", calllog.Query{By: calllog.ByTenant, Key: "a"}, 4},
		{"an API's total across tenants is the operator's view", calllog.Query{By: calllog.ByAPI, Key: "orders"}, 4},
		{"one tenant never sees another tenant's calls to a shared API", calllog.Query{By: calllog.ByAPI, Key: "orders", Tenant: "b"}, 1},
		{"a consumer's calls are counted per consumer", calllog.Query{By: calllog.ByConsumer, Key: "c1", Tenant: "a"}, 3},
		{"a consumer ID in another tenant is a different consumer", calllog.Query{By: calllog.ByConsumer, Key: "c1", Tenant: "b"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := agg.Summary(tt.q).Requests; got != tt.want {
				t.Errorf("Requests = %d, want %d", got, tt.want)
			}
		})
	}
	chat := agg.Summary(calllog.Query{By: calllog.ByAPI, Key: "chat", Tenant: "a"})
	type summary struct {
		InputTokens, OutputTokens int64
		Cost                      float64
	}
	if got, want := (summary{chat.InputTokens, chat.OutputTokens, chat.Cost}), (summary{10, 20, 0.5}); got != want {
		t.Errorf("chat summary = %+v, want %+v", got, want)
	}
	if got := agg.Keys(calllog.ByAPI, "a"); !slices.Equal(got, []string{"chat", "orders"}) {
		t.Errorf("Keys = %v", got)
	}
}

func TestAggregatorCapsTheNumberOfSeries(t *testing.T) {
	t.Parallel()
	now := time.Now()
	agg := calllog.NewAggregator(calllog.AggregatorConfig{MaxSeries: 10, Now: func() time.Time { return now }})
	batch := make([]calllog.Record, 100)
	for i := range batch {
		batch[i] = calllog.Record{
			Time:     now,
			Tenant:   "t",
			Consumer: string(rune('a' + i)),
			Status:   200,
		}
	}
	_ = agg.Write(context.Background(), batch)
	if agg.Overflow() == 0 {
		t.Error("Overflow = 0 after 100 distinct consumers with MaxSeries 10")
	}
	if n := len(agg.Keys(calllog.ByConsumer, "")); n > 10 {
		t.Errorf("%d consumer series kept, want at most 10", n)
	}
}

func TestQueriesRunSafelyWhileCallsAreRecorded(t *testing.T) {
	t.Parallel()
	ring := calllog.NewRing(100)
	agg := calllog.NewAggregator(calllog.AggregatorConfig{Resolution: time.Second})
	rec := calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{ring, agg}, Batch: 8})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 2000 {
			rec.Record(&calllog.Record{
				Time:    time.Now(),
				Tenant:  "t",
				API:     "a",
				Status:  200 + i%400,
				Latency: time.Duration(i) * time.Microsecond,
			})
		}
	}()
	for range 50 {
		_ = agg.Series(calllog.Query{By: calllog.ByAPI, Key: "a", Step: time.Second})
		_ = ring.Query(calllog.Filter{Failed: true})
	}
	<-done
	flush(t, rec)
	closeRecorder(t, rec)
	if got := agg.Summary(calllog.Query{By: calllog.ByAPI, Key: "a"}).Requests + rec.Dropped(); got != 2000 {
		t.Errorf("aggregated plus dropped = %d, want 2000", got)
	}
}

func TestAggregatorDrillsDownFromConsumerToAPIToRoute(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)
	agg := calllog.NewAggregator(calllog.AggregatorConfig{Now: func() time.Time { return now }})
	_ = agg.Write(context.Background(), []calllog.Record{
		{
			Time:     now,
			Tenant:   "a",
			Consumer: "c1",
			API:      "orders",
			Route:    "/orders/{id}",
			Status:   200,
		},
		{
			Time:     now,
			Tenant:   "a",
			Consumer: "c1",
			API:      "orders",
			Route:    "/orders/{id}",
			Status:   502,
		},
		{
			Time:     now,
			Tenant:   "a",
			Consumer: "c1",
			API:      "orders",
			Route:    "/orders",
			Status:   200,
		},
		{
			Time:     now,
			Tenant:   "a",
			Consumer: "c1",
			API:      "chat",
			Route:    "/v1/chat/completions",
			Status:   200,
		},
		{
			Time:     now,
			Tenant:   "a",
			Consumer: "c2",
			API:      "orders",
			Route:    "/orders",
			Status:   200,
		},
		{
			Time:   now,
			Tenant: "a",
			Route:  "/health",
			Status: 200,
		}, // anonymous, outside any API
		{
			Time:     now,
			Tenant:   "a",
			Consumer: "",
			API:      "",
			Route:    "",
			Status:   404,
		}, // anonymous, no route
	})
	tests := []struct {
		name string
		q    calllog.Query
		want uint64
	}{
		{"a consumer's calls to one API", calllog.Query{
			By:       calllog.ByAPI,
			Key:      "orders",
			Tenant:   "a",
			Consumer: "c1",
		}, 3},
		{"all of a consumer's calls, merged over its APIs", calllog.Query{By: calllog.ByAPI, Tenant: "a", Consumer: "c1"}, 4},
		{"a consumer's calls to one route of an API", calllog.Query{
			By:       calllog.ByRoute,
			Key:      "/orders/{id}",
			Tenant:   "a",
			Consumer: "c1",
			API:      "orders",
		}, 2},
		{"every consumer's calls to one route of an API", calllog.Query{
			By:     calllog.ByRoute,
			Key:    "/orders",
			Tenant: "a",
			API:    "orders",
		}, 2},
		{"the unattributed calls on their own, not the total", calllog.Query{
			By:     calllog.ByConsumer,
			Key:    "",
			Exact:  true,
			Tenant: "a",
		}, 2},
		{"an empty key without Exact merges every consumer", calllog.Query{By: calllog.ByConsumer, Tenant: "a"}, 7},
		{"the calls outside any API on their own", calllog.Query{By: calllog.ByAPI, Exact: true, Tenant: "a"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := agg.Summary(tt.q).Requests; got != tt.want {
				t.Errorf("Requests = %d, want %d", got, tt.want)
			}
		})
	}
	if got, want := agg.KeysOf(calllog.Query{
		By:       calllog.ByRoute,
		Tenant:   "a",
		Consumer: "c1",
		API:      "orders",
	}), []string{"/orders", "/orders/{id}"}; !slices.Equal(got, want) {
		t.Errorf("routes of c1's orders calls = %v, want %v", got, want)
	}
	if got, want := agg.KeysOf(calllog.Query{By: calllog.ByAPI, Tenant: "a", Consumer: "c2"}), []string{"orders"}; !slices.Equal(got, want) {
		t.Errorf("APIs c2 called = %v, want %v", got, want)
	}
}
