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
// sticky session.
//
// # Health
//
// An instance takes traffic when it is healthy and not ejected.
//
// Active health checks ([HealthCheck]) send "GET Path" to every instance
// on a jittered interval; thresholds of failed and passed checks in a row
// move an instance between healthy and unhealthy. Instances start healthy,
// but an instance's first check decides at once, so one found down by the
// first round takes no traffic; [Pool.Warm] waits for that round.
//
// Passive outlier detection ([OutlierDetection]) watches real traffic:
// consecutive 5xx responses (for every method, POST included) or
// consecutive transport errors eject an instance for a period that grows
// with each ejection, up to a maximum, never ejecting more than a set share
// of the pool. Requests the caller cancels count for nothing.
//
// # Panic mode
//
// When no instance is available, the pool does not refuse requests: it
// picks among all instances, as Envoy does. An ejected instance that
// answers such a request without a server error rejoins at once, so traffic
// resumes as soon as an instance is back rather than after a fixed period.
// [Pool.Ready] reports whether any instance is healthy.
//
// # Discovery
//
// Instances are a static list ([Instance]) or come from DNS ([DNSConfig]):
// A/AAAA records with a port, or SRV records, resolved again on an interval
// through a [Resolver] (a *net.Resolver by default), so a Kubernetes
// headless service works. A failed lookup keeps the last instances, and an
// instance that stays keeps its health, ejection and counters.
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
// portico.upstream.instance.healthy, portico.upstream.instance.ejected and
// portico.upstream.instance.in_flight (per instance), and the counters
// portico.upstream.ejections, portico.upstream.health_checks,
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
