package upstream

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// Config describes a [Pool]. Only Name and either Instances or DNS are
// required; every other field has a documented default.
type Config struct {
	// Name identifies the pool in logs, metrics and [Pool.Status]. Required.
	Name string

	// Instances is a static list of instances. Exactly one of Instances and
	// DNS must be set.
	Instances []Instance

	// DNS discovers instances by resolving a name on an interval. Exactly one
	// of Instances and DNS must be set.
	DNS *DNSConfig

	// Balancer chooses an instance for each request.
	// If empty, [RoundRobin] is used.
	Balancer Balancer

	// HashOn is the request key [ConsistentHash] hashes on. It is required
	// for ConsistentHash and ignored by every other balancer.
	HashOn HashKey

	// ClientIP returns the client's address for HashOn.ClientIP. The gateway
	// passes one that knows about trusted proxies. If nil, the host part of
	// the request's RemoteAddr is used.
	ClientIP func(*http.Request) string

	// HealthCheck enables active health checks. If nil, every instance is
	// considered healthy unless passive outlier detection ejects it.
	HealthCheck *HealthCheck

	// Outlier enables passive outlier detection: instances that fail
	// real requests in a row are ejected for a while. If nil, it is off.
	Outlier *OutlierDetection

	// Transport sends requests and health checks to the instances; when
	// it is an *http.Transport, health checks use a clone of it, so that
	// they have connections of their own. If nil, a shared, tuned
	// *http.Transport is used (see [NewTransport]); if TLS is also set, the
	// pool gets its own tuned transport with that TLS configuration.
	// Setting both Transport and TLS is an error: put the TLS configuration
	// in your Transport instead.
	Transport http.RoundTripper

	// TLS is the client TLS configuration for https instances: a private
	// root CA in RootCAs, a client certificate for mutual TLS in
	// Certificates. [LoadTLS] builds one from PEM files. If nil, the system
	// roots are used and no client certificate is sent.
	TLS *tls.Config

	// Logger receives health transitions, ejections and discovery changes.
	// If nil, nothing is logged.
	Logger *slog.Logger

	// MeterProvider creates the pool's instruments (see the package
	// documentation). If nil, the global provider from otel.GetMeterProvider
	// is used.
	MeterProvider metric.MeterProvider

	// Now returns the current time for ejection periods and for latency
	// estimates (response times and their decay). Tests inject a fake one
	// to cross ejection boundaries and let estimates decay without
	// sleeping. If nil, time.Now is used.
	Now func() time.Time
}

// Instance is one statically configured instance of the upstream service.
type Instance struct {
	// URL is the instance's scheme and host, with an optional port:
	// "http://10.0.0.7:8080" or "https://api.internal". A path, query or
	// user information is an error.
	URL string `json:"url" yaml:"url"`
	// Weight is the instance's share of traffic relative to the others, for
	// the balancers that use weights. If 0, 1 is used; negative is an error.
	Weight int `json:"weight,omitempty" yaml:"weight"`
}

// Balancer names a load-balancing algorithm.
type Balancer string

// The balancers a [Pool] supports.
const (
	// RoundRobin sends requests to each available instance in turn,
	// ignoring weights. It is the default.
	RoundRobin Balancer = "round_robin"
	// WeightedRoundRobin interleaves instances in proportion to their
	// weights, smoothly (nginx's algorithm: weights 5,1,1 give
	// a a b a c a a, never five a's in a row).
	WeightedRoundRobin Balancer = "weighted_round_robin"
	// LeastRequest draws two instances at random in proportion to their
	// weights and sends the request to the one with fewer requests in
	// flight per unit of weight ("power of two choices").
	LeastRequest Balancer = "least_request"
	// Random picks an instance at random in proportion to its weight.
	Random Balancer = "random"
	// ConsistentHash maps a request key (see [HashKey]) onto a hash ring
	// with virtual nodes, so one key keeps reaching one instance, and when
	// an instance leaves only the keys it held move.
	ConsistentHash Balancer = "consistent_hash"
	// PeakEWMA draws two instances at random in proportion to their
	// weights and sends the request to the one with the lower expected
	// latency: its peak-EWMA latency estimate times its requests in flight
	// plus one, divided by its weight. A slow response raises the estimate
	// at once; it then decays back over about ten seconds (see
	// "Latency-aware balancing" in the package documentation).
	PeakEWMA Balancer = "peak_ewma"
)

