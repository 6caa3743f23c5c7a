package upstream_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/portico-dev/portico/gateway/upstream"
)

// lagging is a backend that moves the fake clock on by its delay before
// answering, so that the pool sees it take that long.
func lagging(t *testing.T, name string, clock *fakeClock, delay time.Duration) (*backend, *atomic.Int64) {
	t.Helper()
	d := &atomic.Int64{}
	d.Store(int64(delay))
	b := newBackendWith(t, name, func(w http.ResponseWriter, r *http.Request) {
		clock.Advance(time.Duration(d.Load()))
		io.WriteString(w, name)
	})
	return b, d
}

// TestSlowInstanceIsEjected checks that an instance answering slowly
// three times in a row is ejected for the base period, counted with
// reason "slow", and sent nothing more.
func TestSlowInstanceIsEjected(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	reader := sdkmetric.NewManualReader()
	fast, _ := lagging(t, "fast", clock, 0)
	slow, _ := lagging(t, "slow", clock, 2*time.Second)
	p := newPool(t, upstream.Config{
		Instances:     []upstream.Instance{{URL: fast.url()}, {URL: slow.url()}},
		Outlier:       &upstream.OutlierDetection{Slow: &upstream.SlowOutlier{Threshold: time.Second}},
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
		Now:           clock.Now,
	})
	for range 6 { // round robin: fast, slow, fast, slow, fast, slow
		if _, _, err := get(p, "/"); err != nil {
			t.Fatal(err)
		}
	}
	s := status(t, p, slow.url())
	if !s.Ejected {
		t.Fatalf("slow instance not ejected after three slow responses: %+v", s)
	}
	if got, want := s.EjectedUntil, clock.Now().Add(30*time.Second); !got.Equal(want) {
		t.Errorf("ejected until %v, want %v (the base ejection)", got, want)
	}
	if status(t, p, fast.url()).Ejected {
		t.Error("fast instance ejected")
	}
	before := slow.hits.Load()
	for range 20 {
		get(p, "/")
	}
	if got := slow.hits.Load() - before; got != 0 {
		t.Errorf("the ejected instance was sent %d requests, want 0", got)
	}
	ej, ok := collect(t, reader)["portico.upstream.ejections"].(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("ejections %+v, want a Sum[int64]", ej)
	}
	if got, want := len(ej.DataPoints), 1; got != want {
		t.Fatalf("ejections have %d data points, want %d", got, want)
	}
	if v, _ := ej.DataPoints[0].Attributes.Value("reason"); v.AsString() != "slow" {
		t.Errorf("ejection reason %q, want slow", v.AsString())
	}
}

// TestSlowEjectionComparesWithPeers checks the peer factor: a slowdown of
// every instance ejects none, an instance much slower than its peers is
// ejected, and without the comparison the threshold alone decides.
func TestSlowEjectionComparesWithPeers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		delays     []time.Duration
		peerFactor float64
		want       []bool // ejected, by instance
	}{
		{
			name:   "a slowdown of every instance ejects none",
			delays: []time.Duration{2 * time.Second, 2 * time.Second},
			want:   []bool{false, false},
		},
		{
			name:   "an instance over twice as slow as its peers is ejected",
			delays: []time.Duration{1500 * time.Millisecond, 1500 * time.Millisecond, 4 * time.Second},
			want:   []bool{false, false, true},
		},
		{
			name:       "a larger peer factor spares an instance under it",
			delays:     []time.Duration{1500 * time.Millisecond, 1500 * time.Millisecond, 4 * time.Second},
			peerFactor: 5,
			want:       []bool{false, false, false},
		},
		{
			name:       "without the comparison the threshold alone ejects",
			delays:     []time.Duration{2 * time.Second, 2 * time.Second},
			peerFactor: -1,
			want:       []bool{true, false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			var instances []upstream.Instance
			for i, d := range tt.delays {
				b, _ := lagging(t, string(rune('a'+i)), clock, d)
				instances = append(instances, upstream.Instance{URL: b.url()})
			}
			p := newPool(t, upstream.Config{
				Instances: instances,
				Outlier: &upstream.OutlierDetection{Slow: &upstream.SlowOutlier{
					Threshold: time.Second, Consecutive: 2, PeerFactor: tt.peerFactor,
				}},
				Now: clock.Now,
			})
			// Four rounds: every instance answers slowly at least twice,
			// and the fake clock stays within the 30s ejection.
			for range 4 * len(instances) {
				get(p, "/")
			}
			for i, in := range instances {
				if got := status(t, p, in.URL).Ejected; got != tt.want[i] {
					t.Errorf("instance %d (%v): ejected %v, want %v", i, tt.delays[i], got, tt.want[i])
				}
			}
		})
	}
}

