package upstream

import (
	"context"
	"sync"
)

type attemptsKey struct{}

// attempts records the instances tried for one logical request.
type attempts struct {
	mu    sync.Mutex
	tried []*instance
}

// TrackAttempts returns a context under which successive round trips of
// one logical request through a [Pool], such as the attempts of a retrying
// transport wrapped around it, prefer instances that have not been tried
// yet for this request. Call it once per incoming request, before the
// retrying layer; without it every attempt is an independent pick.
func TrackAttempts(ctx context.Context) context.Context {
	if _, ok := ctx.Value(attemptsKey{}).(*attempts); ok {
		return ctx
	}
	return context.WithValue(ctx, attemptsKey{}, &attempts{})
}

func attemptsFrom(ctx context.Context) *attempts {
	a, _ := ctx.Value(attemptsKey{}).(*attempts)
	return a
}

func (a *attempts) has(in *instance) bool {
	if a == nil {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, t := range a.tried {
		if t == in {
			return true
		}
	}
	return false
}

func (a *attempts) add(in *instance) {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.tried = append(a.tried, in)
	a.mu.Unlock()
}

func (a *attempts) empty() bool {
	if a == nil {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.tried) == 0
}

// triedAfter reports whether another instance was tried for the request
// after the last time in was: whether an attempt to in was followed by
// another one, such as a hedge.
func (a *attempts) triedAfter(in *instance) bool {
	if a == nil {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := len(a.tried) - 1; i >= 0; i-- {
		if a.tried[i] == in {
			return i < len(a.tried)-1
		}
	}
	return false
}
