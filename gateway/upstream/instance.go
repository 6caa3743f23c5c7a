package upstream

import (
	"sync"
	"sync/atomic"
	"time"
)

// instance is the live state of one instance. Its identity is its key
// (scheme://host:port); discovery keeps the same *instance, and so its
// health, ejection and counters, for as long as the key stays in the set.
type instance struct {
	key    string // scheme://host[:port], the identity
	scheme string
	host   string // host[:port], as written in URL.Host

	weight       atomic.Int64
	healthy      atomic.Bool
	ejectedUntil atomic.Int64 // unix nanoseconds; 0 when not ejected
	inFlight     atomic.Int64
	requests     atomic.Uint64
	failures     atomic.Uint64
	ejections    atomic.Uint64
	lat          latency // peak-EWMA estimate, kept when the pool tracks latency
	pend         pending // requests awaiting their answer, kept with slow ejection
	// slowEjected reports that the current ejection is for slowness, so
	// that a clearly slower instance may take its place (see eject).
	slowEjected atomic.Bool

	// Passive outlier detection state, guarded by mu.
	mu           sync.Mutex
	consec5xx    int
	consecConn   int
	consecSlow   int
	timesEjected int   // multiplier of the next ejection period
	ejectedAt    int64 // unix nanoseconds the last ejection began
	lastEjectEnd int64 // unix nanoseconds the last ejection ended

	// Active health check state, touched only by the health loop.
	hcPass, hcFail int
	hcSeen         bool // checked at least once
}

func newInstance(key, scheme, host string, weight int) *instance {
	in := &instance{key: key, scheme: scheme, host: host}
	in.weight.Store(int64(weight))
	in.healthy.Store(true)
	in.lat.init()
	return in
}

// available reports whether the instance may take traffic outside panic
// mode: healthy by active checks and not ejected at now (unix nanoseconds).
func (in *instance) available(now int64) bool {
	return in.healthy.Load() && in.ejectedUntil.Load() <= now
}

// ejected reports whether the instance is ejected at now.
func (in *instance) ejected(now int64) bool {
	return in.ejectedUntil.Load() > now
}

// InstanceStatus is a snapshot of one instance, as shown by an admin
// endpoint such as the gateway's /upstreams.
type InstanceStatus struct {
	// URL is the instance's scheme and host.
	URL string `json:"url"`
	// Weight is the instance's weight.
	Weight int `json:"weight"`
	// Healthy is the verdict of active health checks (true without them).
	Healthy bool `json:"healthy"`
	// Ejected reports whether passive outlier detection has ejected the
	// instance, and EjectedUntil when the ejection ends.
	Ejected      bool      `json:"ejected"`
	EjectedUntil time.Time `json:"ejected_until,omitzero"`
	// InFlight counts requests sent to the instance whose response body
	// is not yet closed.
	InFlight int64 `json:"in_flight"`
	// Requests counts the requests sent to the instance, Failures those
	// that ended in a transport error or a 5xx status, and Ejections the
	// times it was ejected.
	Requests  uint64 `json:"requests"`
	Failures  uint64 `json:"failures"`
	Ejections uint64 `json:"ejections"`
	// Latency is the instance's peak-EWMA latency estimate, kept by pools
	// with the [PeakEWMA] balancer or slow-response ejection
	// ([SlowOutlier]); it is 0 in other pools and until a request to the
	// instance has ended.
	Latency time.Duration `json:"latency_ns,omitempty"`
}

func (in *instance) status(now int64, track bool) InstanceStatus {
	s := InstanceStatus{
		URL:       in.key,
		Weight:    int(in.weight.Load()),
		Healthy:   in.healthy.Load(),
		InFlight:  in.inFlight.Load(),
		Requests:  in.requests.Load(),
		Failures:  in.failures.Load(),
		Ejections: in.ejections.Load(),
	}
	if until := in.ejectedUntil.Load(); until > now {
		s.Ejected, s.EjectedUntil = true, time.Unix(0, until).UTC()
	}
	if track && in.lat.seen.Load() {
		s.Latency = time.Duration(in.lat.at(now))
	}
	return s
}
