// Package attrset caches the metric attribute sets of a hot path, so a
// measurement whose attributes were seen before allocates nothing.
package attrset

import (
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Max bounds the sets a Cache keeps; past it, a set is built for each
// measurement, as without a cache.
const Max = 1024

// Cache maps what a measurement's attributes are made of (K, a struct of
// strings and numbers) to the measurement option with their set. The
// zero value is ready to use.
type Cache[K comparable] struct {
	mu   sync.RWMutex
	sets map[K]metric.MeasurementOption
}

// Get returns the option for k, building its set with build the first
// time.
func (c *Cache[K]) Get(k K, build func(K) attribute.Set) metric.MeasurementOption {
	c.mu.RLock()
	opt, ok := c.sets[k]
	c.mu.RUnlock()
	if ok {
		return opt
	}
	opt = metric.WithAttributeSet(build(k))
	c.mu.Lock()
	if c.sets == nil {
		c.sets = map[K]metric.MeasurementOption{}
	}
	if len(c.sets) < Max {
		c.sets[k] = opt
	}
	c.mu.Unlock()
	return opt
}

// Len returns how many sets c keeps.
func (c *Cache[K]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.sets)
}
