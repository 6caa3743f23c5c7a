package upstream

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strings"
)

// validate checks cfg and fills in defaults in copies of its optional
// parts, leaving the caller's values untouched.
func validate(cfg *Config) error {
	if strings.TrimSpace(cfg.Name) == "" {
		return errors.New("name: a pool needs a name")
	}
	switch {
	case len(cfg.Instances) == 0 && cfg.DNS == nil:
		return errors.New("instances: a pool needs instances or dns")
	case len(cfg.Instances) > 0 && cfg.DNS != nil:
		return errors.New("dns: set either instances or dns, not both")
	}
	seen := make(map[string]int, len(cfg.Instances))
	instances := slices.Clone(cfg.Instances)
	for i := range instances {
		in := &instances[i]
		_, _, key, err := parseInstanceURL(in.URL)
		if err != nil {
			return fmt.Errorf("instances[%d].url: %w", i, err)
		}
		if j, dup := seen[key]; dup {
			return fmt.Errorf("instances[%d].url: %q duplicates instances[%d]", i, in.URL, j)
		}
		seen[key] = i
		if in.Weight < 0 {
			return fmt.Errorf("instances[%d].weight: %d is negative; use 1 or more (0 means 1)", i, in.Weight)
		}
		if in.Weight == 0 {
			in.Weight = 1
		}
	}
	cfg.Instances = instances
	if cfg.Balancer != "" && !slices.Contains(Balancers(), cfg.Balancer) {
		return fmt.Errorf("balancer: unknown %q; use one of %s", cfg.Balancer, balancerNames())
	}
	if cfg.Balancer == ConsistentHash {
		if err := cfg.HashOn.validate(); err != nil {
			return err
		}
	} else if cfg.HashOn != (HashKey{}) {
		return fmt.Errorf("hash_on: only the %s balancer uses it; set balancer: %s or remove hash_on", ConsistentHash, ConsistentHash)
	}
	if cfg.Transport != nil && cfg.TLS != nil {
		return errors.New("tls: set either transport or tls; put the TLS configuration in your transport")
	}
	if cfg.DNS != nil {
		d := *cfg.DNS
		if err := d.normalize(); err != nil {
			return err
		}
		cfg.DNS = &d
	}
	if cfg.HealthCheck != nil {
		hc := *cfg.HealthCheck
		if err := hc.normalize(); err != nil {
			return err
		}
		cfg.HealthCheck = &hc
	}
	if cfg.Outlier != nil {
		od := *cfg.Outlier
		if err := od.normalize(); err != nil {
			return err
		}
		cfg.Outlier = &od
	}
	return nil
}

func balancerNames() string {
	all := Balancers()
	names := make([]string, len(all))
	for i, b := range all {
		names[i] = string(b)
	}
	return strings.Join(names, ", ")
}

