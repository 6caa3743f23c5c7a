package calllog

import (
	"context"
	"sync"
	"time"
)

// Ring is a bounded in-process [Sink] that keeps the most recent records,
// for the dashboard and the admin API. When full, the oldest record is
// overwritten. It is safe for concurrent use.
type Ring struct {
	mu   sync.RWMutex
	buf  []Record
	next int
	full bool
}

// NewRing returns a Ring holding at most capacity records.
// It panics if capacity < 1.
func NewRing(capacity int) *Ring {
	if capacity < 1 {
		panic("portico/calllog: NewRing needs a capacity >= 1")
	}
	return &Ring{buf: make([]Record, capacity)}
}

// Write implements [Sink].
func (g *Ring) Write(_ context.Context, batch []Record) error {
	g.mu.Lock()
	for i := range batch {
		g.buf[g.next] = batch[i]
		g.next++
		if g.next == len(g.buf) {
			g.next = 0
			g.full = true
		}
	}
	g.mu.Unlock()
	return nil
}

// Filter selects records in [Ring.Query]. Empty fields match everything.
type Filter struct {
	// Tenant restricts the result to one tenant. A tenant's view must always
	// set it: records of other tenants are never returned then.
	Tenant string
	// Consumer, API and Route restrict the result further.
	Consumer, API, Route string
	// Failed keeps only failed calls (see [Record.Failed]).
	Failed bool
	// Since keeps only records at or after this time.
	Since time.Time
	// Limit caps the number of records returned. Zero means 100.
	Limit int
}

func (f *Filter) match(r *Record) bool {
	return (f.Tenant == "" || r.Tenant == f.Tenant) &&
		(f.Consumer == "" || r.Consumer == f.Consumer) &&
		(f.API == "" || r.API == f.API) &&
		(f.Route == "" || r.Route == f.Route) &&
		(!f.Failed || r.Failed()) &&
		(f.Since.IsZero() || !r.Time.Before(f.Since))
}

// Query returns the records matching f, newest first.
func (g *Ring) Query(f Filter) []Record {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	n := g.next
	if g.full {
		n = len(g.buf)
	}
	out := []Record{}
	for i := 1; i <= n && len(out) < limit; i++ {
		r := &g.buf[(g.next-i+len(g.buf))%len(g.buf)]
		if f.match(r) {
			out = append(out, *r)
		}
	}
	return out
}

// Len returns the number of records held.
func (g *Ring) Len() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.full {
		return len(g.buf)
	}
	return g.next
}
