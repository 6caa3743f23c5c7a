package upstream_test

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/upstream"
)

// TestConsistentHashStableWhenInstanceLeaves maps 2,000 keys over four
// instances found through DNS SRV, removes one instance from the answer,
// and checks that every key that was not on it keeps its instance.
func TestConsistentHashStableWhenInstanceLeaves(t *testing.T) {
	t.Parallel()
	backends := []*backend{newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c"), newBackend(t, "d")}
	res := &fakeResolver{}
	var records []*net.SRV
	for _, b := range backends {
		records = append(records, srvFor(t, b, 0, 1))
	}
	res.setSRV(nil, records...)
	p := newPool(t, upstream.Config{
		DNS: &upstream.DNSConfig{
			Name:     "_http._tcp.api.test",
			SRV:      true,
			Resolver: res,
			Interval: 10 * time.Millisecond,
		},
		Balancer: upstream.ConsistentHash,
		HashOn:   upstream.HashKey{Header: "X-User"},
	})
	p.Start(t.Context())
	const keys = 2000
	before := make([]string, keys)
	for i := range keys {
		name, _, err := get(p, "/", "X-User", "user-"+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		before[i] = name
	}
	// "c" leaves the DNS answer.
	res.setSRV(nil, records[0], records[1], records[3])
	waitFor(t, "discovery to drop c", func() bool { return len(p.Status()) == 3 })
	moved, kept := 0, 0
	for i := range keys {
		name, _, err := get(p, "/", "X-User", "user-"+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case before[i] == "c":
			moved++
			if name == "c" {
				t.Fatalf("key %d still reached the removed instance", i)
			}
		case name != before[i]:
			t.Errorf("key %d moved from %s to %s although %s is still in the pool", i, before[i], name, before[i])
		default:
			kept++
		}
	}
	if moved == 0 {
		t.Errorf("no test key moved (%d kept): the keys did not exercise both cases", kept)
	}
	if kept == 0 {
		t.Errorf("no test key kept (%d moved): the keys did not exercise both cases", moved)
	}
}

// TestConsistentHashKeys checks that each kind of hash key pins a client
// to one instance, and that a request without the key is still served.
func TestConsistentHashKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		hashOn  upstream.HashKey
		ip      func(*http.Request) string
		request func(i int) *http.Request
	}{
		{
			name:   "a header value keeps its instance",
			hashOn: upstream.HashKey{Header: "x-tenant"},
			request: func(i int) *http.Request {
				r, _ := http.NewRequest(http.MethodGet, "http://pool/", nil)
				r.Header.Set("X-Tenant", "tenant-"+strconv.Itoa(i))
				return r
			},
		},
		{
			name:   "a cookie value keeps its instance",
			hashOn: upstream.HashKey{Cookie: "session"},
			request: func(i int) *http.Request {
				r, _ := http.NewRequest(http.MethodGet, "http://pool/", nil)
				r.Header.Set("Cookie", "theme=dark; session=s"+strconv.Itoa(i)+"; lang=en")
				return r
			},
		},
		{
			name:   "the client address from RemoteAddr keeps its instance",
			hashOn: upstream.HashKey{ClientIP: true},
			request: func(i int) *http.Request {
				r, _ := http.NewRequest(http.MethodGet, "http://pool/", nil)
				r.RemoteAddr = "192.0.2." + strconv.Itoa(i%250) + ":" + strconv.Itoa(40000+i)
				return r
			},
		},
		{
			name:   "the client address from Config.ClientIP keeps its instance",
			hashOn: upstream.HashKey{ClientIP: true},
			ip:     func(r *http.Request) string { return r.Header.Get("X-Real-IP") },
			request: func(i int) *http.Request {
				r, _ := http.NewRequest(http.MethodGet, "http://pool/", nil)
				r.Header.Set("X-Real-IP", "198.51.100."+strconv.Itoa(i%250))
				r.RemoteAddr = "10.0.0.1:" + strconv.Itoa(40000+i) // the proxy in front
				return r
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b, c := newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c")
			p := newPool(t, upstream.Config{
				Instances: []upstream.Instance{{URL: a.url()}, {URL: b.url()}, {URL: c.url()}},
				Balancer:  upstream.ConsistentHash,
				HashOn:    tt.hashOn,
				ClientIP:  tt.ip,
			})
			seen := map[string]bool{}
			for i := range 30 {
				first := ""
				for range 3 {
					resp, err := p.RoundTrip(tt.request(i))
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					name := resp.Header.Get("X-Instance")
					if first == "" {
						first = name
					} else if name != first {
						t.Fatalf("key %d reached %s, then %s", i, first, name)
					}
				}
				seen[first] = true
			}
			if len(seen) < 2 {
				t.Errorf("30 keys all reached %v: the key is not hashed", seen)
			}
			// No key at all: served anyway.
			r, _ := http.NewRequest(http.MethodGet, "http://pool/", nil)
			resp, err := p.RoundTrip(r)
			if err != nil {
				t.Fatalf("request without a key: %v", err)
			}
			resp.Body.Close()
		})
	}
}

// TestStickyCookie checks that a client without the cookie gets one, and
// that sending it back keeps the client on the instance that served it.
func TestStickyCookie(t *testing.T) {
	t.Parallel()
	a, b, c := newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c")
	p := newPool(t, upstream.Config{
		Instances: []upstream.Instance{{URL: a.url()}, {URL: b.url()}, {URL: c.url()}},
		Balancer:  upstream.ConsistentHash,
		HashOn: upstream.HashKey{
			Cookie:       "affinity",
			Sticky:       true,
			CookieTTL:    time.Hour,
			CookieSecure: true,
		},
	})
	for i := range 20 {
		_, resp, err := get(p, "/")
		if err != nil {
			t.Fatal(err)
		}
		first := resp.Header.Get("X-Instance")
		set := resp.Header.Get("Set-Cookie")
		if !strings.HasPrefix(set, "affinity=") {
			t.Fatalf("client %d: Set-Cookie %q, want an affinity cookie", i, set)
		}
		for _, attr := range []string{"Max-Age=3600", "HttpOnly", "Secure"} {
			if !strings.Contains(set, attr) {
				t.Fatalf("client %d: Set-Cookie %q lacks %s", i, set, attr)
			}
		}
		cookie := strings.SplitN(set, ";", 2)[0]
		for range 3 {
			name, resp, err := get(p, "/", "Cookie", cookie)
			if err != nil {
				t.Fatal(err)
			}
			if name != first {
				t.Fatalf("client %d: first served by %s, then by %s with its cookie", i, first, name)
			}
			if got := resp.Header.Get("Set-Cookie"); got != "" {
				t.Fatalf("client %d: a request with the cookie was given another: %q", i, got)
			}
		}
	}
}
