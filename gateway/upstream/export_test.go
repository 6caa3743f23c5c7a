package upstream

import "net/http"

// PickURL returns the URL of the instance the pool picks for r, exactly as
// RoundTrip would, without sending anything. Benchmarks use it.
func PickURL(p *Pool, r *http.Request) string {
	in, _, _ := p.choose(p.cur.Load(), r)
	return in.key
}

// CookieValue is cookieValue, for its table and fuzz tests.
var CookieValue = cookieValue
