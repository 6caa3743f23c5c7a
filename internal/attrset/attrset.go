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
// strings and numbers) to the measurement options with their set. The
// zero value is ready to use.
type Cache[K comparable] struct {
	mu   sync.RWMutex
	sets map[K]Options
}

// Options are a set's measurement option as the one-element lists that
// Record and Add take: passing them with ... allocates nothing, where a
// single option passed to a method of an instrument interface allocates
// the list. They must not be modified.
type Options struct {
	Record []metric.RecordOption
	Add    []metric.AddOption
}

// NewOptions returns the options of set.
func NewOptions(set attribute.Set) Options {
	opt := metric.WithAttributeSet(set)
	return Options{Record: []metric.RecordOption{opt}, Add: []metric.AddOption{opt}}
}

// Get returns the options for k, building its set with build the first
// time.
func (c *Cache[K]) Get(k K, build func(K) attribute.Set) Options {
	c.mu.RLock()
	opts, ok := c.sets[k]
	c.mu.RUnlock()
	if ok {
		return opts
	}
	opts = NewOptions(build(k))
	c.mu.Lock()
	if c.sets == nil {
		c.sets = map[K]Options{}
	}
	if len(c.sets) < Max {
		c.sets[k] = opts
	}
	c.mu.Unlock()
	return opts
}

// Len returns how many sets c keeps.
func (c *Cache[K]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.sets)
}
