package ai

import "sync"

// MetricLabels bounds the caller labels of the portico.ai.* metrics, so a
// gateway with many callers keeps a bounded number of series. The calls
// of a tenant (or consumer) past the cap count under the value
// [MetricLabelOverflow].
type MetricLabels struct {
	// Tenants is how many distinct tenants get a portico.tenant value of
	// their own, the first seen first. If zero, 200. If negative, the
	// metrics carry no tenant label.
	Tenants int `yaml:"tenants"`
	// Consumers is how many distinct consumers get a portico.consumer
	// value of their own. If zero, the metrics carry no consumer label:
	// consumers are usually too many for a metric, and the call log
	// names each call's consumer anyway.
	Consumers int `yaml:"consumers"`
}

// MetricLabelOverflow is the portico.tenant or portico.consumer value of
// the calls of a tenant or consumer past the cap of [MetricLabels].
const MetricLabelOverflow = "_other"

// defaultMetricTenants is MetricLabels.Tenants when zero.
const defaultMetricTenants = 200

// WithMetricLabels bounds the tenant and consumer labels of the AI
// metrics. By default, the metrics carry the tenant, for up to 200
// tenants, and no consumer.
func WithMetricLabels(l MetricLabels) Option {
	return optionFunc(func(c *config) { c.labels = l })
}

// labelCap admits up to limit distinct values of a label; the others
// read as MetricLabelOverflow. Admitted values stay admitted. It is safe
// for concurrent use; the meters consult it only for attributes their
// cache has not seen.
type labelCap struct {
	limit int // 0: the label is off
	mu    sync.Mutex
	seen  map[string]struct{}
}

func newLabelCap(limit int) *labelCap {
	return &labelCap{limit: max(limit, 0), seen: map[string]struct{}{}}
}

// on reports whether the label is written at all.
func (c *labelCap) on() bool { return c.limit > 0 }

// value returns v if it is admitted (admitting it if there is room), ""
// for "", and MetricLabelOverflow past the cap.
func (c *labelCap) value(v string) string {
	if v == "" {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[v]; ok {
		return v
	}
	if len(c.seen) >= c.limit {
		return MetricLabelOverflow
	}
	c.seen[v] = struct{}{}
	return v
}