// TestQuickResponseBreaksASlowSeries checks that slow responses must come
// in a row: an instance slow every other time is never ejected.
func TestQuickResponseBreaksASlowSeries(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	var n atomic.Int64
	flaky := newBackendWith(t, "flaky", func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 1 {
			clock.Advance(2 * time.Second)
		}
	})
	p := newPool(t, upstream.Config{
		Instances: []upstream.Instance{{URL: flaky.url()}},
		Outlier:   &upstream.OutlierDetection{Slow: &upstream.SlowOutlier{Consecutive: 2, PeerFactor: -1}},
		Now:       clock.Now,
	})
	for range 20 {
		get(p, "/")
	}
	if s := p.Status()[0]; s.Ejected {
		t.Fatalf("an instance slow every other time was ejected: %+v", s)
	}
}

// TestSlowAttemptsThatEndWithoutAnswerCount checks that an attempt ended
// before its answer counts as slow when it had already waited the
// threshold, whoever ended it, and not otherwise.
func TestSlowAttemptsThatEndWithoutAnswerCount(t *testing.T) {
	t.Parallel()
	errPerTry := errors.New("per-try timeout")
	tests := []struct {
		name   string
		wait   time.Duration // fake time the attempt waits before it ends
		cause  error
		ejects bool
	}{
		{
			name:   "an attempt cut by a per-try timeout after the threshold",
			wait:   2 * time.Second,
			cause:  errPerTry,
			ejects: true,
		},
		{
			name:   "a request the caller canceled after the threshold",
			wait:   2 * time.Second,
			cause:  context.Canceled,
			ejects: true,
		},
		{
			name:   "a request the caller canceled at once",
			wait:   0,
			cause:  context.Canceled,
			ejects: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			started := make(chan struct{}, 10)
			hang := newBackendWith(t, "hang", func(w http.ResponseWriter, r *http.Request) {
				clock.Advance(tt.wait)
				started <- struct{}{}
				<-r.Context().Done()
			})
			p := newPool(t, upstream.Config{
				Instances: []upstream.Instance{{URL: hang.url()}},
				// Only slowness ejects here.
				Outlier: &upstream.OutlierDetection{Consecutive5xx: -1, ConsecutiveConnErrors: -1,
					Slow: &upstream.SlowOutlier{Threshold: time.Second, Consecutive: 2, PeerFactor: -1}},
				Now: clock.Now,
			})
			for range 2 {
				ctx, cancel := context.WithCancelCause(context.Background())
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://pool/", nil)
				go func() { <-started; cancel(tt.cause) }()
				if _, err := p.RoundTrip(req); err == nil {
					t.Fatal("an ended request succeeded")
				}
			}
			if got := p.Status()[0].Ejected; got != tt.ejects {
				t.Errorf("ejected %v, want %v", got, tt.ejects)
			}
		})
	}
}

// TestSlowEjectedInstanceRejoinsOnlyWhenFast checks panic mode: an
// instance ejected for slowness and picked because no other is left stays
// ejected while it answers slowly, and rejoins on its first quick answer.
func TestSlowEjectedInstanceRejoinsOnlyWhenFast(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	only, delay := lagging(t, "only", clock, 2*time.Second)
	p := newPool(t, upstream.Config{
		Instances: []upstream.Instance{{URL: only.url()}},
		Outlier: &upstream.OutlierDetection{BaseEjection: time.Hour,
			Slow: &upstream.SlowOutlier{Threshold: time.Second, Consecutive: 1, PeerFactor: -1}},
		Now: clock.Now,
	})
	get(p, "/")
	if !p.Status()[0].Ejected {
		t.Fatal("not ejected after a slow response")
	}
	get(p, "/") // panic mode
	if !p.Status()[0].Ejected {
		t.Fatal("a slow answer in panic mode ended the ejection")
	}
	delay.Store(0)
	get(p, "/")
	if s := p.Status()[0]; s.Ejected {
		t.Fatalf("a quick answer in panic mode did not end the ejection: %+v", s)
	}
}
