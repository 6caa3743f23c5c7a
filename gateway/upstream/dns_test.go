package upstream_test

import (
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/upstream"
)

func urls(p *upstream.Pool) []string {
	var out []string
	for _, s := range p.Status() {
		out = append(out, s.URL)
	}
	return out
}

// TestDNSDiscoveryFollowsTheAnswer drives a fake resolver through adds,
// removals and failures and checks the pool's instances after each.
func TestDNSDiscoveryFollowsTheAnswer(t *testing.T) {
	t.Parallel()
	// Only 127.0.0.1 has a listener; the other addresses are checked for
	// membership only.
	b := newBackend(t, "b")
	_, port, _ := net.SplitHostPort(b.hostPort())
	portN, _ := strconv.Atoi(port)
	res := &fakeResolver{}
	res.set(nil, "127.0.0.1")
	p := newPool(t, upstream.Config{
		DNS: &upstream.DNSConfig{
			Name:     "api.default.svc.cluster.local",
			Port:     portN,
			Resolver: res,
			Interval: 10 * time.Millisecond,
		},
	})
	if _, _, err := get(p, "/"); !errors.Is(err, upstream.ErrNoInstance) {
		t.Fatalf("before Start: %v, want ErrNoInstance", err)
	}
	if p.Ready() {
		t.Fatal("ready with no instance")
	}
	p.Start(t.Context())
	want := func(what string, hosts ...string) {
		t.Helper()
		var w []string
		for _, h := range hosts {
			w = append(w, "http://"+net.JoinHostPort(h, port))
		}
		waitFor(t, what, func() bool { return slices.Equal(urls(p), w) })
	}
	want("the first answer, resolved by Start", "127.0.0.1")
	name, _, err := get(p, "/")
	if err != nil {
		t.Fatalf("request after discovery: %v", err)
	}
	if got, want := name, "b"; got != want {
		t.Fatalf("request after discovery served by %q, want %q", got, want)
	}
	res.set(nil, "127.0.0.1", "127.0.0.2", "::1")
	want("instances added", "127.0.0.1", "127.0.0.2", "::1")
	// A failed lookup keeps the last set.
	n := res.lookups.Load()
	res.set(errors.New("SERVFAIL"))
	waitFor(t, "failed lookups", func() bool { return res.lookups.Load() > n+3 })
	want("the last good set after failures", "127.0.0.1", "127.0.0.2", "::1")
	res.set(nil, "127.0.0.1")
	want("instances removed", "127.0.0.1")
	// An empty answer empties the pool.
	res.set(nil)
	want("an empty answer")
	if _, _, err := get(p, "/"); !errors.Is(err, upstream.ErrNoInstance) {
		t.Fatalf("after an empty answer: %v, want ErrNoInstance", err)
	}
}

// TestDNSDiscoveryKeepsInstanceState checks that an instance that stays
// in the answer keeps its ejection and counters when others come and go.
func TestDNSDiscoveryKeepsInstanceState(t *testing.T) {
	t.Parallel()
	bad, good := newBackend(t, "bad"), newBackend(t, "good")
	bad.status.Store(http.StatusInternalServerError)
	res := &fakeResolver{}
	res.setSRV(nil, srvFor(t, bad, 0, 1), srvFor(t, good, 0, 1))
	p := newPool(t, upstream.Config{
		DNS: &upstream.DNSConfig{
			Name:     "_http._tcp.api.test",
			SRV:      true,
			Resolver: res,
			Interval: 10 * time.Millisecond,
		},
		Outlier: &upstream.OutlierDetection{Consecutive5xx: 2},
		Now:     newFakeClock().Now,
	})
	p.Start(t.Context())
	for range 4 {
		get(p, "/")
	}
	before := status(t, p, bad.url())
	if !before.Ejected {
		t.Fatalf("bad not ejected: %+v", before)
	}
	other := newBackend(t, "other")
	res.setSRV(nil, srvFor(t, bad, 0, 1), srvFor(t, good, 0, 1), srvFor(t, other, 0, 1))
	waitFor(t, "other to join", func() bool { return len(p.Status()) == 3 })
	res.setSRV(nil, srvFor(t, bad, 0, 1), srvFor(t, other, 0, 1))
	waitFor(t, "good to leave", func() bool { return len(p.Status()) == 2 })
	if after := status(t, p, bad.url()); after != before {
		t.Errorf("bad's state changed across discovery: %+v, was %+v", after, before)
	}
}

// TestDNSSRVUsesLowestPriorityAndWeights checks SRV handling: only the
// lowest priority is used, weights come from the records (0 counts as 1),
// and the trailing dot of targets is dropped.
func TestDNSSRVUsesLowestPriorityAndWeights(t *testing.T) {
	t.Parallel()
	res := &fakeResolver{}
	res.setSRV(nil,
		&net.SRV{
			Target:   "a.api.test.",
			Port:     8080,
			Priority: 10,
			Weight:   5,
		},
		&net.SRV{
			Target:   "b.api.test.",
			Port:     8081,
			Priority: 10,
			Weight:   0,
		},
		&net.SRV{
			Target:   "backup.api.test.",
			Port:     8080,
			Priority: 20,
			Weight:   100,
		},
	)
	p := newPool(t, upstream.Config{DNS: &upstream.DNSConfig{
		Name:     "_http._tcp.api.test",
		SRV:      true,
		Scheme:   "https",
		Resolver: res,
	}})
	p.Start(t.Context())
	got := p.Status()
	want := []upstream.Instance{{URL: "https://a.api.test:8080", Weight: 5}, {URL: "https://b.api.test:8081", Weight: 1}}
	if got, want := len(got), len(want); got != want {
		t.Fatalf("%d instances, want %d", got, want)
	}
	for i := range want {
		if got, want := (upstream.Instance{URL: got[i].URL, Weight: got[i].Weight}), want[i]; got != want {
			t.Errorf("instance %d = %+v, want %+v", i, got, want)
		}
	}
}

// *net.Resolver is the default Resolver, which is how a Kubernetes
// headless service is found.
var _ upstream.Resolver = (*net.Resolver)(nil)
