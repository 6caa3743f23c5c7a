package main

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"time"
)

// order is one order of the API.
type order struct {
	ID        string    `json:"id"`
	Item      string    `json:"item"`
	Quantity  int       `json:"quantity"`
	CreatedAt time.Time `json:"created_at"`
}

// store keeps orders in memory and fans new ones out to subscribers.
type store struct {
	mu     sync.Mutex
	orders map[string]order
	subs   map[chan order]struct{}
	done   chan struct{}
	closed bool
}

func newStore() *store {
	return &store{orders: map[string]order{}, subs: map[chan order]struct{}{}, done: make(chan struct{})}
}

func (s *store) create(item string, quantity int) order {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	o := order{ID: hex.EncodeToString(b), Item: item, Quantity: quantity, CreatedAt: time.Now().UTC()}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orders[o.ID] = o
	for ch := range s.subs {
		select {
		case ch <- o:
		default: // a slow subscriber misses events rather than blocking orders
		}
	}
	return o
}

func (s *store) get(id string) (order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	return o, ok
}

func (s *store) list() []order {
	s.mu.Lock()
	out := make([]order, 0, len(s.orders))
	for _, o := range s.orders {
		out = append(out, o)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b order) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func (s *store) delete(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.orders[id]
	delete(s.orders, id)
	return ok
}

// subscribe returns a channel of new orders and a function that ends the
// subscription; done is closed when the store shuts down.
func (s *store) subscribe() (ch chan order, cancel func(), done <-chan struct{}) {
	ch = make(chan order, 16)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}, s.done
}

// close ends every subscription.
func (s *store) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
}
