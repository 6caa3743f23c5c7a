package calllog

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Dimension is what an aggregate is grouped by.
type Dimension string

// The dimensions the [Aggregator] keeps.
const (
	ByAPI      Dimension = "api"
	ByConsumer Dimension = "consumer"
	ByTenant   Dimension = "tenant"
	// ByRoute groups by route template, within one API (and optionally one
	// consumer): set [Query.API].
	ByRoute Dimension = "route"
)

// AggregatorConfig configures an [Aggregator]. The zero value keeps six
// hours of one-minute windows with percentiles within 0.5%.
type AggregatorConfig struct {
	// Resolution is the width of a time window. If zero, one minute is used.
	Resolution time.Duration
	// Retention is how long windows are kept. If zero, six hours are kept.
	Retention time.Duration
	// Accuracy is the relative error of latency percentiles. If zero, 0.005.
	Accuracy float64
	// MaxSeries caps the number of (dimension, tenant, key) series, so that
	// a flood of distinct consumers cannot exhaust memory; records for new
	// series beyond it are counted in [Aggregator.Overflow] only.
	// If zero, 10000 is used.
	MaxSeries int
	// Now is the clock, used to expire old windows. If nil, time.Now is used.
	Now func() time.Time
}

// Aggregator is a [Sink] that aggregates calls per API, consumer and tenant
// over time windows: request and error counts, latency percentiles, bytes,
// AI tokens and cost. For drilling down it also keeps each consumer's calls
// per API and per route of an API, and each API's calls per route (see
// [Query.Consumer] and [Query.API]). It is safe for concurrent use.
type Aggregator struct {
	res, keep time.Duration
	alpha     float64
	max       int
	now       func() time.Time
	mu        sync.Mutex
	series    map[seriesKey]*series
	probe     *Sketch // computes bucket indexes; holds no values
	expired   int64   // the horizon's window at the last expiry
	overflow  atomic.Uint64
}

type seriesKey struct {
	dim         Dimension
	tenant, key string
	// consumer and api scope the series to one consumer or API; both are
	// empty for the top-level series.
	consumer, api string
}

type series struct {
	windows map[int64]*window // by window start in Unix nanoseconds
}

type window struct {
	requests, errors    uint64
	bytes               int64
	inTokens, outTokens int64
	cost                float64
	latency             *Sketch
}

