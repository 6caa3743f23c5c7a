package resilience

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/common"
	"github.com/failsafe-go/failsafe-go/policy"
)

// step is one failsafe-go policy executor applied around what it wraps:
// the shape of failsafe-go's compositions.
type step = func(failsafe.Execution[*try]) *common.PolicyResult[*try]

// applier is what every failsafe-go policy executor implements: it wraps
// the inner step.
type applier interface {
	Apply(inner step) step
}

// wrap applies policy p around inner, as failsafe-go's executor does for
// each policy of a composition.
func wrap(p failsafe.Policy[*try], inner step) step {
	return p.ToExecutor(nil).(applier).Apply(inner)
}

// runState is what the executions of one call share: failsafe-go's
// execution keeps it behind six pointers, allocated for every call; a
// call holds it in place.
type runState struct {
	c          *call
	mu         sync.Mutex
	start      time.Time
	attempts   atomic.Uint32
	retries    atomic.Uint32
	hedges     atomic.Uint32
	executions atomic.Uint32
	deferred   atomic.Bool                // the cancellation of a context is deferred to a response body
	canceled   *common.PolicyResult[*try] // the result a cancellation left; guarded by mu

	// The contexts the executions made, guarded by mu: they are all
	// cancelled once the call is over (see end).
	cancels []context.CancelFunc
	buf     [3]context.CancelFunc
	ended   bool
}

// execution is the execution failsafe-go's policy executors (retry, hedge,
// timeout, fallback) run on, an implementation of failsafe-go's
// policy.ExecutionInternal. It follows failsafe-go's own (v0.9.8) field
// for field and method for method: a Transport runs its composition of
// failsafe-go policies itself rather than through failsafe.Executor, which
// makes each policy's executor and composes them anew on every call, so
// that the stateless ones are composed once (see [Transport.compose]) and
// the root execution lives in the call.
type execution struct {
	s            *runState
	ctx          context.Context
	cancel       context.CancelFunc
	attemptStart time.Time
	hedge        bool
	lastResult   *try
	lastError    error
}

var _ policy.ExecutionInternal[*try] = (*execution)(nil)

// begin makes e the root execution of call c, whose context it runs
// under, as failsafe-go's executor makes a new execution for each call.
func (s *runState) begin(c *call, e *execution) {
	now := time.Now()
	s.c, s.start = c, now
	s.attempts.Store(1)
	*e = execution{s: s, ctx: c, attemptStart: now}
}

// track notes a context an execution made, to be cancelled by end.
func (s *runState) track(cancel context.CancelFunc) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		cancel()
		return
	}
	if s.cancels == nil {
		s.cancels = s.buf[:0]
	}
	s.cancels = append(s.cancels, cancel)
	s.mu.Unlock()
}

// pending reports whether end has contexts to cancel.
func (s *runState) pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.cancels) > 0
}

// end cancels every context the call's executions made, once the call
// is over: with no response, or when the response body is closed. The
// policies end most of them as they return, but failsafe-go defers the
// cancellation of the contexts a response's body streams under, and
// leaves those of the policies around it (an overall timeout, a hedge)
// to the caller.
func (s *runState) end() {
	s.mu.Lock()
	cancels := s.cancels
	s.cancels, s.ended = nil, true
	s.mu.Unlock()
	for _, cancel := range cancels {
		cancel()
	}
}

// Attempts implements failsafe.ExecutionInfo.
func (e *execution) Attempts() int { return int(e.s.attempts.Load()) }

// Executions implements failsafe.ExecutionInfo.
func (e *execution) Executions() int { return int(e.s.executions.Load()) }

// Retries implements failsafe.ExecutionInfo.
func (e *execution) Retries() int { return int(e.s.retries.Load()) }

// Hedges implements failsafe.ExecutionInfo.
func (e *execution) Hedges() int { return int(e.s.hedges.Load()) }

// StartTime implements failsafe.ExecutionInfo.
func (e *execution) StartTime() time.Time { return e.s.start }

// ElapsedTime implements failsafe.ExecutionInfo.
func (e *execution) ElapsedTime() time.Duration { return time.Since(e.s.start) }

// Context implements failsafe.ExecutionInfo.
func (e *execution) Context() context.Context { return e.ctx }

// IsFirstAttempt implements failsafe.ExecutionAttempt.
func (e *execution) IsFirstAttempt() bool { return e.s.attempts.Load() == 1 }

// IsRetry implements failsafe.ExecutionAttempt.
func (e *execution) IsRetry() bool { return e.s.attempts.Load() > 1 }

