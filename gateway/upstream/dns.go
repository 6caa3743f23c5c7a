package upstream

import (
	"cmp"
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Resolver looks up the addresses behind a name. *net.Resolver satisfies
// it; tests pass a fake.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupSRV(ctx context.Context, service, proto, name string) (cname string, addrs []*net.SRV, err error)
}

// DNSConfig discovers a pool's instances through DNS, re-resolving on an
// interval. With SRV false, Name's A and AAAA records each become an
// instance at Port; with SRV true, Name is looked up as an SRV name (such
// as "_http._tcp.api.default.svc.cluster.local") and each target of the
// lowest priority becomes an instance at its port, with its weight (0
// counts as 1). A Kubernetes headless service works either way.
//
// When a lookup fails, the pool keeps its last set of instances; an answer
// with no records (and no error) empties the pool, and RoundTrip then
// returns [ErrNoInstance]. Instances that stay in the answer keep their
// health, ejection and counters.
type DNSConfig struct {
	// Name is the host name (or SRV name) to resolve. Required.
	Name string `json:"name" yaml:"name"`
	// Port is the instances' port for A/AAAA lookups. Required unless SRV.
	Port int `json:"port,omitempty" yaml:"port"`
	// SRV makes Name an SRV name.
	SRV bool `json:"srv,omitempty" yaml:"srv"`
	// Scheme is "http" or "https". If empty, "http" is used.
	Scheme string `json:"scheme,omitempty" yaml:"scheme"`
	// Weight is the weight of each A/AAAA instance. If 0, 1 is used.
	Weight int `json:"weight,omitempty" yaml:"weight"`
	// Interval is the time between lookups, lengthened by a random 0–10%.
	// If 0, 30s is used.
	Interval time.Duration `json:"interval,omitempty" yaml:"interval"`
	// Timeout bounds one lookup. If 0, 5s is used.
	Timeout time.Duration `json:"timeout,omitempty" yaml:"timeout"`
	// Resolver performs the lookups. If nil, net.DefaultResolver is used.
	Resolver Resolver `json:"-" yaml:"-"`
}

// discoveryLoop re-resolves every Interval until ctx is done.
func (p *Pool) discoveryLoop(ctx context.Context) {
	defer p.wg.Done()
	timer := time.NewTimer(jitter(p.dns.Interval))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		p.discover(ctx)
		timer.Reset(jitter(p.dns.Interval))
	}
}

type resolved struct {
	host   string // host:port
	weight int
}

// discover runs one lookup and, if it succeeds and changes anything, swaps
// in a new set that reuses the instances that remain.
func (p *Pool) discover(ctx context.Context) {
	d := p.dns
	lctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	found, err := d.lookup(lctx)
	if err != nil {
		if ctx.Err() == nil {
			p.metrics.discoveryFailure(ctx)
			p.log.Warn("DNS lookup failed; keeping the last instances", "name", d.Name, "error", err)
		}
		return
	}
	old := p.cur.Load()
	byKey := make(map[string]*instance, len(old.list))
	for _, in := range old.list {
		byKey[in.key] = in
	}
	list := make([]*instance, 0, len(found))
	changed := len(found) != len(old.list)
	for _, r := range found {
		key := d.Scheme + "://" + r.host
		in, ok := byKey[key]
		if !ok {
			in = newInstance(key, d.Scheme, r.host, r.weight)
			changed = true
		} else if int(in.weight.Load()) != r.weight {
			in.weight.Store(int64(r.weight))
			changed = true
		}
		list = append(list, in)
	}
	if !changed {
		return
	}
	if p.track {
		// Newcomers start as typical instances, not as unknown ones.
		seedPriors(list, p.now().UnixNano())
	}
	p.cur.Store(newSet(list, p.balancer))
	p.log.Info("DNS discovery updated the instances", "name", d.Name, "instances", len(list))
}

// lookup returns the instances behind the name, sorted and de-duplicated.
func (d *DNSConfig) lookup(ctx context.Context) ([]resolved, error) {
	var out []resolved
	if d.SRV {
		_, addrs, err := d.Resolver.LookupSRV(ctx, "", "", d.Name)
		if err != nil {
			return nil, err
		}
		best := -1
		for _, a := range addrs {
			if best < 0 || int(a.Priority) < best {
				best = int(a.Priority)
			}
		}
		for _, a := range addrs {
			if int(a.Priority) != best || a.Target == "" || a.Target == "." {
				continue
			}
			host := net.JoinHostPort(strings.TrimSuffix(a.Target, "."), strconv.Itoa(int(a.Port)))
			out = append(out, resolved{host: host, weight: max(1, int(a.Weight))})
		}
	} else {
		addrs, err := d.Resolver.LookupIPAddr(ctx, d.Name)
		if err != nil {
			return nil, err
		}
		port := strconv.Itoa(d.Port)
		for _, a := range addrs {
			out = append(out, resolved{host: net.JoinHostPort(a.IP.String(), port), weight: d.Weight})
		}
	}
	slices.SortFunc(out, func(a, b resolved) int { return cmp.Compare(a.host, b.host) })
	return slices.CompactFunc(out, func(a, b resolved) bool { return a.host == b.host }), nil
}