// Balancers returns every supported balancer, the default first.
func Balancers() []Balancer {
	return []Balancer{RoundRobin, WeightedRoundRobin, LeastRequest, Random, ConsistentHash, PeakEWMA}
}

// HealthCheck configures active health checks: every Interval, each
// instance is sent "GET Path"; an instance becomes unhealthy after
// UnhealthyThreshold failed checks in a row and healthy again after
// HealthyThreshold passed checks in a row. Instances start healthy, the
// first round of checks runs as soon as [Pool.Start] is called, and an
// instance's first check decides at once: one that fails it is unhealthy
// without waiting for UnhealthyThreshold rounds ([Pool.Warm] waits for
// that first round).
type HealthCheck struct {
	// Path is the request path (and optional query) of the check.
	// If empty, "/" is used.
	Path string `json:"path,omitempty" yaml:"path"`
	// Interval is the time between two rounds of checks; each wait is
	// lengthened by a random 0–10% so that gateway replicas do not check in
	// lockstep. If 0, 10s is used.
	Interval time.Duration `json:"interval,omitempty" yaml:"interval"`
	// Timeout bounds one check, connection included. If 0, 2s is used
	// (or Interval, if that is shorter).
	Timeout time.Duration `json:"timeout,omitempty" yaml:"timeout"`
	// HealthyThreshold is the number of passed checks in a row that make an
	// unhealthy instance healthy. If 0, 2 is used.
	HealthyThreshold int `json:"healthy_threshold,omitempty" yaml:"healthy_threshold"`
	// UnhealthyThreshold is the number of failed checks in a row that make
	// a healthy instance unhealthy. If 0, 3 is used.
	UnhealthyThreshold int `json:"unhealthy_threshold,omitempty" yaml:"unhealthy_threshold"`
	// ExpectStatus lists the status codes that pass the check.
	// If empty, any 2xx or 3xx status passes.
	ExpectStatus []int `json:"expect_status,omitempty" yaml:"expect_status"`
	// Host, if set, is sent as the Host header of each check.
	Host string `json:"host,omitempty" yaml:"host"`
	// Probe, if set, replaces the HTTP GET of Path: it checks the instance
	// at target ("scheme://host:port") through rt, the pool's transport,
	// and the check passes when it returns nil. Path, Host and
	// ExpectStatus are then unused. grpcproxy.HealthProbe checks a gRPC
	// instance with grpc.health.v1.
	Probe func(ctx context.Context, rt http.RoundTripper, target string) error `json:"-" yaml:"-"`
}

// OutlierDetection configures passive outlier detection. Every response
// (whatever the method, POST included) and every transport error is
// counted: an instance that returns Consecutive5xx server errors in a row,
// or fails ConsecutiveConnErrors times in a row to connect or answer in
// time, is ejected for BaseEjection × (the number of times it has been
// ejected), at most MaxEjection. With Slow, an instance that answers
// slowly time after time is ejected the same way. An ejected instance
// rejoins when its period ends, or as soon as it answers a request without
// a server error (and, with Slow, not slowly), which only happens in panic
// mode, see the package documentation.
type OutlierDetection struct {
	// Consecutive5xx is the number of 5xx responses in a row that eject an
	// instance; a transport error also counts as one. If 0, 5 is used;
	// if negative, 5xx responses never eject.
	Consecutive5xx int `json:"consecutive_5xx,omitempty" yaml:"consecutive_5xx"`
	// ConsecutiveConnErrors is the number of transport errors in a row
	// (refused or reset connections, timeouts; not requests canceled by the
	// caller) that eject an instance. If 0, 3 is used; if negative,
	// transport errors never eject on their own.
	ConsecutiveConnErrors int `json:"consecutive_conn_errors,omitempty" yaml:"consecutive_conn_errors"`
	// BaseEjection is the first ejection period; the n-th ejection lasts n
	// times as long. If 0, 30s is used.
	BaseEjection time.Duration `json:"base_ejection,omitempty" yaml:"base_ejection"`
	// MaxEjection caps an ejection period. An instance that goes MaxEjection
	// without being ejected starts over at BaseEjection. If 0, 300s is used
	// (or BaseEjection, if that is longer).
	MaxEjection time.Duration `json:"max_ejection,omitempty" yaml:"max_ejection"`
	// MaxEjectedPercent caps the share of the pool that may be ejected at
	// once, in percent (1–100), rounded down but always allowing one
	// instance. If 0, 50 is used.
	MaxEjectedPercent int `json:"max_ejected_percent,omitempty" yaml:"max_ejected_percent"`
	// Slow also ejects instances that answer too slowly, as if they
	// failed. If nil, latency never ejects.
	Slow *SlowOutlier `json:"slow,omitempty" yaml:"slow"`
}