// IsHedge implements failsafe.ExecutionAttempt.
func (e *execution) IsHedge() bool { return e.hedge }

// LastResult implements failsafe.ExecutionAttempt.
func (e *execution) LastResult() *try { return e.lastResult }

// LastError implements failsafe.ExecutionAttempt.
func (e *execution) LastError() error {
	if e.lastError == nil && e.ctx.Err() != nil {
		return e.ctx.Err()
	}
	return e.lastError
}

// AttemptStartTime implements failsafe.ExecutionAttempt.
func (e *execution) AttemptStartTime() time.Time { return e.attemptStart }

// ElapsedAttemptTime implements failsafe.ExecutionAttempt.
func (e *execution) ElapsedAttemptTime() time.Duration { return time.Since(e.attemptStart) }

// IsCanceled implements failsafe.Execution.
func (e *execution) IsCanceled() bool { return e.ctx.Err() != nil }

// Canceled implements failsafe.Execution.
func (e *execution) Canceled() <-chan struct{} { return e.ctx.Done() }

// RecordResult implements policy.ExecutionInternal.
func (e *execution) RecordResult(r *common.PolicyResult[*try]) *common.PolicyResult[*try] {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	if canceled, res := e.canceledWithResult(); canceled {
		return res
	}
	if r != nil {
		e.lastResult, e.lastError = r.Result, r.Error
	}
	return nil
}

// InitializeRetry implements policy.ExecutionInternal.
func (e *execution) InitializeRetry() *common.PolicyResult[*try] {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	if canceled, res := e.canceledWithResult(); canceled {
		return res
	}
	if e.s.attempts.Add(1) > 1 {
		e.s.retries.Add(1)
	}
	e.attemptStart = time.Now()
	e.s.canceled = nil
	return nil
}

// Cancel implements policy.ExecutionInternal.
func (e *execution) Cancel(r *common.PolicyResult[*try]) {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	if canceled, _ := e.canceledWithResult(); canceled {
		return
	}
	if r != nil {
		e.s.canceled = r
		e.lastResult, e.lastError = r.Result, r.Error
	}
	if e.cancel != nil && (r != nil || !e.s.deferred.Load()) {
		e.cancel()
	}
}

// DeferCancel implements policy.ExecutionInternal.
func (e *execution) DeferCancel() func() {
	e.deferCancel()
	return e.cancelDeferred
}

// deferCancel defers the cancellation of e's context, when its policies
// end, to a call of cancelDeferred: the response body outlives them.
func (e *execution) deferCancel() { e.s.deferred.Store(true) }

// cancelDeferred cancels e's context, if its cancellation was deferred.
func (e *execution) cancelDeferred() {
	if e.s.deferred.CompareAndSwap(true, false) {
		e.Cancel(nil)
	}
}

// IsCanceledWithResult implements policy.ExecutionInternal.
func (e *execution) IsCanceledWithResult() (bool, *common.PolicyResult[*try]) {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	return e.canceledWithResult()
}

// canceledWithResult is IsCanceledWithResult with e.s.mu held.
func (e *execution) canceledWithResult() (bool, *common.PolicyResult[*try]) {
	if err := e.ctx.Err(); err != nil {
		if e.s.canceled == nil {
			return true, &common.PolicyResult[*try]{Error: err, Done: true}
		}
		return true, e.s.canceled
	}
	return false, nil
}

// CopyWithResult implements policy.ExecutionInternal.
func (e *execution) CopyWithResult(r *common.PolicyResult[*try]) failsafe.Execution[*try] {
	c := e.copy()
	if r != nil {
		c.lastResult, c.lastError = r.Result, r.Error
	}
	return c
}

// CopyForCancellable implements policy.ExecutionInternal.
func (e *execution) CopyForCancellable() failsafe.Execution[*try] {
	c := e.copy()
	c.ctx, c.cancel = context.WithCancel(c.ctx)
	e.s.track(c.cancel)
	return c
}

// CopyForHedge implements policy.ExecutionInternal.
func (e *execution) CopyForHedge() failsafe.Execution[*try] {
	c := e.copy()
	c.hedge = true
	c.s.attempts.Add(1)
	c.s.hedges.Add(1)
	c.ctx, c.cancel = context.WithCancel(c.ctx)
	e.s.track(c.cancel)
	return c
}

func (e *execution) copy() *execution {
	e.s.mu.Lock()
	c := *e
	e.s.mu.Unlock()
	return &c
}