// parseInstanceURL checks an instance URL and returns its scheme, host and
// identity key (scheme://host:port with the default port made explicit).
func parseInstanceURL(raw string) (scheme, host, key string, err error) {
	if raw == "" {
		return "", "", "", errors.New("empty; use http://host:port")
	}
	if !strings.Contains(raw, "://") {
		return "", "", "", fmt.Errorf("%q has no scheme; use http://%s", raw, strings.TrimPrefix(raw, "//"))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", "", fmt.Errorf("%q is not a URL; use http://host:port", raw)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", "", "", fmt.Errorf("%q: scheme %q is not supported; use http or https", raw, u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return "", "", "", fmt.Errorf("%q has no host; use %s://host:port", raw, u.Scheme)
	case u.User != nil:
		return "", "", "", fmt.Errorf("%q: user information is not allowed; send credentials with a header", raw)
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return "", "", "", fmt.Errorf("%q: only scheme://host[:port] is allowed; rewrite paths on the route", raw)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return u.Scheme, u.Host, u.Scheme + "://" + net.JoinHostPort(u.Hostname(), port), nil
}

func (d *DNSConfig) normalize() error {
	switch {
	case strings.TrimSpace(d.Name) == "":
		return errors.New("dns.name: set the name to resolve")
	case d.SRV && d.Port != 0:
		return errors.New("dns.port: SRV records carry their ports; remove port")
	case !d.SRV && (d.Port < 1 || d.Port > 65535):
		return fmt.Errorf("dns.port: %d is out of range; use 1–65535", d.Port)
	case d.Scheme != "" && d.Scheme != "http" && d.Scheme != "https":
		return fmt.Errorf("dns.scheme: %q is not supported; use http or https", d.Scheme)
	case d.Weight < 0:
		return fmt.Errorf("dns.weight: %d is negative; use 1 or more (0 means 1)", d.Weight)
	case d.Interval < 0:
		return fmt.Errorf("dns.interval: %v is negative", d.Interval)
	case d.Timeout < 0:
		return fmt.Errorf("dns.timeout: %v is negative", d.Timeout)
	}
	d.Scheme = cmp.Or(d.Scheme, "http")
	d.Weight = cmp.Or(d.Weight, 1)
	d.Interval = cmp.Or(d.Interval, defaultDNSInterval)
	d.Timeout = cmp.Or(d.Timeout, defaultDNSTimeout)
	if d.Resolver == nil {
		d.Resolver = net.DefaultResolver
	}
	return nil
}

func (hc *HealthCheck) normalize() error {
	switch {
	case hc.Path != "" && !strings.HasPrefix(hc.Path, "/"):
		return fmt.Errorf("health_check.path: %q must start with /", hc.Path)
	case hc.Interval < 0:
		return fmt.Errorf("health_check.interval: %v is negative", hc.Interval)
	case hc.Timeout < 0:
		return fmt.Errorf("health_check.timeout: %v is negative", hc.Timeout)
	case hc.HealthyThreshold < 0:
		return fmt.Errorf("health_check.healthy_threshold: %d is negative", hc.HealthyThreshold)
	case hc.UnhealthyThreshold < 0:
		return fmt.Errorf("health_check.unhealthy_threshold: %d is negative", hc.UnhealthyThreshold)
	}
	for i, s := range hc.ExpectStatus {
		if s < 100 || s > 599 {
			return fmt.Errorf("health_check.expect_status[%d]: %d is not an HTTP status; use 100–599", i, s)
		}
	}
	hc.Path = cmp.Or(hc.Path, "/")
	hc.Interval = cmp.Or(hc.Interval, defaultHCInterval)
	hc.Timeout = cmp.Or(hc.Timeout, min(defaultHCTimeout, hc.Interval))
	if hc.Timeout > hc.Interval {
		return fmt.Errorf("health_check.timeout: %v is longer than the interval %v; shorten it", hc.Timeout, hc.Interval)
	}
	hc.HealthyThreshold = cmp.Or(hc.HealthyThreshold, defaultHealthy)
	hc.UnhealthyThreshold = cmp.Or(hc.UnhealthyThreshold, defaultUnhealthy)
	hc.ExpectStatus = slices.Clone(hc.ExpectStatus)
	return nil
}

func (od *OutlierDetection) normalize() error {
	switch {
	case od.BaseEjection < 0:
		return fmt.Errorf("outlier.base_ejection: %v is negative", od.BaseEjection)
	case od.MaxEjection < 0:
		return fmt.Errorf("outlier.max_ejection: %v is negative", od.MaxEjection)
	case od.MaxEjectedPercent < 0 || od.MaxEjectedPercent > 100:
		return fmt.Errorf("outlier.max_ejected_percent: %d is out of range; use 1–100", od.MaxEjectedPercent)
	case od.Consecutive5xx < 0 && od.ConsecutiveConnErrors < 0 && od.Slow == nil:
		return errors.New("outlier: both consecutive_5xx and consecutive_conn_errors are disabled; remove outlier instead")
	}
	if od.Slow != nil {
		sl := *od.Slow
		if err := sl.normalize(); err != nil {
			return err
		}
		od.Slow = &sl
	}
	od.Consecutive5xx = cmp.Or(od.Consecutive5xx, default5xx)
	od.ConsecutiveConnErrors = cmp.Or(od.ConsecutiveConnErrors, defaultConnErrors)
	od.BaseEjection = cmp.Or(od.BaseEjection, defaultBaseEjection)
	if od.MaxEjection != 0 && od.MaxEjection < od.BaseEjection {
		return fmt.Errorf("outlier.max_ejection: %v is shorter than base_ejection %v; lengthen it", od.MaxEjection, od.BaseEjection)
	}
	od.MaxEjection = max(cmp.Or(od.MaxEjection, defaultMaxEjection), od.BaseEjection)
	od.MaxEjectedPercent = cmp.Or(od.MaxEjectedPercent, defaultMaxEjectedPct)
	return nil
}

func (sl *SlowOutlier) normalize() error {
	switch {
	case sl.Threshold < 0:
		return fmt.Errorf("outlier.slow.threshold: %v is negative", sl.Threshold)
	case sl.Consecutive < 0:
		return fmt.Errorf("outlier.slow.consecutive: %d is negative; use 1 or more (0 means %d)", sl.Consecutive, defaultSlowInARow)
	case math.IsNaN(sl.PeerFactor) || math.IsInf(sl.PeerFactor, 0):
		return fmt.Errorf("outlier.slow.peer_factor: %v is not a number; use 1 or more, or a negative value to compare with the threshold alone", sl.PeerFactor)
	case sl.PeerFactor > 0 && sl.PeerFactor < 1:
		return fmt.Errorf("outlier.slow.peer_factor: %v would call an instance slower than peers that are faster than it; use 1 or more, or a negative value to compare with the threshold alone", sl.PeerFactor)
	}
	sl.Threshold = cmp.Or(sl.Threshold, defaultSlowThreshold)
	sl.Consecutive = cmp.Or(sl.Consecutive, defaultSlowInARow)
	sl.PeerFactor = cmp.Or(sl.PeerFactor, defaultPeerFactor)
	return nil
}