// SlowOutlier ejects an instance whose responses are consistently slower
// than a threshold and than its peers. A response is slow when it arrives
// (headers, not the whole body) at least Threshold after the instance was
// picked and, unless PeerFactor is negative, also at least PeerFactor
// times the median current latency of the instance's peers; Consecutive
// slow responses in a row eject the instance, for the same period and
// under the same MaxEjectedPercent as failures.
//
// A peer's current latency is what the pool can show of it right now:
// its latency estimate, or how long its oldest request still pending has
// waited, if longer. So an instance is slow only next to peers that are
// demonstrably faster at the same time: a peer that has turned slow and
// keeps requests waiting is not taken for fast because it answered
// quickly before. The peers are the other instances that have answered,
// are healthy and are not ejected for failing; one ejected for slowness
// stays a peer. Since an instance's own estimate is at least its latest
// response, the instance with the lowest current latency is never found
// slow.
//
// At the MaxEjectedPercent cap, an instance found slow may still be
// ejected if an instance ejected for slowness is clearly faster (its
// current latency times PeerFactor is at most the slow response's): that
// one is readmitted in its stead, so a fast instance ejected in a moment
// of load cannot shield a slow one.
//
// A failed attempt that took at least Threshold (such as one cut short by a
// per-try timeout no shorter than Threshold) counts as slow too, and so
// does a request the caller canceled after waiting that long: each shows
// the instance took at least that long. A hedged attempt canceled because
// an attempt of the same request sent before it answered first (see
// [TrackAttempts]) counts for nothing: it had less time than the winner
// took. A response faster than that breaks the series; a quick transport
// error leaves it as it is. An ejected instance picked in panic mode
// rejoins when it answers neither with a server error nor slowly.
//
// Comparing with peers keeps a slowdown of the whole service (a shared
// database, say) from ejecting instances that are no slower than the
// rest; an instance without peers that have answered is never slow by
// comparison.
type SlowOutlier struct {
	// Threshold is the time from pick to response headers at or above
	// which a response is slow. If 0, 1s is used.
	Threshold time.Duration `json:"threshold,omitempty" yaml:"threshold"`
	// Consecutive is the number of slow responses in a row that eject an
	// instance. If 0, 3 is used.
	Consecutive int `json:"consecutive,omitempty" yaml:"consecutive"`
	// PeerFactor is how many times slower than its peers' median current
	// latency a response must also be to count as slow, and how many times
	// slower than an instance ejected for slowness it must be to take its
	// place at the ejection cap. If 0, 2 is used; if negative, peers are
	// not compared, Threshold alone decides and no instance takes
	// another's place. Between 0 and 1 is an error.
	PeerFactor float64 `json:"peer_factor,omitempty" yaml:"peer_factor"`
}

// defaults.
const (
	defaultHCInterval     = 10 * time.Second
	defaultHCTimeout      = 2 * time.Second
	defaultHealthy        = 2
	defaultUnhealthy      = 3
	default5xx            = 5
	defaultConnErrors     = 3
	defaultBaseEjection   = 30 * time.Second
	defaultMaxEjection    = 300 * time.Second
	defaultMaxEjectedPct  = 50
	defaultSlowThreshold  = time.Second
	defaultSlowInARow     = 3
	defaultPeerFactor     = 2
	defaultDNSInterval    = 30 * time.Second
	defaultDNSTimeout     = 5 * time.Second
	maxHealthBodyDiscard  = 64 << 10
	stickyCookieKeyLength = 16
)
