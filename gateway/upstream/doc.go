// Package upstream balances requests over the instances of one upstream
// service, keeping track of which of them can take traffic.
//
// A [Pool] is an [http.RoundTripper]. Each round trip picks an instance
// with the pool's [Balancer], points the request at it and sends it through
// the pool's transport; the outcome feeds passive outlier detection. Wrap a
// pool in a retrying transport and every attempt picks afresh; with
// [TrackAttempts] on the request context, retries prefer instances not yet
// tried. Behind a resilience transport with a circuit breaker, each
// instance has its own breaker: the pool skips instances whose breaker is
// open (unless none is left, see "Panic mode") and sends each attempt
// through the breaker of the instance it picked (resilience.Instance).
// A pool is useful on its own, as the transport of an [http.Client]
// or of an httputil.ReverseProxy, and it is how the gateway package reaches
// its upstreams.
//
//	pool, err := upstream.New(upstream.Config{
//		Name:      "api",
//		Instances: []upstream.Instance{{URL: "http://10.0.0.7:8080"}, {URL: "http://10.0.0.8:8080", Weight: 2}},
//		Balancer:  upstream.WeightedRoundRobin,
//		HealthCheck: &upstream.HealthCheck{Path: "/healthz", Interval: 5 * time.Second},
//		Outlier:     &upstream.OutlierDetection{},
//	})
//	pool.Start(ctx)
//	defer pool.Close()
//	client := &http.Client{Transport: pool}
//
// # Balancers
//
// [RoundRobin] (the default) takes instances in turn; [WeightedRoundRobin]
// interleaves them smoothly in proportion to weight; [Random] draws in
// proportion to weight; [LeastRequest] draws two in proportion to weight
// and keeps the one with fewer requests in flight per unit of weight;
// [ConsistentHash] maps a request key ([HashKey]: a header, a cookie, the
// client address) onto a ring with 1024 virtual nodes per unit of weight,
// so a key keeps its instance, and when an instance leaves only its own keys
// move. With [HashKey].Sticky, a client without the cookie is given one: a
// sticky session. [PeakEWMA] draws two like LeastRequest and keeps the one
// with the lower expected latency (see below).
//
// # Latency-aware balancing
//
// [PeakEWMA], as in Finagle and Linkerd, keeps a latency estimate per
// instance: the time from the pick to the response headers, averaged
// exponentially by elapsed time with a time constant of 10s (a sample t
// after the last one weighs 1 - exp(-t/10s)). A response slower than the
// estimate replaces it at once (the peak), so one slow response takes an
// instance out of the rotation from the next pick on; faster ones pull it
// back down over about ten seconds. Between responses the estimate
// decays toward zero at the same rate, so an instance left alone after a
// slow spell is tried again: one that answered 100 times slower than its
// peers gets a request again after about 10s × ln 100 ≈ 46s, and takes its
// share back if it has recovered. A server error or a request the caller
// canceled never lowers an estimate (each shows the instance took at
// least that long), and a transport error at least doubles it, so that an
// instance refusing connections at once does not look like the fastest.
//
// Each pick draws two available instances in proportion to weight and
// keeps the one with the lower cost: estimate × (requests in flight + 1)
// ÷ weight. Under load, equally fast instances thus hold requests in
// proportion to their weights, and an instance four times slower holds
// about a quarter as many as its peers. Before any instance has answered,
// all start at a prior of 30ms, which spreads the first requests by load
// alone; an instance's first answer replaces the prior, and an instance
// not yet heard from (one discovery has just added, say) is given the
// median estimate of those that have been, so it is neither flooded nor
// starved. An estimate never goes below 1µs, so requests in flight always
// weigh. A pick reads the clock once and each instance's estimate
// lock-free; it allocates nothing. [InstanceStatus].Latency shows the
// estimates.
//
// # Health
//
// An instance takes traffic when it is healthy and not ejected.
//
// Active health checks ([HealthCheck]) send "GET Path" to every instance
// on a jittered interval; thresholds of failed and passed checks in a row
// move an instance between healthy and unhealthy. Instances start healthy,
// but an instance's first check decides at once, so one found down by the
// first round takes no traffic; [Pool.Warm] waits for that round. A
// [HealthCheck].Probe replaces the GET with a check of its own through the
// pool's transport, such as gateway/grpcproxy's grpc.health.v1 probe.
//
// Passive outlier detection ([OutlierDetection]) watches real traffic:
// consecutive 5xx responses (for every method, POST included) or
// consecutive transport errors eject an instance for a period that grows
// with each ejection, up to a maximum, never ejecting more than a set share
// of the pool. Requests the caller cancels count for nothing, except as
// slow (below). A response whose body is a [resilience.LateOutcome] (a
// gRPC response through gateway/grpcproxy's Transport, its status in
// trailers) is counted when its body ends, as a 5xx if it failed then; a
// body closed before its end counts for nothing. Its latency and speed
// are judged at its headers, as for any response.
//
// With [OutlierDetection].Slow ([SlowOutlier]), consecutive slow
// responses eject an instance in the same way: a response is slow when it
// takes at least a threshold (1s by default) and at least twice (by
// default) the median current latency of the instance's peers, so that an
// instance slower than its peers goes, while a slowdown of the whole
// service ejects nothing. Attempts cut short by a per-try timeout, and
// requests the caller canceled, count as slow once they have waited the
// threshold; a hedge canceled because an attempt sent before it answered
// first counts for nothing, having had less time than the winner.
//
// The rule that keeps slow ejection from ever ejecting the healthy
// instance instead of the slow one: an instance is slow only next to
// peers demonstrably faster at the same time. A peer's current latency is
// its estimate or, if longer, the wait of its oldest request still
// pending: an instance that has just turned slow has answered nothing
// since, and its estimate still says fast, but its pending requests show
// otherwise, so a healthy instance briefly slowed by a loaded machine is
// not found twice as slow as it. An instance's own estimate is at least
// its latest response, so the instance with the lowest current latency
// is never found slow. Instances ejected for slowness stay peers, and at
// the MaxEjectedPercent cap an instance found slow takes the place of one
// ejected for slowness that is clearly faster (by the peer factor), which
// is readmitted: a mistaken ejection cannot shield the slow instance.
//
// # Panic mode
//
// When no instance is available, the pool does not refuse requests: it
// picks among all instances, as Envoy does. An ejected instance that
// answers such a request without a server error (nor slowly, with
// [SlowOutlier]) rejoins at once, so traffic
// resumes as soon as an instance is back rather than after a fixed period.
// [Pool.Ready] reports whether any instance is healthy.
//
// # Discovery
//
// Instances are a static list ([Instance]) or come from DNS ([DNSConfig]):
// A/AAAA records with a port, or SRV records, resolved again on an interval
// through a [Resolver] (a *net.Resolver by default), so a Kubernetes
// headless service works. A failed lookup keeps the last instances, and an
// instance that stays keeps its health, ejection, latency estimate and
// counters.
//
// # Transport and TLS
//
// Pools without a transport of their own share one from [NewTransport],
// tuned for a proxy (many idle connections per host, HTTP/2 over TLS).
// [Config].TLS sets a client TLS configuration, such as a private CA and a
// client certificate for mutual TLS; [LoadTLS] reads one from PEM files.
//
// # Telemetry
//
// The pool records, through the MeterProvider in [Config]:
// portico.upstream.instance.healthy, portico.upstream.instance.ejected,
// portico.upstream.instance.in_flight and, in pools that keep latency
// estimates, portico.upstream.instance.latency (per instance), the counters
// portico.upstream.ejections (by reason: 5xx, conn_errors or slow),
// portico.upstream.health_checks,
// portico.upstream.panic_picks and portico.upstream.discovery.failures.
// Every measurement carries portico.upstream.pool and, per instance,
// portico.upstream.instance.
//
// # Concurrency
//
// A [Pool] is safe for concurrent use: RoundTrip, Status and Ready may be
// called from any goroutine while health checks and discovery run. [Pool.Close]
// stops the goroutines [Pool.Start] started and waits for them.
package upstream