// NewAggregator returns an empty Aggregator. It panics on a negative
// setting or an Accuracy >= 1.
func NewAggregator(cfg AggregatorConfig) *Aggregator {
	if cfg.Resolution < 0 || cfg.Retention < 0 || cfg.MaxSeries < 0 || cfg.Accuracy < 0 || cfg.Accuracy >= 1 {
		panic("portico/calllog: AggregatorConfig needs Resolution, Retention, MaxSeries >= 0 and 0 <= Accuracy < 1")
	}
	a := &Aggregator{res: cfg.Resolution, keep: cfg.Retention, alpha: cfg.Accuracy, max: cfg.MaxSeries, now: cfg.Now,
		series: make(map[seriesKey]*series)}
	if a.res == 0 {
		a.res = time.Minute
	}
	if a.keep == 0 {
		a.keep = 6 * time.Hour
	}
	if a.alpha == 0 {
		a.alpha = 0.005
	}
	if a.max == 0 {
		a.max = 10000
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.probe = NewSketch(a.alpha)
	return a
}

// Retention returns how long the Aggregator keeps its windows.
func (a *Aggregator) Retention() time.Duration { return a.keep }

// Overflow returns the number of series updates dropped because
// MaxSeries was reached.
func (a *Aggregator) Overflow() uint64 { return a.overflow.Load() }

// Write implements [Sink].
func (a *Aggregator) Write(_ context.Context, batch []Record) error {
	horizon := a.now().Add(-a.keep).UnixNano()
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range batch {
		r := &batch[i]
		start := r.Time.Truncate(a.res).UnixNano()
		if start < horizon {
			continue
		}
		// One logarithm per record, shared by its series.
		idx := a.probe.index(float64(r.Latency))
		a.add(seriesKey{dim: ByTenant, tenant: r.Tenant, key: r.Tenant}, start, idx, r)
		a.add(seriesKey{dim: ByAPI, tenant: r.Tenant, key: r.API}, start, idx, r)
		a.add(seriesKey{dim: ByConsumer, tenant: r.Tenant, key: r.Consumer}, start, idx, r)
		if r.API != "" {
			a.add(seriesKey{dim: ByRoute, tenant: r.Tenant, key: r.Route, api: r.API}, start, idx, r)
		}
		if r.Consumer != "" {
			a.add(seriesKey{dim: ByAPI, tenant: r.Tenant, key: r.API, consumer: r.Consumer}, start, idx, r)
			if r.API != "" {
				a.add(seriesKey{dim: ByRoute, tenant: r.Tenant, key: r.Route, consumer: r.Consumer, api: r.API}, start, idx, r)
			}
		}
	}
	// Windows leave the retention one resolution at a time: expire when
	// the horizon enters a new one, not on every batch.
	if w := horizon / int64(a.res); w != a.expired {
		a.expired = w
		a.expire(horizon)
	}
	return nil
}

func (a *Aggregator) add(k seriesKey, start int64, idx int, r *Record) {
	s := a.series[k]
	if s == nil {
		if len(a.series) >= a.max {
			a.overflow.Add(1)
			return
		}
		s = &series{windows: make(map[int64]*window)}
		a.series[k] = s
	}
	w := s.windows[start]
	if w == nil {
		w = &window{latency: NewSketch(a.alpha)}
		s.windows[start] = w
	}
	w.requests++
	if r.Failed() {
		w.errors++
	}
	w.bytes += r.BytesIn + r.BytesOut
	w.inTokens += r.InputTokens
	w.outTokens += r.OutputTokens
	w.cost += r.Cost
	w.latency.addIndex(idx)
}

func (a *Aggregator) expire(horizon int64) {
	for k, s := range a.series {
		for start := range s.windows {
			if start < horizon {
				delete(s.windows, start)
			}
		}
		if len(s.windows) == 0 {
			delete(a.series, k)
		}
	}
}

// Query selects the calls an aggregate covers.
type Query struct {
	// By is the dimension; Key its value (an API name, a consumer ID or a
	// tenant). An empty Key with By set merges every key of the dimension.
	// If By is empty, [ByTenant] is used.
	By  Dimension
	Key string
	// Exact matches Key even when it is empty: the calls with no value in
	// the dimension (anonymous calls, calls outside any API), on their own.
	Exact bool
	// Consumer and API narrow the aggregate for drilling down: the calls
	// of one consumer per API (By [ByAPI], Consumer set), per route (By
	// [ByRoute], Consumer and API set), or the calls of one API per route
	// (By [ByRoute], API set). Anonymous calls and calls outside any API
	// are not kept this way.
	Consumer, API string
	// Tenant restricts the aggregate to one tenant's calls. A tenant's view
	// must always set it. Empty merges all tenants (an operator's view).
	Tenant string
	// From and To bound the windows [From, To), within the retention. A
	// zero From means the whole retention; a zero To includes the window
	// holding now.
	From, To time.Time
	// Step is the width of one point of a series; it is rounded up to a
	// multiple of the resolution. If zero, the resolution is used.
	Step time.Duration
}

// Point is the aggregate of the calls in one time span.
type Point struct {
	Time         time.Time     `json:"time"`
	Requests     uint64        `json:"requests"`
	Errors       uint64        `json:"errors"`
	Rate         float64       `json:"rate"`       // requests per second
	ErrorRate    float64       `json:"error_rate"` // errors / requests, 0..1
	P50          time.Duration `json:"p50_ns"`
	P95          time.Duration `json:"p95_ns"`
	P99          time.Duration `json:"p99_ns"`
	Bytes        int64         `json:"bytes"`
	InputTokens  int64         `json:"input_tokens"`
	OutputTokens int64         `json:"output_tokens"`
	Cost         float64       `json:"cost"`
}

// Series returns one [Point] per Step of q, oldest first, including empty
// steps, so a chart has a point for every interval.
func (a *Aggregator) Series(q Query) []Point {
	from, to, step := a.bounds(q)
	n := int((to - from + step - 1) / step)
	acc := make([]*window, n)
	a.collect(q, from, to, func(start int64, w *window) {
		i := int((start - from) / step)
		if acc[i] == nil {
			acc[i] = &window{latency: NewSketch(a.alpha)}
		}
		acc[i].merge(w)
	})
	out := make([]Point, n)
	for i := range out {
		out[i] = acc[i].point(time.Unix(0, from+int64(i)*step), time.Duration(step))
	}
	return out
}

// Summary returns one [Point] for the whole span of q.
func (a *Aggregator) Summary(q Query) Point {
	from, to, _ := a.bounds(q)
	acc := &window{latency: NewSketch(a.alpha)}
	a.collect(q, from, to, func(_ int64, w *window) { acc.merge(w) })
	return acc.point(time.Unix(0, from), time.Duration(to-from))
}

// Keys returns the keys of dimension by that have calls in the retention,
// restricted to tenant unless it is empty, sorted.
func (a *Aggregator) Keys(by Dimension, tenant string) []string {
	return a.KeysOf(Query{By: by, Tenant: tenant})
}

// KeysOf returns the keys of dimension q.By that have calls in the
// retention within q's Tenant (unless empty), Consumer and API, sorted.
func (a *Aggregator) KeysOf(q Query) []string {
	a.mu.Lock()
	seen := map[string]bool{}
	for k := range a.series {
		if k.dim == q.By && (q.Tenant == "" || k.tenant == q.Tenant) && k.consumer == q.Consumer && k.api == q.API {
			seen[k.key] = true
		}
	}
	a.mu.Unlock()
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (a *Aggregator) bounds(q Query) (from, to, step int64) {
	res := int64(a.res)
	step = int64(q.Step)
	if step <= 0 {
		step = res
	}
	step = (step + res - 1) / res * res
	// By default the window holding now is the last one. Nothing lies
	// beyond it or before the retention, so the bounds are clamped there,
	// which also bounds the size of a series.
	now := a.now().UnixNano()
	last := now/res*res + res
	to = last
	if !q.To.IsZero() {
		to = min(q.To.UnixNano(), last)
	}
	oldest := (now - int64(a.keep)) / res * res
	from = oldest
	if !q.From.IsZero() {
		from = max(q.From.UnixNano()/res*res, oldest)
	}
	if to <= from {
		to = from + step
	}
	return from, to, step
}

func (a *Aggregator) collect(q Query, from, to int64, f func(int64, *window)) {
	by := q.By
	if by == "" {
		by = ByTenant
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, s := range a.series {
		if k.dim != by || ((q.Key != "" || q.Exact) && k.key != q.Key) || (q.Tenant != "" && k.tenant != q.Tenant) ||
			k.consumer != q.Consumer || k.api != q.API {
			continue
		}
		for start, w := range s.windows {
			if start >= from && start < to {
				f(start, w)
			}
		}
	}
}

func (w *window) merge(o *window) {
	w.requests += o.requests
	w.errors += o.errors
	w.bytes += o.bytes
	w.inTokens += o.inTokens
	w.outTokens += o.outTokens
	w.cost += o.cost
	w.latency.Merge(o.latency)
}

func (w *window) point(t time.Time, span time.Duration) Point {
	p := Point{Time: t.UTC()}
	if w == nil || w.requests == 0 {
		return p
	}
	p.Requests, p.Errors = w.requests, w.errors
	p.Rate = float64(w.requests) / span.Seconds()
	p.ErrorRate = float64(w.errors) / float64(w.requests)
	p.P50 = time.Duration(w.latency.Quantile(0.50))
	p.P95 = time.Duration(w.latency.Quantile(0.95))
	p.P99 = time.Duration(w.latency.Quantile(0.99))
	p.Bytes, p.InputTokens, p.OutputTokens, p.Cost = w.bytes, w.inTokens, w.outTokens, w.cost
	return p
}
