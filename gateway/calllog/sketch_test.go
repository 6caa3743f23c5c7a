package calllog_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/portico-dev/portico/gateway/calllog"
)

// exact returns the value of rank floor(q·(n-1)) of sorted, the definition
// the sketch follows.
func exact(sorted []float64, q float64) float64 {
	return sorted[int(q*float64(len(sorted)-1))]
}

func TestSketchQuantilesAreWithinOnePercentOfExact(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		gen  func() float64
	}{
		{"uniform latencies between 1ms and 100ms", func() float64 { return 1e6 + rng.Float64()*99e6 }},
		{"log-normal latencies with a long tail", func() float64 { return math.Exp(rng.NormFloat64()*1.5 + 16) }},
		{"a bimodal mix of cache hits and slow upstream calls", func() float64 {
			if rng.IntN(10) < 7 {
				return 2e5 + rng.Float64()*1e5
			}
			return 5e8 + rng.Float64()*2e9
		}},
		{"exponential latencies", func() float64 { return rng.ExpFloat64() * 3e7 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := calllog.NewSketch(0.005)
			vals := make([]float64, 20000)
			for i := range vals {
				vals[i] = tt.gen()
				s.Add(vals[i])
			}
			slices.Sort(vals)
			for _, q := range []float64{0, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
				want, got := exact(vals, q), s.Quantile(q)
				if rel := math.Abs(got-want) / want; rel > 0.01 {
					t.Errorf("q=%v: sketch %v, exact %v: relative error %.4f > 1%%", q, got, want, rel)
				}
			}
			if s.Count() != uint64(len(vals)) {
				t.Errorf("Count = %d, want %d", s.Count(), len(vals))
			}
		})
	}
}

func TestSketchMergeEqualsOneSketchOfAllValues(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	a, b, all := calllog.NewSketch(0.005), calllog.NewSketch(0.005), calllog.NewSketch(0.005)
	for i := range 5000 {
		v := math.Exp(rng.NormFloat64()*2 + 10)
		if i%2 == 0 {
			a.Add(v)
		} else {
			b.Add(v)
		}
		all.Add(v)
	}
	a.Merge(b)
	for _, q := range []float64{0.1, 0.5, 0.95, 0.99} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Errorf("q=%v: merged %v, single %v", q, a.Quantile(q), all.Quantile(q))
		}
	}
}

func TestSketchCountsZeroAndNegativeValuesAsZero(t *testing.T) {
	t.Parallel()
	s := calllog.NewSketch(0.01)
	if got := s.Quantile(0.5); got != 0 {
		t.Errorf("empty sketch quantile = %v, want 0", got)
	}
	s.Add(0)
	s.Add(-3)
	s.Add(math.NaN())
	s.Add(100)
	if got := s.Quantile(0); got != 0 {
		t.Errorf("q=0 = %v, want 0", got)
	}
	if got := s.Quantile(1); math.Abs(got-100)/100 > 0.01 {
		t.Errorf("q=1 = %v, want 100 within 1%%", got)
	}
}

func FuzzSketchQuantileStaysWithinRelativeError(f *testing.F) {
	f.Add(1.0, 2.0, 3.0, 0.5)
	f.Add(1e-9, 1e9, 5.5, 0.99)
	f.Fuzz(func(t *testing.T, a, b, c, q float64) {
		if math.IsNaN(q) || q < 0 || q > 1 {
			return
		}
		vals := []float64{}
		s := calllog.NewSketch(0.005)
		for _, v := range []float64{a, b, c} {
			if v > 1e-300 && v < 1e300 {
				vals = append(vals, v)
				s.Add(v)
			}
		}
		if len(vals) == 0 {
			return
		}
		slices.Sort(vals)
		want, got := exact(vals, q), s.Quantile(q)
		if rel := math.Abs(got-want) / want; rel > 0.0051 {
			t.Fatalf("values %v q=%v: got %v want %v (rel %v)", vals, q, got, want, rel)
		}
	})
}
