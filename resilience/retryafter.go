package resilience

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxHint caps a parsed Retry-After so that arithmetic on it cannot
// overflow; a retry policy gives up long before.
const maxHint = 24 * time.Hour

// ParseRetryAfter reads the server's back-off hint from h: the
// "retry-after-ms" header (milliseconds, as sent by some AI providers) if
// present and valid, else "Retry-After" as delay-seconds or as an
// HTTP-date, taken relative to now. A date in the past yields 0. The
// boolean is false when neither header holds a valid value.
func ParseRetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 && ms < float64(maxHint/time.Millisecond) {
			return time.Duration(ms * float64(time.Millisecond)), true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			if len(v) > 19 && strings.Trim(v, "0123456789") == "" {
				return maxHint, true // all digits but too large
			}
			return 0, false
		}
		return min(time.Duration(min(s, uint64(maxHint/time.Second)))*time.Second, maxHint), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		return 0, true
	}
	return min(d, maxHint), true
}
